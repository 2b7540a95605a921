"""Runs of accepted envelopes folded at once give the state folding them one at a time does.

An open reads a replica log and folds each run of accepted envelopes into one new state
(``apply_envelopes``, ``accept_envelopes``, ``ReplicaLog.Recorded.mutate_run``). The log
here holds every kind of payload a group has, the password joiners' refusals that break the
runs, and a password credential issued here that forgives wrong guesses.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from eventsourcing.domain import OriginatorIDError, OriginatorVersionError
from hypothesis import given, settings, strategies as st

from peerstate import Peer, PeerSettings, network, open_store
from peerstate.calls.sync_port import PeerPort
from peerstate.domain.group_events import EnvelopeAccepted, JoinRefused, ReplicaEvent
from peerstate.errors import PeerError
from peerstate.domain.replica import ReplicaState, accept_envelopes, evolve_replica, new_replica
from peerstate.storage.logs import ReplicaLog, project_log
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

PASSWORD = "knight-e4-e5"
KIND = uuid.UUID("11111111-2222-3333-4444-555555555555")


def _settled_as_before(settle: Any) -> Any:
    """``PeerPort.sync_settle_guess`` as it was before issue 30, when a wrong password was
    also kept in the log (``JoinRefused``): the runs of a log written then are broken by
    them, and the fold still reads them."""
    def settled(port: PeerPort, key: tuple[str, str], joiner: str, address: str, wrong: PeerError | None) -> None:
        settle(port, key, joiner, address, wrong)
        if wrong is not None and wrong.rule is not None:
            refused = JoinRefused(joiner, wrong.rule, wrong.name, wrong.message, T0, address)
            port._runtime.writing(lambda: port._runtime.execute_group(key, lambda _: ([refused], [], None)))
    return settled


class Club:
    """Alice's group, on her store, after everything a group log can say, a log written
    before issue 30 included."""

    def __init__(self) -> None:
        with pytest.MonkeyPatch.context() as patched:
            patched.setattr(PeerPort, "sync_settle_guess", _settled_as_before(PeerPort.sync_settle_guess))
            self._play()

    def _play(self) -> None:
        self.store = open_store(None)
        alice = Peer(self.store, clock=lambda: T0)
        self.alice_name = alice.create_identity("alice", "Alice")
        handle = alice.create_group(
            self.alice_name, "chess", authentication_schemes=3, password=PASSWORD, password_role="PEER_GROUP_ROLE_MEMBER",
        )
        alice.connect(handle)
        self.group = alice.group_properties(handle).group_peer_name
        peers: dict[str, Peer] = {"alice": alice}
        handles: dict[str, str] = {}
        for name, passwords in (("bob", ["wrong password"]), ("carol", ["wrong password", PASSWORD])):
            joiner = peers[name] = Peer(open_store(None), clock=lambda: T0, settings=PeerSettings(address=name))  # a machine each
            identity = joiner.create_identity(name, name.title())
            for password in passwords:
                handles[name] = joiner.password_join(identity, alice.create_password_invitation(handle), password).handle
                joiner.connect(handles[name])
                network.synchronize(peers)
        carol, carol_handle = peers["carol"], handles["carol"]
        dave = Peer(open_store(None), clock=lambda: T0)
        dave_name = dave.create_identity("dave", "Dave")
        dave.connect(dave.join(dave_name, alice.create_invitation(handle, dave.identity_xml(dave_name))))
        peers["dave"] = dave
        network.synchronize(peers)
        record = carol.add_record(carol_handle, KIND, T0 + timedelta(days=2), data=b"first")
        carol.update_record(carol_handle, record, KIND, 0, T0 + timedelta(days=3), data=b"second")
        alice.add_record(handle, KIND, T0 + timedelta(days=2), data=b"alice's")
        network.synchronize(peers)
        alice.delete_record(handle, record)
        alice.set_group_properties(handle, friendly_name="Renamed")
        carol.delete_identity(carol.create_identity("spare"))  # retired in carol's replica, her peer's other identity
        network.synchronize(peers)

    @property
    def log_id(self) -> uuid.UUID:
        return ReplicaLog.create_id(self.alice_name, self.group)

    def payloads(self) -> list[ReplicaEvent]:
        return [event.payload for event in self.store.stored_log(self.log_id)[1:]]


@pytest.fixture(scope="module")
def club() -> Iterator[Club]:
    yield Club()


def _one_at_a_time(group: str, payloads: list[ReplicaEvent]) -> ReplicaState:
    state = new_replica(group)
    for payload in payloads:
        state = evolve_replica(state, payload)
    return state


def test_the_log_has_every_kind_of_payload_and_runs_broken_by_refusals(club: Club) -> None:
    kinds = {type(payload.envelope.payload).__name__ for payload in club.payloads() if isinstance(payload, EnvelopeAccepted)}
    assert kinds >= {
        "GroupCreated", "CredentialIssued", "CredentialTaken", "MembershipPublished", "PresencePublished",
        "RecordPublished", "PropertiesChanged", "IdentityRetired",
    }
    runs = [accepting for accepting, _ in itertools.groupby(club.payloads(), lambda payload: isinstance(payload, EnvelopeAccepted))]
    assert runs.count(True) > 1
    state = _one_at_a_time(club.group, club.payloads())
    assert state.wrong_passwords and state.wrong_passwords_in_group.count == 0  # bob's guess kept, carol's forgiven


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), max_size=20))
def test_runs_cut_anywhere_fold_to_the_state_one_at_a_time_gives(club: Club, cuts: list[int]) -> None:
    payloads = club.payloads()
    state, taken = new_replica(club.group), 0
    for length in itertools.chain(cuts, itertools.repeat(len(payloads))):
        if taken == len(payloads):
            break
        piece = payloads[taken:taken + length]
        taken += len(piece)
        for accepting, group in itertools.groupby(piece, lambda payload: isinstance(payload, EnvelopeAccepted)):
            events: list[Any] = list(group)
            if accepting:
                state = accept_envelopes(state, events)
            else:
                for event in events:
                    state = evolve_replica(state, event)
    assert state == _one_at_a_time(club.group, payloads)


@pytest.mark.parametrize("run", [1, 2, 7, 1000])
def test_a_log_read_in_runs_of_any_length_is_the_log_its_events_give_one_by_one(club: Club, run: int, monkeypatch: pytest.MonkeyPatch) -> None:
    events = club.store.stored_log(club.log_id)
    monkeypatch.setattr("peerstate.storage.logs.RUN", run)
    one_by_one = None
    for read in range(1, len(events) + 1):  # a log read to each of its events, in runs or not
        one_by_one = events[read - 1].mutate(one_by_one)
        assert vars(project_log(None, events[:read])) == vars(one_by_one)
    assert project_log(None, events).state == _one_at_a_time(club.group, club.payloads())


def _run_in_the_middle(store: PeerStore, log_id: uuid.UUID) -> tuple[ReplicaLog, list[Any]]:
    """The log read up to its longest run of accepted envelopes, and that run's events."""
    events = store.stored_log(log_id)
    starts = [index for index in range(1, len(events)) if isinstance(events[index].payload, EnvelopeAccepted)
              and not isinstance(getattr(events[index - 1], "payload", None), EnvelopeAccepted)]
    def length(start: int) -> int:
        return next((end for end in range(start, len(events)) if not isinstance(events[end].payload, EnvelopeAccepted)), len(events)) - start
    start = max(starts, key=length)
    assert length(start) > 2
    return project_log(None, events[:start]), events[start:start + length(start)]


@pytest.mark.parametrize("broken", ["a gap", "another log's event"])
def test_a_run_out_of_sequence_is_refused_and_the_log_is_as_it_was(club: Club, broken: str) -> None:
    log, run = _run_in_the_middle(club.store, club.log_id)
    before = (log.version, log.state, log.link, set(log.known), list(log.published), len(log.accepted or ()))
    if broken == "a gap":
        del run[1]
        expected: type[Exception] = OriginatorVersionError
    else:
        run[-1] = club.store.stored_log(club.store.identity_log().id)[1]
        expected = OriginatorIDError
    with pytest.raises(expected):
        ReplicaLog.Recorded.mutate_run(run, log)
    assert (log.version, log.state, log.link, set(log.known), list(log.published), len(log.accepted or ())) == before
