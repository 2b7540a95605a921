"""Sync and admission: what a replica accepts, what it refuses, and that refusals are kept.

Two peers meet on the in-memory network: alice creates a password group, bob joins it by
password. Then envelopes are forged, altered, replayed or signed by a non-member and handed
to alice's replica as a sync batch would hand them: each is refused by a named rule, the
refusal is in her stored log, and her group state does not move.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from uuid import uuid4

import attrs
import pytest
from hypothesis import given, settings, strategies as st

from peerstate.calls import envelopes
from peerstate.peer import sync_port
from peerstate.sync.port import Neighbor
from peerstate import Peer, PeerError, PeerSettings, crypto, network, open_store, views
from peerstate.sync import admission
from peerstate.crypto import credentials
from peerstate.crypto.key_ring import KeyRing
from peerstate.constants import PeerGroupEventType
from peerstate.domain.group_events import (
    CredentialIssued,
    Envelope,
    EnvelopeRefused,
    ForkDetected,
    MembershipPublished,
    PropertiesChanged,
)
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.errors import peer_error
from peerstate.names import ROLE_ADMIN
from peerstate.calls.sessions import Interest
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

PASSWORD = "knight-e4-e5"


@attrs.define
class Group:
    alice: Peer
    bob: Peer
    alice_store: PeerStore
    alice_name: str
    bob_name: str
    name: str
    handles: tuple[str, str]

    @property
    def key(self) -> tuple[str, str]:
        return (self.alice_name, self.name)


def _joined(password: str = PASSWORD) -> Group:
    alice_store = open_store(None)
    alice = Peer(alice_store, clock=lambda: T0)
    bob = Peer(open_store(None), clock=lambda: T0)
    alice_name = alice.create_identity("alice", "Alice")
    bob_name = bob.create_identity("bob", "Bob")
    handle = alice.create_group(
        alice_name, "chess", authentication_schemes=2, password=PASSWORD, password_role="PEER_GROUP_ROLE_MEMBER",
    )
    alice.connect(handle)
    group = alice.group_properties(handle).group_peer_name
    joined = bob.password_join(bob_name, alice.create_password_invitation(handle), password)
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    return Group(alice, bob, alice_store, alice_name, bob_name, group, (handle, joined.handle))


@pytest.fixture(scope="module")
def joined() -> Iterator[Group]:
    yield _joined()


def _signed(key: crypto.PrivateKey, envelope: Envelope) -> Envelope:
    return attrs.evolve(envelope, signature=credentials.sign(key, admission.signed_part(envelope)))


def _next(group: Group, author: str, payload: object, key_of: Peer, credential: bytes | None = None) -> Envelope:
    """A well-signed envelope by ``author`` that would come next in its chain on alice's replica."""
    state = sync_port(group.alice).sync_replica(group.key).state.group
    head = state.heads[author]
    record = key_of._runtime.state.identities[author]
    fingerprint = credential if credential is not None else state.credential_of(author, T0).fingerprint  # type: ignore[union-attr]
    envelope = Envelope(group.name, author, fingerprint, head.seq + 1, head.last, T0, payload, b"")  # type: ignore[arg-type]
    return _signed(key_of._runtime.identity_key(record), envelope)


def _refused_by(group: Group, envelope: Envelope, rule: str, error: str) -> None:
    """Alice's replica refuses ``envelope`` with ``rule``, keeps the refusal in its stored
    log, and its group state does not change."""
    replica = sync_port(group.alice).sync_replica(group.key)
    before = views.group_digest(replica.state.group)
    refused = replica.state.refused
    assert sync_port(group.alice).sync_receive(group.key, [envelope], Neighbor("bob", "bob")).accepted == 0
    replica = sync_port(group.alice).sync_replica(group.key)
    assert views.group_digest(replica.state.group) == before
    assert replica.state.refused == refused + 1
    last = [event for event in group.alice_store.replica_events(*group.key) if isinstance(event, EnvelopeRefused)][-1]
    assert (last.rule, last.error, last.envelope) == (rule, error, envelope)


def test_the_joiner_is_a_synchronized_member_with_the_password_role(joined: Group) -> None:
    bob_replica = sync_port(joined.bob).sync_replica((joined.bob_name, joined.name)).state
    assert bob_replica.synchronized
    credential = bob_replica.group.credential_of(joined.bob_name, T0)
    assert credential is not None and credential.chain_length == 2
    assert set(bob_replica.group.members) == {joined.alice_name, joined.bob_name}  # the creator acted: it created the group
    assert views.group_digest(bob_replica.group) == views.group_digest(
        sync_port(joined.alice).sync_replica(joined.key).state.group
    )


def test_an_altered_envelope_is_refused_by_its_signature(joined: Group) -> None:
    envelope = _next(joined, joined.bob_name, MembershipPublished("Bob"), joined.bob)
    altered = attrs.evolve(envelope, payload=MembershipPublished("Mallory"))
    _refused_by(joined, altered, "signature_verifies", "PEER_E_INVALID_RECORD")


def test_an_envelope_signed_by_a_non_member_is_refused(joined: Group) -> None:
    mallory = Peer(open_store(None), clock=lambda: T0)
    name = mallory.create_identity("mallory")
    bob_credential = sync_port(joined.alice).sync_replica(joined.key).state.group.credential_of(joined.bob_name, T0)
    assert bob_credential is not None
    envelope = _signed(
        mallory._runtime.identity_key(mallory._runtime.state.identities[name]),
        Envelope(joined.name, name, bob_credential.fingerprint, 1, b"", T0, MembershipPublished("M"), b""),
    )
    _refused_by(joined, envelope, "author_holds_credential", "PEER_E_NOT_AUTHORIZED")


def test_a_replayed_envelope_is_skipped_and_a_reused_sequence_number_kept_as_a_fork() -> None:
    joined = _joined()  # its own group: a fork makes bob's later envelopes refused, in any test after
    accepted = envelopes.accepted(joined.alice._runtime, joined.key)
    head = joined.alice_store.head()
    old = accepted[-1]
    assert sync_port(joined.alice).sync_receive(joined.key, [old], Neighbor("bob", "bob")).accepted == 0
    assert joined.alice_store.head() == head  # the same envelope again: nothing to store
    published = next(e for e in reversed(accepted) if e.author == joined.bob_name)
    fork = _signed(  # bob's accepted sequence number, with other content
        joined.bob._runtime.identity_key(joined.bob._runtime.state.identities[joined.bob_name]),
        attrs.evolve(published, payload=MembershipPublished("Bob again"), signature=b""),
    )
    assert sync_port(joined.alice).sync_receive(joined.key, [fork], Neighbor("bob", "bob")).accepted == 0
    detected = joined.alice_store.replica_events(*joined.key)[-1]
    assert isinstance(detected, ForkDetected) and (detected.first, detected.second) == (published, fork)


def test_an_envelope_for_another_group_is_refused(joined: Group) -> None:
    envelope = _next(joined, joined.bob_name, MembershipPublished("Bob"), joined.bob)
    moved = _signed(
        joined.bob._runtime.identity_key(joined.bob._runtime.state.identities[joined.bob_name]),
        attrs.evolve(envelope, group="0123456789abcdef0123456789abcdef01234567.other", signature=b""),
    )
    _refused_by(joined, moved, "envelope_is_for_group", "PEER_E_INVALID_RECORD")


def test_a_member_cannot_make_itself_an_administrator(joined: Group) -> None:
    state = sync_port(joined.alice).sync_replica(joined.key).state.group
    own = state.credential_of(joined.bob_name, T0)
    assert own is not None
    record = joined.bob._runtime.state.identities[joined.bob_name]
    key = joined.bob._runtime.identity_key(record)
    der = credentials.issue_membership(
        key, own.der, group_peer_name=joined.name, subject=joined.bob_name, subject_friendly_name="Bob",
        subject_public_key=own.public_key, roles=[ROLE_ADMIN], not_before=T0, not_after=own.not_after,
    )
    forged = envelopes.as_credential(der, own)
    envelope = _next(joined, joined.bob_name, CredentialIssued(forged, "stored"), joined.bob)
    _refused_by(joined, envelope, "may_grant_roles", "PEER_E_NOT_AUTHORIZED")


def test_only_the_creator_changes_properties(joined: Group) -> None:
    properties = joined.alice.group_properties(joined.handles[0])
    changed = attrs.evolve(properties, friendly_name="Taken over")
    envelope = _next(joined, joined.bob_name, PropertiesChanged(changed), joined.bob)
    _refused_by(joined, envelope, "caller_is_creator", "PEER_E_NOT_AUTHORIZED")
    with pytest.raises(PeerError) as caught:
        joined.bob.set_group_properties(joined.handles[1], friendly_name="Taken over")
    assert caught.value.name == "PEER_E_NOT_AUTHORIZED"


def test_a_wrong_password_gets_no_credential_and_alice_keeps_the_refusal() -> None:
    group = _joined(password="wrong-password")
    bob_replica = sync_port(group.bob).sync_replica((group.bob_name, group.name)).state
    assert not bob_replica.synchronized
    assert not bob_replica.group.credentials
    alice_group = sync_port(group.alice).sync_replica(group.key).state.group
    assert group.bob_name not in {credential.subject for credential in alice_group.credentials.values()}


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_group_state_is_the_same_for_every_order_that_keeps_each_chain(random: object) -> None:
    """Envelopes of different authors commute: any interleaving that keeps each author's
    own order (and the genesis first) folds to the same state."""
    if "group" not in _SHARED:
        _SHARED["group"] = _joined()
        _SHARED["group"].alice.set_group_properties(_SHARED["group"].handles[0], friendly_name="Renamed")
    group = _SHARED["group"]
    accepted = envelopes.accepted(group.alice._runtime, group.key)
    genesis, rest = accepted[0], list(accepted[1:])
    by_author: dict[str, list[Envelope]] = {}
    for envelope in rest:
        by_author.setdefault(envelope.author, []).append(envelope)
    order: list[Envelope] = []
    queues = {author: list(chain) for author, chain in by_author.items()}
    while any(queues.values()):
        author = random.choice(sorted(a for a, q in queues.items() if q))  # type: ignore[attr-defined]
        order.append(queues[author].pop(0))
    # a credential must precede its holder's envelopes: an order where it does not is
    # refused by admission (the sender never sends one), so only valid orders are compared
    state = apply_envelope(GroupState(group.name), genesis, admission.envelope_id(genesis))
    for envelope in order:
        try:
            admission.admit(state, envelope)
        except admission.Refused:
            return
        state = apply_envelope(state, envelope, admission.envelope_id(envelope))
    assert views.group_digest(state) == views.group_digest(sync_port(group.alice).sync_replica(group.key).state.group)


_SHARED: dict[str, Group] = {}


# One replica's failure in a sync round -------------------------------------------------------


@attrs.define
class Club:
    """alice's club with bob (whose keys are kept under a passphrase) and carol, all three
    connected and synchronized, on one clock that a test moves."""

    peers: dict[str, Peer]
    names: dict[str, str]
    handles: dict[str, str]
    group: str
    bob_store: PeerStore
    now: list[datetime]

    def key(self, who: str) -> tuple[str, str]:
        return (self.names[who], self.group)


def _club() -> Club:
    now = [T0]
    clock = lambda: now[0]  # noqa: E731
    bob_store = open_store(None)
    peers = {
        "alice": Peer(open_store(None), clock=clock),
        "bob": Peer(bob_store, settings=PeerSettings(passphrase="bob's secret", address="bob"), clock=clock),
        "carol": Peer(open_store(None), settings=PeerSettings(address="carol"), clock=clock),
    }
    names = {who: peer.create_identity(who, who.title()) for who, peer in peers.items()}
    handles = {"alice": peers["alice"].create_group(names["alice"], "club")}
    peers["alice"].connect(handles["alice"])
    group = peers["alice"].group_properties(handles["alice"]).group_peer_name
    for who in ("bob", "carol"):
        invitation = peers["alice"].create_invitation(handles["alice"], peers[who].identity_xml(names[who]))
        handles[who] = peers[who].join(names[who], invitation)
        peers[who].connect(handles[who])
    network.synchronize(peers)
    return Club(peers, names, handles, group, bob_store, now)


def _bob_restarted_without_his_passphrase(club: Club) -> None:
    """bob's process starts again, connects, and then loses his keys (as one opened without
    the passphrase has none: it could not even connect, since a protected store stores
    nothing without it): the presence he must publish again once half of it is gone
    cannot be signed."""
    club.peers["bob"].close()
    club.peers["bob"] = Peer(club.bob_store, settings=PeerSettings(passphrase="bob's secret", address="bob"), clock=lambda: club.now[0])
    club.handles["bob"] = club.peers["bob"].open_group(club.names["bob"], club.group)
    club.peers["bob"].connect(club.handles["bob"])
    club.peers["bob"]._runtime.keys = KeyRing(protected=True)


def test_a_peer_opened_without_its_passphrase_stores_nothing() -> None:
    """bob's store is protected, so its commits are sealed under a key his passphrase gives:
    opened without it, his peer reads, and refuses every call that would store
    (``PEER_E_NO_KEY_ACCESS``), a connection too; his store is as it was."""
    club = _club()
    club.peers["bob"].close()
    head = club.bob_store.head()
    locked = Peer(club.bob_store, settings=PeerSettings(address="bob"), clock=lambda: club.now[0])
    handle = locked.open_group(club.names["bob"], club.group)
    assert locked.group_properties(handle).friendly_name
    with pytest.raises(PeerError) as refused:
        locked.connect(handle)
    assert refused.value.name == "PEER_E_NO_KEY_ACCESS"
    assert club.bob_store.head() == head


def test_a_peer_error_in_one_replica_is_its_connection_failed_and_the_others_still_synchronize() -> None:
    club = _club()
    _bob_restarted_without_his_passphrase(club)
    bob = club.peers["bob"]
    failures = bob.register_event(club.handles["bob"], [Interest(PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED)])
    club.now[0] += timedelta(seconds=200)
    record = club.peers["carol"].add_record(club.handles["carol"], uuid4(), club.now[0] + timedelta(days=1), data=b"e4")
    bob_before = sync_port(bob).sync_replica(club.key("bob")).known.copy()

    network.synchronize(club.peers)

    seen = []
    while (event := bob.event_data(failures)) is not None:
        seen.append(event.failure)
    # his two meetings as he catches up (he met no one since he opened it), which he cannot
    # sign, then his republishing: he
    # takes no further part in this sync
    assert seen == ["PEER_E_NO_KEY_ACCESS"] * 3
    assert sync_port(bob).sync_replica(club.key("bob")).known == bob_before  # and his replica did not change
    assert club.peers["alice"].get_record(club.handles["alice"], record).record.data == b"e4"  # alice and carol did synchronize
    assert views.group_digest(sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.group) == views.group_digest(
        sync_port(club.peers["carol"]).sync_replica(club.key("carol")).state.group
    )


def test_any_other_exception_in_one_replica_is_a_bug_that_the_sync_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    club = _club()

    def broken(key: tuple[str, str]) -> None:
        raise RuntimeError("a bug in bob's refresh")

    monkeypatch.setattr(sync_port(club.peers["bob"]), "sync_refresh_presence", broken)
    with pytest.raises(RuntimeError, match="a bug in bob's refresh"):
        network.synchronize(club.peers)


def test_a_peer_error_in_a_conversation_is_the_connectors_connection_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    club = _club()
    carol = club.peers["carol"]
    failures = carol.register_event(club.handles["carol"], [Interest(PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED)])

    def unreadable(identity: str) -> bytes:
        raise peer_error("PEER_E_NOT_FOUND", "carol's card cannot be read")

    monkeypatch.setattr(sync_port(carol), "sync_card", unreadable)
    record = club.peers["bob"].add_record(club.handles["bob"], uuid4(), T0 + timedelta(days=1), data=b"d4")
    network.synchronize(club.peers)
    event = carol.event_data(failures)
    assert event is not None and event.failure == "PEER_E_NOT_FOUND"
    assert club.peers["alice"].get_record(club.handles["alice"], record).record.data == b"d4"
