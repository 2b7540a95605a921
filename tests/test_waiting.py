"""Envelopes that wait instead of being refused (issue 28): an envelope whose verdict more
data could change (a gap before it in its author's chain, a credential or a founding not
seen yet) is held in the replica log, not refused, and judged again when an envelope is
accepted that could change its verdict. Out-of-order delivery then no longer poisons a
replica, and a joiner served its group data in any order ends with all of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import attrs
import pytest

from peerstate import Peer, PeerSettings, audit, history, network, open_store, views
from peerstate.bounds import MAX_ENVELOPE_AHEAD_SECONDS, MAX_HELD, MAX_HELD_PER_AUTHOR
from peerstate.calls import envelopes
from peerstate.calls.sessions import Interest
from peerstate.calls.sync_port import PeerPort
from peerstate.constants import PeerGroupEventType
from peerstate.domain.group_events import Envelope, EnvelopeAccepted, EnvelopeHeld, EnvelopeRefused, RecordPublished
from peerstate.peer import sync_port
from peerstate.storage.logs import ReplicaLog
from peerstate.errors import PeerError
from peerstate.sync import admission
from peerstate.sync.connector import offered_data_is_whole
from peerstate.sync.port import Neighbor

from tests.conftest import T0
from tests.test_admission_attacks import KIND, Club, _club, accepted, next_envelope, record, signed

MALLORY = Neighbor("mallory's machine", "mallory")


@pytest.fixture
def club() -> Iterator[Club]:
    yield _club()


def carols_records(club: Club, count: int) -> list[Envelope]:
    """carol's next ``count`` envelopes, each a new record, each naming the one before."""
    head = club.state().heads[club.carol.name]
    chain: list[Envelope] = []
    for _ in range(count):
        envelope = next_envelope(club, club.carol, RecordPublished(record(club.carol)))
        seq, prev = (chain[-1].seq + 1, admission.envelope_id(chain[-1])) if chain else (head.seq + 1, head.last)
        chain.append(signed(club.carol, attrs.evolve(envelope, seq=seq, prev=prev)))
    return chain


def receive(club: Club, batch: Sequence[Envelope], sender: Neighbor = MALLORY) -> int:
    return sync_port(club.peers["alice"]).sync_receive(club.key("alice"), batch, sender).accepted


def test_an_envelope_before_its_predecessor_waits_and_is_accepted_when_the_gap_fills(club: Club) -> None:
    """The attack: mallory relays carol's envelope N+1 before N. It waits (kept in the log,
    through a reopening of the store, and not among the ids skipped for ever), the state does
    not move; N, then N+2, come and all three are accepted, the waiting one as if it had
    just arrived."""
    first, second, third = carols_records(club, 3)
    before = views.group_digest(club.state()), accepted(club.events("alice"))
    assert receive(club, [second]) == 0
    assert (views.group_digest(club.state()), accepted(club.events("alice"))) == before
    held = club.events("alice")[-1]
    assert isinstance(held, EnvelopeHeld) and held.envelope == second and held.rule == "author_chain_continues"
    reopened = club.stores["alice"].replica_log(*club.key("alice"))
    assert [waiting.id for waiting in reopened.state.held] == [admission.envelope_id(second)]
    assert admission.envelope_id(second) not in reopened.known
    assert not any(isinstance(event, EnvelopeRefused) for event in club.events("alice"))

    assert receive(club, [first], Neighbor("carol's machine", club.carol.name)) == 2
    assert receive(club, [second]) == 0, "a copy of what was taken is skipped"
    assert receive(club, [third]) == 1
    assert accepted(club.events("alice"))[-3:] == [first, second, third]
    taken = [event for event in club.events("alice") if isinstance(event, EnvelopeAccepted)][-2]
    assert taken.envelope == second and taken.source == str(MALLORY)
    assert club.state().heads[club.carol.name].seq == third.seq
    assert sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.held == ()
    assert audit.verify_store(club.stores["alice"]).holds


def test_a_waiting_record_taking_effect_is_told_as_one_just_arrived(club: Club) -> None:
    """A registration for record changes hears nothing while carol's second record waits,
    and of both records once the first comes."""
    first, second = carols_records(club, 2)
    (handle,) = [handle for handle, _ in sync_port(club.peers["alice"]).sync_handles()]
    registration = club.peers["alice"].register_event(handle, [Interest(PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED)])

    def told() -> list[UUID | None]:
        heard: list[UUID | None] = []
        while (event := club.peers["alice"].event_data(registration)) is not None:
            heard.append(event.record_id)
        return heard

    assert receive(club, [second]) == 0 and told() == []
    assert receive(club, [first]) == 2
    assert sorted(map(str, told())) == sorted(  # told in the order of the records' ids, as any batch is
        str(envelope.payload.record.id) for envelope in (first, second) if isinstance(envelope.payload, RecordPublished)
    )


def test_a_whole_chain_delivered_backwards_ends_as_delivered_in_order(club: Club) -> None:
    """Each of carol's envelopes in one batch in reverse: all wait but the first, which
    takes the rest with it; the state is the one in-order delivery gives."""
    chain = carols_records(club, 6)
    assert receive(club, list(reversed(chain))) == 6
    assert accepted(club.events("alice"))[-6:] == chain


def test_past_the_bound_per_author_an_envelope_is_dropped_and_may_come_again(club: Club) -> None:
    """An author's envelopes past ``MAX_HELD_PER_AUTHOR`` waiting are dropped: not stored,
    not refused, not known; sent again once the gap is filled, they are accepted."""
    chain = carols_records(club, MAX_HELD_PER_AUTHOR + 2)
    waiting, dropped = chain[1:-1], chain[-1]
    assert receive(club, waiting + [dropped]) == 0
    events = club.events("alice")
    assert [event.envelope for event in events if isinstance(event, EnvelopeHeld)] == waiting
    assert dropped not in [getattr(event, "envelope", None) for event in events]
    assert receive(club, [chain[0]]) == len(chain) - 1
    assert receive(club, [dropped]) == 1
    assert accepted(club.events("alice"))[-len(chain):] == chain


def test_a_waiting_envelope_that_fails_once_judged_is_refused_then(club: Club) -> None:
    """A forged envelope waits for its gap like any other (its signature is checked only
    once its place in the chain is known); once the gap fills, it is refused for good,
    and nothing it says takes effect."""
    first, second = carols_records(club, 2)
    forged = signed(club.mallory, second)
    assert receive(club, [forged]) == 0
    digest = views.group_digest(club.state())
    assert receive(club, [first], Neighbor("carol's machine", club.carol.name)) == 1
    refused = [event for event in club.events("alice") if isinstance(event, EnvelopeRefused)]
    assert [(event.envelope, event.rule) for event in refused] == [(forged, "signature_verifies")]
    assert sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.held == ()
    assert views.group_digest(club.state()) != digest and club.state().heads[club.carol.name].seq == first.seq
    assert receive(club, [second]) == 1
    assert audit.verify_store(club.stores["alice"]).holds


def test_what_waits_is_in_the_snapshot_and_a_log_opens_from_it(club: Club) -> None:
    """The held envelopes are part of the replica's state: a snapshot taken while they wait
    holds them, and a log opened from it holds what the live one holds, in order."""
    chain = carols_records(club, 5)
    assert receive(club, chain[:0:-1]) == 0
    live = sync_port(club.peers["alice"]).sync_replica(club.key("alice"))
    assert [held.envelope for held in live.state.held] == chain[1:]
    opened = club.stores["alice"]._stored(ReplicaLog.create_id(*club.key("alice")))
    assert isinstance(opened, ReplicaLog) and opened.snapshot_version == live.version
    assert opened.state == live.state and opened.known == live.known
    assert receive(club, chain[:1]) == 5


def test_verify_holds_a_waiting_envelope_to_its_wait_and_the_log_tells_it(club: Club) -> None:
    """``verify`` judges a held envelope again where the log held it: it must still wait.
    One edited into an envelope that passes there, or that is refused there for good, is
    a finding (``hold_holds``); the history tells who sent it and what it waits for."""
    first, second = carols_records(club, 2)
    receive(club, [second])
    events = club.events("alice")
    held = events[-1]
    assert isinstance(held, EnvelopeHeld)
    assert audit.verify_replica(*club.key("alice"), events)[1] == []
    told = history.history(*club.key("alice"), events)[-1]
    assert (told.author, told.seq, told.refused) == (club.carol.name, second.seq, None)
    assert told.effect == f"held what mallory at {MALLORY.address} sent: it waits for what author_chain_continues lacks"
    for edited in (attrs.evolve(held, envelope=first), attrs.evolve(held, envelope=attrs.evolve(second, seq=first.seq - 1))):
        findings = audit.verify_replica(*club.key("alice"), [*events[:-1], edited])[1]
        assert [finding.rule for finding in findings] == ["hold_holds"], edited


# A joiner served its group data in any order ----------------------------------------------------


def _group_of_many() -> tuple[Peer, Peer, str, str]:
    """alice's group of three members, each with records (its founding, two credentials
    taken up, memberships, presences, records), and bob's peer, invited, not synchronized."""
    alice, bob = Peer(open_store(None), clock=lambda: T0), Peer(open_store(None), clock=lambda: T0)
    alice_name = alice.create_identity("alice", "Alice")
    handle = alice.create_group(alice_name, "many")
    group = alice.group_properties(handle).group_peer_name
    alice.connect(handle)
    expires = alice.universal_to_peer_time(handle, T0 + timedelta(days=1))
    others = {f"member{index}": Peer(open_store(None), settings=PeerSettings(address=f"m{index}"), clock=lambda: T0) for index in range(2)}
    handles = {}
    for who, other in others.items():
        name = other.create_identity(who, who.title())
        handles[who] = other.join(name, alice.create_invitation(handle, other.identity_xml(name)))
        other.connect(handles[who])
    network.synchronize({"alice": alice, **others})
    for who, other in others.items():
        for _ in range(3):
            other.add_record(handles[who], KIND, expires, data=b"x")
    for _ in range(3):
        alice.add_record(handle, KIND, expires, data=b"y")
    network.synchronize({"alice": alice, **others})
    bob_name = bob.create_identity("bob", "Bob")
    bob.connect(bob.join(bob_name, alice.create_invitation(handle, bob.identity_xml(bob_name))))
    return alice, bob, group, bob_name


@pytest.mark.parametrize("order", ["reversed", "interleaved"])
def test_a_joiner_served_its_group_data_out_of_order_ends_with_all_of_it(monkeypatch: pytest.MonkeyPatch, order: str) -> None:
    """The attack: a listener serves a joiner the log in reverse (or with each pair
    swapped). The joiner ends synchronized with every envelope, the same state as alice."""
    alice, bob, group, bob_name = _group_of_many()
    served = envelopes.accepted(alice._runtime, (alice.identities()[0].peer_name, group))
    assert len(served) > 15
    missing = PeerPort.sync_missing

    def shuffled(self: PeerPort, key: Any, heads: Any, budget: int) -> Any:
        sent, complete = missing(self, key, heads, budget)
        if order == "reversed":
            return tuple(reversed(sent)), complete
        pairs = [sent[index:index + 2][::-1] for index in range(0, len(sent), 2)]
        return tuple(envelope for pair in pairs for envelope in pair), complete

    monkeypatch.setattr(PeerPort, "sync_missing", shuffled)
    network.synchronize({"alice": alice, "bob": bob})
    replica = sync_port(bob).sync_replica((bob_name, group)).state
    alices = sync_port(alice).sync_replica((alice.identities()[0].peer_name, group)).state
    assert replica.synchronized and views.group_digest(replica.group) == views.group_digest(alices.group)
    assert set(served) <= set(envelopes.accepted(bob._runtime, (bob_name, group)))
    assert replica.held == ()


def test_a_joiner_offered_what_still_waits_is_not_synchronized(monkeypatch: pytest.MonkeyPatch) -> None:
    """A listener that leaves out an envelope others depend on: what comes after it waits,
    the conversation fails (``offered_data_is_whole``), and the joiner does not call itself
    synchronized. An honest listener later gives it the rest."""
    alice, bob, group, bob_name = _group_of_many()
    left_out = envelopes.accepted(alice._runtime, (alice.identities()[0].peer_name, group))[1]
    missing = PeerPort.sync_missing

    def gapped(self: PeerPort, key: Any, heads: Any, budget: int) -> Any:
        sent, complete = missing(self, key, heads, budget)
        return tuple(envelope for envelope in sent if envelope != left_out), complete

    (bob_handle,) = [handle for handle, _ in sync_port(bob).sync_handles()]
    registration = bob.register_event(bob_handle, [Interest(PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED)])
    with monkeypatch.context() as patch:
        patch.setattr(PeerPort, "sync_missing", gapped)
        network.synchronize({"alice": alice, "bob": bob})
    replica = sync_port(bob).sync_replica((bob_name, group)).state
    assert not replica.synchronized and replica.held != ()
    failures = []
    while (event := bob.event_data(registration)) is not None:
        failures.append(event.failure)
    assert failures and set(failures) == {"PEER_E_CONNECTION_FAILED"}, failures
    network.synchronize({"alice": alice, "bob": bob})
    replica = sync_port(bob).sync_replica((bob_name, group)).state
    assert replica.synchronized and replica.held == ()


def test_a_conversation_ends_when_what_the_listener_sent_waits_at_its_end_or_past_the_pool() -> None:
    """``offered_data_is_whole`` alone: what waits at the end of the group data, or more of
    it than the pool holds before the end, ends the conversation; nothing waiting, or within
    the pool before the end, does not."""
    for waiting, complete in ((1, True), (MAX_HELD + 1, False)):
        with pytest.raises(PeerError) as refused:
            offered_data_is_whole(waiting, complete)
        assert (refused.value.rule, refused.value.name) == ("offered_data_is_whole", "PEER_E_CONNECTION_FAILED")
    for waiting, complete in ((0, True), (MAX_HELD, False)):
        offered_data_is_whole(waiting, complete)


def dated(club: Club, envelope: Envelope, ahead: timedelta) -> Envelope:
    """``envelope`` as carol signs it, dated ``ahead`` of the group's time."""
    return signed(club.carol, attrs.evolve(envelope, at=T0 + ahead))


def test_an_envelope_dated_past_the_group_s_time_waits_for_it(club: Club) -> None:
    """The attack: carol dates a record a day ahead, to have it in effect before its time
    (before, it was taken at once). It waits, the state does not move, and a joiner offered
    it is not kept from being synchronized by it, since no neighbour holds its time: it is
    not among the ids that wait for data. When the group's time reaches it, the next batch
    judged takes it, as if it had just arrived."""
    (early,) = [dated(club, envelope, timedelta(days=1)) for envelope in carols_records(club, 1)]
    before = views.group_digest(club.state()), accepted(club.events("alice"))
    port = sync_port(club.peers["alice"])
    received = port.sync_receive(club.key("alice"), [early], MALLORY)
    assert (received.accepted, received.waiting) == (0, ())
    assert (views.group_digest(club.state()), accepted(club.events("alice"))) == before
    held = club.events("alice")[-1]
    assert isinstance(held, EnvelopeHeld) and held.rule == "envelope_time_reached"
    assert audit.verify_store(club.stores["alice"]).holds, "verify holds it to its time"

    club.peers["alice"]._runtime.clock = lambda: T0 + timedelta(hours=12)
    assert receive(club, []) == 0, "not yet"
    club.peers["alice"]._runtime.clock = lambda: T0 + timedelta(days=1)
    assert receive(club, []) == 1
    assert accepted(club.events("alice"))[-1] == early
    assert audit.verify_store(club.stores["alice"]).holds


def test_an_envelope_dated_within_the_skew_is_taken_at_once(club: Club) -> None:
    """Members' clocks differ a little: within ``MAX_ENVELOPE_AHEAD_SECONDS`` of the
    group's time an envelope is taken as it comes."""
    (soon,) = [dated(club, envelope, timedelta(seconds=MAX_ENVELOPE_AHEAD_SECONDS)) for envelope in carols_records(club, 1)]
    assert receive(club, [soon]) == 1


def test_an_envelope_whose_gap_fills_before_its_time_waits_for_its_time(club: Club) -> None:
    """carol's second record, dated a day ahead, comes before her first: it waits for the
    gap, then, once the first comes, for its time; it is taken when that comes."""
    first, second = carols_records(club, 2)
    second = dated(club, second, timedelta(days=1))
    assert receive(club, [second]) == 0 and receive(club, [first]) == 1
    waiting = sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.held
    assert [(held.envelope, held.rule) for held in waiting] == [(second, "envelope_time_reached")]
    assert audit.verify_store(club.stores["alice"]).holds
    club.peers["alice"]._runtime.clock = lambda: T0 + timedelta(days=1)
    assert receive(club, []) == 1 and accepted(club.events("alice"))[-1] == second
