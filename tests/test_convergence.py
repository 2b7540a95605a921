"""Same set, same state (issue 28): two replicas that received the same set of valid
envelopes, in any order, with duplicates, split into any batches, with gaps filled later,
hold the same state and digest, on real stores.

The envelopes are a real group's log: alice's group, with two members who joined by
credential invitation and took their credentials up, published their memberships,
presences and records; alice's records, a change of the group's properties, a credential
issued to a member who never joined, and the receiver's own invitation. Each example
makes fresh replicas of one receiving identity (its key made once), joined by the one
invitation, and delivers the envelopes to each as sync batches do (``sync_receive``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import attrs
from hypothesis import HealthCheck, given, settings, strategies as st

from peerstate import CredentialRequest, Peer, crypto, open_store, views
from peerstate.calls import envelopes
from peerstate.constants import PeerGroupIssueCredentialFlags
from peerstate.crypto import credentials
from peerstate.domain.group_events import Envelope, MembershipPublished, RecordPublished
from peerstate.names import ROLE_MEMBER, authority_of
from peerstate.peer import sync_port
from peerstate.sync import admission
from peerstate.sync.port import Neighbor

from tests.conftest import T0
from tests.test_waiting import _group_of_many

SENDERS = (Neighbor("m0", "member0"), Neighbor("m1", "member1"), Neighbor("here", "alice"))


@attrs.frozen
class World:
    """The group's valid envelopes, the digest of the group state they make, and what a
    receiver needs to make a replica of its own."""

    group: str
    envelopes: tuple[Envelope, ...]
    digest: str
    key: crypto.PrivateKey
    invitation: str
    fork: Envelope
    """A second envelope alice signs at the place of her last record: with it, the
    envelopes hold a fork of her chain."""


@cache
def world() -> World:
    alice, _, group, _ = _group_of_many()
    alice_name = alice.identities()[0].peer_name
    (handle,) = [handle for handle, _ in sync_port(alice).sync_handles()]
    alice.set_group_properties(handle, friendly_name="Many, renamed")
    stranger = crypto.generate_identity_key()
    request = CredentialRequest(crypto.public_key_der(stranger), (ROLE_MEMBER,))
    alice.issue_credentials(
        handle, f"{authority_of(crypto.public_key_der(stranger))}.stranger", request,
        PeerGroupIssueCredentialFlags.PEER_GROUP_STORE_CREDENTIALS,
    )
    key = crypto.generate_identity_key()
    keyholder = Peer(open_store(None), clock=lambda: T0)
    invitation = alice.create_invitation(handle, keyholder.identity_xml(keyholder.create_identity("receiver", key=key)))
    log = sync_port(alice).sync_replica((alice_name, group))
    accepted = tuple(envelopes.accepted(alice._runtime, (alice_name, group)))
    last_record = [envelope for envelope in accepted if envelope.author == alice_name and isinstance(envelope.payload, RecordPublished)][-1]
    other = attrs.evolve(last_record, payload=MembershipPublished("Alice, on another machine"), signature=b"")
    alice_key = alice._runtime.identity_key(alice._runtime.state.identities[alice_name])
    fork = attrs.evolve(other, signature=credentials.sign(alice_key, admission.signed_part(other)))
    return World(group, accepted, views.group_digest(log.state.group), key, invitation, fork)


def pool(forked: bool) -> tuple[Envelope, ...]:
    """The world's envelopes, and the second branch of alice's fork when ``forked``."""
    return (*world().envelopes, world().fork) if forked else world().envelopes


def received(deliveries: Sequence[Sequence[int]], location: Path | None = None, forked: bool = False) -> tuple[str, int]:
    """A fresh replica of the receiver, given each batch of ``deliveries`` (indices into the
    world's envelopes, ``pool``) in turn, each from a sender of its own: its digest, and how
    many envelopes still wait in it."""
    known = world()
    peer = Peer(open_store(location), clock=lambda: T0)
    identity = peer.create_identity("receiver", key=known.key)
    peer.join(identity, known.invitation)
    port = sync_port(peer)
    for number, batch in enumerate(deliveries):
        port.sync_receive((identity, known.group), [pool(forked)[index] for index in batch], SENDERS[number % len(SENDERS)])
    state = port.sync_replica((identity, known.group)).state
    return views.group_digest(state.group), len(state.held)


@st.composite
def deliveries(draw: st.DrawFn, forked: bool = False) -> list[list[int]]:
    """Every envelope (of ``pool``) in some order, some twice, split into batches; sometimes
    a part of them held back (gaps) and delivered, in its own order, only after the rest."""
    count = len(pool(forked))
    order = draw(st.permutations(range(count)))
    held_back = draw(st.integers(0, count // 2))
    later = draw(st.permutations(order[:held_back])) if held_back else []
    sequence = [*order[held_back:], *later]
    for index in draw(st.lists(st.integers(0, count - 1), max_size=8)):
        sequence.insert(draw(st.integers(0, len(sequence))), index)
    cuts = sorted(draw(st.lists(st.integers(1, len(sequence) - 1), max_size=6, unique=True)))
    return [sequence[start:end] for start, end in zip([0, *cuts], [*cuts, len(sequence)])]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=deliveries(), second=deliveries())
def test_two_replicas_given_the_same_envelopes_in_any_order_hold_the_same_state(
    first: list[list[int]], second: list[list[int]],
) -> None:
    assert received(first) == received(second) == (world().digest, 0)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=deliveries(), second=deliveries())
def test_the_same_on_sqlite_stores(first: list[list[int]], second: list[list[int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        assert received(first, Path(directory) / "a") == received(second, Path(directory) / "b") == (world().digest, 0)


def test_the_envelopes_in_the_order_of_the_log_give_the_log_s_state() -> None:
    """The reference: the log's own order, in one batch."""
    assert received([list(range(len(world().envelopes)))]) == (world().digest, 0)


@cache
def never_forked() -> tuple[str, int]:
    """A replica given, in the log's order, every envelope but alice's from her fork on:
    what the fork's verdict says every replica that has both branches holds."""
    fork = world().fork
    kept = [index for index, envelope in enumerate(pool(True)) if not (envelope.author == fork.author and envelope.seq >= fork.seq)]
    return received([kept])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=deliveries(forked=True), second=deliveries(forked=True))
def test_with_both_branches_of_a_fork_any_order_gives_the_state_of_a_replica_that_never_saw_them(
    first: list[list[int]], second: list[list[int]],
) -> None:
    """The same property with alice's fork among the envelopes: whichever branch a replica
    met first, and whatever came after it, it ends where a replica that never saw alice's
    envelopes from the fork on stands."""
    assert received(first, forked=True) == received(second, forked=True) == never_forked()
