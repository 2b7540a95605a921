"""Forks are evidence (issue 28): a member that signs two envelopes at one place in its own
chain (a stolen key, or one identity on two machines) must not leave the replicas that saw
different branches split for ever. The second branch a replica meets is kept with the first
as evidence (``ForkDetected``), served to every neighbour, and reported by ``verify`` and
the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from peerstate import Peer, audit, history, open_store, views
from peerstate.calls.sessions import GroupHandle, Interest
from peerstate.constants import PeerGroupEventType, PeerMemberChangeType
from peerstate.domain.group_events import CredentialIssued, MembershipPublished, Envelope, EnvelopeHeld, EnvelopeRefused, ForkDetected, RecordPublished
from peerstate.peer import sync_port
from peerstate.sync import admission, batches
from peerstate.sync.port import Neighbor, ReplicaKey

from tests.conftest import T0
from tests.test_admission_attacks import Club, Victim, _club, accepted, deliver, next_envelope, record, refusal, signed

CAROL = Neighbor("carol's machine", "carol")
CAROLS_COPY = Neighbor("carol's other machine", "carol")


@pytest.fixture
def club() -> Iterator[Club]:
    yield _club()


Replica = tuple[Peer, ReplicaKey]


def fork(club: Club) -> tuple[Envelope, Envelope]:
    """carol's next place in her chain, signed twice by her: two new records, one each."""
    return (
        next_envelope(club, club.carol, RecordPublished(record(club.carol))),
        next_envelope(club, club.carol, RecordPublished(record(club.carol))),
    )


def replica(club: Club, victim: Victim) -> Replica:
    return club.peers[victim], club.key(victim)


def third(club: Club) -> Replica:
    """A replica of the club on a third peer, joined by alice's invitation, that holds
    nothing yet."""
    peer = Peer(open_store(None), clock=lambda: T0)
    identity = peer.create_identity("third", "Third")
    (handle,) = [handle for handle, _ in sync_port(club.peers["alice"]).sync_handles()]
    peer.join(identity, club.peers["alice"].create_invitation(handle, peer.identity_xml(identity)))
    return peer, (identity, club.group)


def sync(source: Replica, target: Replica) -> None:
    """Everything ``source`` sends ``target`` in a sync, batch after batch, as
    ``batches.Outgoing`` makes them from the target's heads."""
    (giver, giving), (taker, taking) = source, target
    outgoing = batches.Outgoing(sync_port(giver), giving, batches.heads(sync_port(taker), taking))
    while True:
        batch = outgoing.next_batch()
        sync_port(taker).sync_receive(taking, batch.envelopes, Neighbor(f"{giving[0]}'s machine", giving[0]))
        if batch.complete:
            return


def handle_of(peer: Peer) -> GroupHandle:
    """The one handle ``peer`` holds open."""
    (handle,) = [handle for handle, _ in sync_port(peer).sync_handles()]
    return handle


def knows(replica: Replica, *envelopes: Envelope) -> bool:
    peer, key = replica
    known = sync_port(peer).sync_replica(key).known
    return all(admission.envelope_id(envelope) in known for envelope in envelopes)


def digest(replica: Replica) -> str:
    peer, key = replica
    return views.group_digest(sync_port(peer).sync_replica(key).state.group)


def test_replicas_that_saw_different_branches_end_alike(club: Club) -> None:
    """The attack: carol signs two envelopes at one place; alice's replica takes one
    branch, nina's the other. Sync compares sequence numbers only, so before, neither ever
    heard of the other branch, and their digests differed for ever. Now each compares its
    envelopes at the other's heads and serves the evidence: after they sync, both know both
    envelopes, and so does a third replica that saw neither and syncs with both; all three
    reach the one verdict (neither branch has effect) and the one digest."""
    alice, nina, newcomer = replica(club, "alice"), replica(club, "nina"), third(club)
    sync(alice, nina)
    first, second = fork(club)
    assert deliver(club, "alice", first, CAROL) == 1
    assert deliver(club, "nina", second, CAROLS_COPY) == 1
    sync(alice, nina)
    sync(nina, alice)
    sync(alice, newcomer)
    sync(nina, newcomer)
    for each in (alice, nina, newcomer):
        assert knows(each, first, second)
    assert digest(alice) == digest(nina) == digest(newcomer)


def test_the_second_branch_is_kept_as_evidence_and_reported(club: Club) -> None:
    """A second envelope at a place taken, signed by its author, is kept with the first
    (``ForkDetected``), through a reopening of the store; ``verify`` reports the fork with
    both ids (``author_forked``), and the log tells it."""
    first, second = fork(club)
    assert deliver(club, "alice", first, CAROL) == 1
    assert deliver(club, "alice", second, CAROLS_COPY) == 0
    detected = club.events("alice")[-1]
    assert detected == ForkDetected(
        first, admission.envelope_id(first), second, admission.envelope_id(second), CAROLS_COPY.identity, CAROLS_COPY.address, T0,
    )
    reopened = club.stores["alice"].replica_log(*club.key("alice"))
    assert reopened.state.forks == (detected,) and admission.envelope_id(second) in reopened.known
    assert deliver(club, "alice", second, CAROLS_COPY) == 0 and club.events("alice")[-1] == detected, "known: skipped"

    findings = audit.verify_store(club.stores["alice"]).findings
    assert [(finding.rule, finding.author, finding.seq) for finding in findings] == [("author_forked", club.carol.name, first.seq)]
    assert admission.envelope_id(first).hex() in findings[0].message and admission.envelope_id(second).hex() in findings[0].message
    (told,) = [entry for entry in history.history(*club.key("alice"), club.events("alice")) if entry.event == "ForkDetected"]
    assert admission.envelope_id(first).hex() in told.effect and admission.envelope_id(second).hex() in told.effect


def test_a_second_envelope_its_author_did_not_sign_is_no_evidence(club: Club) -> None:
    """mallory's envelope at carol's place is a forgery anyone can make: refused
    (``author_chain_continues``), no fork, nothing changes."""
    first, second = fork(club)
    assert deliver(club, "alice", first, CAROL) == 1
    before = digest(replica(club, "alice")), accepted(club.events("alice"))
    assert deliver(club, "alice", signed(club.mallory, second)) == 0
    refused = club.events("alice")[-2]
    assert isinstance(refused, EnvelopeRefused) and refused.rule == "author_chain_continues"
    assert not any(isinstance(event, ForkDetected) for event in club.events("alice"))
    assert (digest(replica(club, "alice")), accepted(club.events("alice"))) == before


def test_a_fork_at_a_place_past_one_seen_adds_no_evidence(club: Club) -> None:
    """Once carol is seen to fork at a place, a third envelope there is refused like any
    envelope at a place taken: one ``ForkDetected`` per author and place, so a forker cannot
    grow the log with evidence."""
    first, second = fork(club)
    _, third_branch = fork(club)
    for envelope in (first, second):
        deliver(club, "alice", envelope, CAROL)
    assert deliver(club, "alice", third_branch, CAROL) == 0
    assert sum(isinstance(event, ForkDetected) for event in club.events("alice")) == 1
    assert sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.forks[0].second == second


def test_evidence_that_is_not_evidence_is_an_edit(club: Club) -> None:
    """A ``ForkDetected`` whose two envelopes are one (or not both its author's) is what no
    replica writes: ``verify`` finds it (``fork_holds``)."""
    first, second = fork(club)
    for envelope in (first, second):
        deliver(club, "alice", envelope, CAROL)
    events = club.events("alice")
    detected = next(event for event in events if isinstance(event, ForkDetected))
    edited = [
        attrs.evolve(event, second=first, second_id=detected.first_id) if event is detected else event for event in events
    ]
    _, findings = audit.verify_replica(*club.key("alice"), edited)
    assert [finding.rule for finding in findings] == ["fork_holds"]


def test_what_depended_on_a_branch_ends_as_if_it_never_came(club: Club) -> None:
    """bob forks with a credential for mallory on one branch, and mallory writes under it.
    alice took that branch and mallory's record, then meets bob's other branch: bob's
    envelopes from the fork on, the credential and mallory's record have no effect, as on
    nina's replica, which met the fork first and holds mallory's record waiting for a
    credential that never takes effect. The verdict holds through a reopening of the store,
    and as ``views`` fold the log."""
    alice, nina = replica(club, "alice"), replica(club, "nina")
    sync(alice, nina)
    base = digest(alice)
    mallorys = club.issue(club.bob.key, club.credential(club.bob), club.mallory)
    first = next_envelope(club, club.bob, CredentialIssued(mallorys, "stored"))
    second = next_envelope(club, club.bob, RecordPublished(record(club.bob)))
    for envelope in (first, second):
        assert deliver(club, "nina", envelope) == 1 - (envelope is second)
    assert deliver(club, "alice", first) == 1
    written = next_envelope(club, club.mallory, RecordPublished(record(club.mallory)), credential=mallorys.fingerprint)
    assert deliver(club, "alice", written) == 1 and deliver(club, "nina", written) == 0
    assert isinstance(club.events("nina")[-1], EnvelopeHeld)
    assert deliver(club, "alice", second) == 0
    assert digest(alice) == digest(nina) == base
    assert mallorys.fingerprint not in club.state().credentials and dict(club.state().forked) == {club.bob.name: first.seq}
    reopened = club.stores["alice"].replica_log(*club.key("alice"))
    assert views.group_digest(reopened.state.group) == base
    state, _ = views.replica_as_of(club.group, club.events("alice"))
    assert views.group_digest(state.group) == base
    assert audit.verify_store(club.stores["alice"]).findings[0].rule == "author_forked"


def test_an_author_seen_to_fork_has_nothing_taken_from_its_fork_on(club: Club) -> None:
    """``author_has_not_forked`` alone: carol's envelope after her first branch, validly
    signed and following it, is refused once her fork is known, and nothing changes."""
    first, second = fork(club)
    for envelope in (first, second):
        deliver(club, "alice", envelope, CAROL)
    after = next_envelope(club, club.carol, RecordPublished(record(club.carol)))
    after = signed(club.carol, attrs.evolve(after, seq=first.seq + 1, prev=admission.envelope_id(first)))
    refused = refusal(club, "alice", after)
    assert (refused.rule, refused.error) == ("author_has_not_forked", "PEER_E_INVALID_RECORD")


def test_registrations_hear_of_what_a_fork_s_verdict_changed(club: Club) -> None:
    """carol renames herself on one branch and adds a record after it: alice's
    registrations hear both. Her other branch makes them of no effect, and they hear it:
    ``PEER_MEMBER_UPDATED`` for her (the closest type: ``PEER_MEMBER_LEFT`` must not be
    used), and the record's change."""
    (handle,) = [handle for handle, _ in sync_port(club.peers["alice"]).sync_handles()]
    peer = club.peers["alice"]
    members = peer.register_event(handle, [Interest(PeerGroupEventType.PEER_GROUP_EVENT_MEMBER_CHANGED)])
    records = peer.register_event(handle, [Interest(PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED)])

    def heard() -> list[tuple[object, object]]:
        told = [(event.member_change, event.identity) for event in iter(lambda: peer.event_data(members), None)]
        return told + [("record", event.record_id) for event in iter(lambda: peer.event_data(records), None)]

    first = next_envelope(club, club.carol, MembershipPublished("Carol at home"))
    second = next_envelope(club, club.carol, MembershipPublished("Carol at work"))
    assert deliver(club, "alice", first, CAROL) == 1
    published = record(club.carol)
    assert deliver(club, "alice", next_envelope(club, club.carol, RecordPublished(published)), CAROL) == 1
    assert ("record", published.id) in heard()
    assert club.state().members[club.carol.name].friendly_name == "Carol at home"
    assert deliver(club, "alice", second, CAROLS_COPY) == 0
    assert heard() == [(PeerMemberChangeType.PEER_MEMBER_UPDATED, club.carol.name), ("record", published.id)]
    assert published.id not in club.state().records and club.state().members[club.carol.name].friendly_name != "Carol at home"


def test_a_database_file_carries_a_fork_s_evidence_to_its_importer(club: Club, tmp_path: Path) -> None:
    """alice met both of carol's branches, then exports her database. Before, the file held
    the envelopes she accepted (one branch with what followed it), not the evidence: a
    replica that imported it took that branch, and its digest was not alice's until it met
    the evidence at a sync. Now the file ends with the second branch: the importer reaches
    the verdict, the one digest, and knows the fork to serve it on."""
    importer = third(club)  # alice's invitation issues its credential
    first, second = fork(club)
    assert deliver(club, "alice", first, CAROL) == 1
    assert deliver(club, "alice", next_envelope(club, club.carol, RecordPublished(record(club.carol))), CAROL) == 1
    assert deliver(club, "alice", second, CAROLS_COPY) == 0
    path = tmp_path / "club.peerdb"
    club.peers["alice"].export_database(handle_of(club.peers["alice"]), str(path))
    peer, key = importer
    peer.import_database(handle_of(peer), str(path))
    assert digest(importer) == digest(replica(club, "alice"))
    assert [(fork.first, fork.second) for fork in sync_port(peer).sync_replica(key).state.forks] == [(first, second)]


def test_a_file_that_holds_a_branch_the_importer_knows_undone_is_still_taken(club: Club, tmp_path: Path) -> None:
    """alice exported carol's first branch, and what followed it, before she met the other;
    the importer already knows the fork. What carol wrote from the fork point on is refused
    there for the verdict (``author_has_not_forked``), which such a file honestly holds:
    the rest of the file is taken, and the importer's state is the verdict's."""
    importer = third(club)
    sync(replica(club, "alice"), importer)  # before carol forked
    first, second = fork(club)
    assert deliver(club, "alice", first, CAROL) == 1
    after = next_envelope(club, club.carol, RecordPublished(record(club.carol)))
    assert deliver(club, "alice", after, CAROL) == 1
    path = tmp_path / "club.peerdb"
    club.peers["alice"].export_database(handle_of(club.peers["alice"]), str(path))
    peer, key = importer
    for envelope in (second, first):
        sync_port(peer).sync_receive(key, [envelope], CAROL)
    verdict = digest(importer)
    peer.import_database(handle_of(peer), str(path))
    assert digest(importer) == verdict
    assert deliver(club, "alice", second, CAROLS_COPY) == 0
    assert digest(importer) == digest(replica(club, "alice"))
