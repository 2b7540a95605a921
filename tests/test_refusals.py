"""Refusals under attack: what an authenticated member sends to be refused costs the victim's
store a bounded amount, and a refusal that no honest relay could cause cuts the sender off.

carol is a member of the club (``test_admission_attacks``'s); what she sends, she sends as
herself, authenticated: the refusals are hers.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from peerstate import Peer, audit, open_store, views, wire
from peerstate.bounds import MAX_KEPT_REFUSALS
from peerstate.cli import main
from peerstate.domain.group_events import (
    Envelope,
    EnvelopeAccepted,
    EnvelopeRefused,
    RecordPublished,
    RefusalsCounted,
    RuleCount,
    SharedEvent,
)
from peerstate.domain.group_state import apply_envelope
from peerstate.domain.replica import SenderRefusals
from peerstate.peer import sync_port
from peerstate.storage.locations import SQLITE_FILE
from peerstate.storage.logs import ReplicaLog
from peerstate.sync import admission
from peerstate.sync.port import Neighbor, Received

from tests.conftest import T0
from tests.test_admission_attacks import Club, Member, _club, accepted, membership, next_envelope, record, signed


@pytest.fixture
def club() -> Iterator[Club]:
    yield _club()


def carols(club: Club) -> Neighbor:
    """carol's machine, as alice's replica knows it once carol authenticated."""
    return Neighbor("carol's machine", club.carol.name)


def receive(club: Club, batch: list[Envelope]) -> Received:
    return sync_port(club.peers["alice"]).sync_receive(club.key("alice"), batch, carols(club))


def chain(club: Club, author: Member, payloads: list[SharedEvent], forged: int | None = None) -> list[Envelope]:
    """``author``'s next envelopes, one per payload, each naming the one before; the one at
    ``forged`` signed by mallory, who holds no credential."""
    head = club.state().heads[author.name]
    seq, previous, made = head.seq, head.last, []
    for position, payload in enumerate(payloads):
        seq += 1
        envelope = Envelope(club.group, author.name, club.credential(author).fingerprint, seq, previous, T0, payload, b"")
        envelope = signed(club.mallory if position == forged else author, envelope)
        made.append(envelope)
        previous = admission.envelope_id(envelope)
    return made


def misplaced(club: Club, data: bytes) -> Envelope:
    """A record in carol's name carrying ``data``, at the place in her chain that her last
    envelope holds, signed by mallory: refused for good (``author_chain_continues``: the
    place is taken), as an honest relay may send it, before its signature is read. (One
    carol signed would be a fork's evidence: ``test_forks``; an envelope past a gap would
    wait instead: ``test_waiting``.)"""
    envelope = next_envelope(club, club.carol, RecordPublished(record(club.carol, data=data)))
    return signed(club.mallory, attrs.evolve(envelope, seq=envelope.seq - 1))


def rows(club: Club) -> tuple[int, list[bytes]]:
    """What alice's store holds of her replica's log: the bytes of its event rows, and its
    snapshot rows."""
    app = club.stores["alice"]._app
    log_id = ReplicaLog.create_id(*club.key("alice"))
    assert app.snapshots is not None
    return (
        sum(len(row.state) for row in app.recorder.select_events(log_id)),
        [row.state for row in app.snapshots.recorder.select_events(log_id)],
    )


def test_what_a_sender_sends_to_be_refused_grows_the_store_a_bounded_amount(club: Club) -> None:
    """carol sends 2.8 MB in 16 batches of records at a place her chain has taken: each is
    refused (a taken place is no reason to cut her off: she might be relaying), the group does
    not change, and alice's store keeps her first ``MAX_KEPT_REFUSALS`` whole and counts
    the rest, a small event per batch: the log grows by far less than what was sent, and no
    snapshot holds a refused envelope."""
    before = views.group_digest(club.state()), accepted(club.events("alice"))
    size, _ = rows(club)
    events = club.events("alice")
    refused_before = sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.refused
    sent, batches = 0, [[misplaced(club, bytes(16 * 1024)) for _ in range(8)] for _ in range(16)]
    for batch in batches:
        sent += sum(len(wire.canonical(envelope)) for envelope in batch)
        assert receive(club, batch) == Received(0)
    assert (views.group_digest(club.state()), accepted(club.events("alice"))) == before
    grown, snapshots = rows(club)
    assert grown - size < sent // 4, f"the log grew by {grown - size} bytes for {sent} refused"
    assert snapshots and not any(b"EnvelopeRefused" in snapshot for snapshot in snapshots)

    new = club.events("alice")[len(events):]
    everything = [envelope for batch in batches for envelope in batch]
    assert [event.envelope for event in new if isinstance(event, EnvelopeRefused)] == everything[:MAX_KEPT_REFUSALS]
    assert [event for event in new if isinstance(event, RefusalsCounted)] == [
        RefusalsCounted(club.carol.name, "carol's machine", (RuleCount("author_chain_continues", 8),), kept, None, T0)
        for kept in (8, 8, *[0] * 14)
    ]
    replica = sync_port(club.peers["alice"]).sync_replica(club.key("alice"))
    assert replica.state.sender_refusals == {club.carol.name: SenderRefusals(len(everything), 0)}
    assert replica.state.refused == refused_before + len(everything)
    assert admission.envelope_id(everything[-1]) not in replica.known  # counted only: offered again, judged again
    assert open_store_again(club).state == replica.state  # opened from a snapshot, as the events give it


def open_store_again(club: Club) -> ReplicaLog:
    """alice's replica log as an open reads it from her store: its latest snapshot and the
    events since."""
    log = club.stores["alice"]._stored(ReplicaLog.create_id(*club.key("alice")))
    assert isinstance(log, ReplicaLog) and log.snapshot_version > 0
    return log


def test_a_forged_signature_in_a_batch_cuts_its_sender_off_there(club: Club) -> None:
    """carol's batch of four envelopes of her chain, the third signed by another key: the
    two before it are accepted, the third refused by ``signature_verifies``, which no
    honest relay sends, so carol is cut off there and the fourth is not judged at all."""
    batch = chain(club, club.carol, [membership(club), membership(club), membership(club), membership(club)], forged=2)
    group = club.state()
    events = club.events("alice")
    received = receive(club, batch)
    assert received.accepted == 2 and received.cut_off is not None
    assert (received.cut_off.rule, received.cut_off.name) == ("signature_verifies", "PEER_E_INVALID_RECORD")
    for envelope in batch[:2]:
        group = apply_envelope(group, envelope, admission.envelope_id(envelope))
    assert views.group_digest(club.state()) == views.group_digest(group)  # the two, and nothing else
    new = club.events("alice")[len(events):]
    assert [type(event) for event in new[:3]] == [EnvelopeAccepted, EnvelopeAccepted, EnvelopeRefused]
    assert [event.envelope for event in new[:3]] == batch[:3]  # type: ignore[union-attr]
    assert all(getattr(event, "envelope", None) != batch[3] for event in new)
    assert new[3:] == [RefusalsCounted(club.carol.name, "carol's machine", (RuleCount("signature_verifies", 1),), 1, "signature_verifies", T0)]
    replica = sync_port(club.peers["alice"]).sync_replica(club.key("alice"))
    assert admission.envelope_id(batch[3]) not in replica.known
    assert replica.state.sender_refusals == {club.carol.name: SenderRefusals(1, 1)}

    again = receive(club, chain(club, club.carol, [membership(club)], forged=0))  # forged again: cut off again
    assert again.accepted == 0 and again.cut_off is not None and again.cut_off.rule == "signature_verifies"
    assert sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.sender_refusals == {club.carol.name: SenderRefusals(2, 2)}


def test_a_taken_place_is_refused_and_never_cuts_the_sender_off(club: Club) -> None:
    """carol's envelope at a place her chain has taken, then her next: the first is refused
    (an honest relay may hold another copy), and the judging goes on."""
    taken = misplaced(club, b"e4")
    (following,) = chain(club, club.carol, [membership(club)])
    group = club.state()
    events = club.events("alice")
    assert receive(club, [taken, following]) == Received(1)
    assert views.group_digest(club.state()) == views.group_digest(apply_envelope(group, following, admission.envelope_id(following)))
    new = club.events("alice")[len(events):]
    refused = [event for event in new if isinstance(event, EnvelopeRefused)]
    assert [(event.envelope, event.rule) for event in refused] == [(taken, "author_chain_continues")]
    assert new[-1] == RefusalsCounted(club.carol.name, "carol's machine", (RuleCount("author_chain_continues", 1),), 1, None, T0)
    assert sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.sender_refusals == {club.carol.name: SenderRefusals(1, 0)}


# What a store written before keeps, and what a person reads --------------------------------------


def test_a_snapshot_that_held_every_refusal_still_opens_and_the_counting_starts_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """A log written before refusals were counted: an envelope refused, kept whole with no
    count, and a snapshot holding the list of every refusal and no counts per sender. An
    open starts from that snapshot, without the list, and counts no sender (as its events
    do); verify holds; the next refusal is counted from there, and ``peerstate log`` and
    ``verify`` tell it."""
    location = tmp_path / "store"
    peer = Peer(open_store(location), clock=lambda: T0)
    identity = peer.create_identity("alice")
    group = peer.group_properties(peer.create_group(identity, "club")).group_peer_name
    founding = accepted(peer._runtime.store.replica_events(identity, group))[0]
    again = attrs.evolve(founding, at=T0 + timedelta(seconds=1))
    refused = EnvelopeRefused(again, admission.envelope_id(again), "bob at b", "genesis_comes_first", "PEER_E_INVALID_RECORD", "as it was", T0)
    peer._runtime.writing(lambda: peer._runtime.execute_group((identity, group), lambda _: ([refused], [], None)))  # as before
    store = open_store(location)
    log = store.replica_log(identity, group)
    log.snapshot_version = log.version
    row = store._app.mapper.to_stored_event(ReplicaLog.Snapshot.take(log))
    tree = json.loads(row.state)
    del tree["state"]["state"]["_data_"]["sender_refusals"]
    tree["state"]["refusals"] = [{"_data_": wire.plain(refused), "_type_": "EnvelopeRefused"}]
    with sqlite3.connect(location / SQLITE_FILE) as database:  # in place of the one taken at this version, if any
        database.execute("delete from stored_snapshots where originator_version = ?", (row.originator_version,))
    assert store._app.snapshots is not None
    store._app.snapshots.recorder.insert_events([dataclasses.replace(row, state=json.dumps(tree, sort_keys=True).encode())])

    opened = open_store(location).replica_log(identity, group)
    assert opened.snapshot_version == row.originator_version and "refusals" not in vars(opened)
    assert opened.state == open_store(location).replayed(log.id).state and opened.state.sender_refusals == {}
    assert refused.id in opened.known
    assert audit.verify_store(open_store(location)).holds

    later = Peer(open_store(location), clock=lambda: T0)
    forged = attrs.evolve(founding, at=T0 + timedelta(seconds=2))
    assert sync_port(later).sync_receive((identity, group), [forged], Neighbor("b", "bob")) == Received(0)
    assert open_store(location).replica_log(identity, group).state.sender_refusals == {"bob": SenderRefusals(1, 0)}
    assert main(["verify", "--store", str(location)]) == 0
    assert main(["log", "--store", str(location)]) == 0
    told = capsys.readouterr().out.splitlines()
    assert any("RefusalsCounted: refused 1 envelope(s) bob at b sent, 1 kept whole above  REFUSED genesis_comes_first x1" in line for line in told), told


def test_refusals_counted_that_do_not_add_up_are_found(club: Club) -> None:
    """``verify`` cannot judge again what was only counted, but a count that says more were
    kept whole than were refused, or a cut-off by a rule that refused none, is no count
    peerstate writes."""
    receive(club, [misplaced(club, b"e4")])
    events = club.events("alice")
    counted = events[-1]
    assert isinstance(counted, RefusalsCounted)
    assert audit.verify_replica(*club.key("alice"), events)[1] == []
    for edited in (
        attrs.evolve(counted, kept=2), attrs.evolve(counted, cut_off="signature_verifies"),
        attrs.evolve(counted, rules=()), attrs.evolve(counted, rules=(RuleCount("author_chain_continues", 0),), kept=0),
    ):
        findings = audit.verify_replica(*club.key("alice"), [*events[:-1], edited])[1]
        assert [finding.rule for finding in findings] == ["refusals_add_up"], edited
