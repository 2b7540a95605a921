"""Credential chains that must never be trusted: forged, altered, through a non-administrator,
25 long. Each is refused where a peer meets it: locally (``PeerGroupJoin`` of an invitation
carrying it) and at sync (a joiner presenting it, an envelope taking it up), and each
refusal leaves the group state as it was.

alice creates a group and invites bob as a member; bob joins. carol, on a third peer, is
no member: every chain below is one she could build with her own key, bob's, or keys of
her own making.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest

from peerstate.calls import envelopes
from peerstate.peer import sync_port
from peerstate.sync.port import Neighbor
from peerstate import Peer, PeerError, crypto, network, open_store, views
from peerstate.sync import admission
from peerstate.crypto import credentials
from peerstate.documents import invitations
from peerstate.domain.events import GroupAttached
from peerstate.domain.group_events import Credential, CredentialTaken, Envelope, EnvelopeRefused, ReplicaJoined
from peerstate.names import ROLE_ADMIN, ROLE_MEMBER, authority_of
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

END = T0 + timedelta(days=365)


@attrs.define
class Club:
    alice: Peer
    bob: Peer
    carol: Peer
    alice_store: PeerStore
    alice_name: str
    bob_name: str
    carol_name: str
    group: str
    handle: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.alice_name, self.group)

    def digest(self) -> str:
        return views.group_digest(sync_port(self.alice).sync_replica(self.key).state.group)

    def members(self) -> dict[str, Peer]:
        return {"alice": self.alice, "bob": self.bob, "carol": self.carol}


@pytest.fixture(scope="module")
def club() -> Iterator[Club]:
    yield _fresh_club()


def _key(peer: Peer, name: str) -> crypto.PrivateKey:
    return peer._runtime.identity_key(peer._runtime.state.identities[name])


def _own(club: Club, name: str) -> Credential:
    credential = sync_port(club.alice).sync_replica(club.key).state.group.credential_of(name, T0)
    assert credential is not None
    return credential


def _issue(issuer_key: crypto.PrivateKey, issuer_der: bytes, club: Club, subject: str, key: bytes, roles: list[object]) -> bytes:
    return credentials.issue_membership(
        issuer_key, issuer_der, group_peer_name=club.group, subject=subject, subject_friendly_name=subject,
        subject_public_key=key, roles=roles, not_before=T0, not_after=END,  # type: ignore[arg-type]
    )


def _through_bob(club: Club) -> tuple[bytes, ...]:
    """root -> alice -> bob (a member) -> carol: bob may issue nothing."""
    bob = _own(club, club.bob_name)
    carol_key = crypto.public_key_der(_key(club.carol, club.carol_name))
    carol_der = _issue(_key(club.bob, club.bob_name), bob.der, club, club.carol_name, carol_key, [ROLE_MEMBER])
    return (*envelopes.chain(sync_port(club.alice).sync_replica(club.key).state.group, bob), carol_der)


def _twenty_five(club: Club) -> tuple[bytes, ...]:
    """root -> alice -> 23 administrators of carol's making -> carol: 25 GMCs."""
    alice = _own(club, club.alice_name)
    chain = list(envelopes.chain(sync_port(club.alice).sync_replica(club.key).state.group, alice))
    issuer_key, issuer_der = _key(club.alice, club.alice_name), alice.der
    for index in range(23):
        key = crypto.generate_identity_key()
        name = f"{authority_of(crypto.public_key_der(key))}.link{index}"
        issuer_der = _issue(issuer_key, issuer_der, club, name, crypto.public_key_der(key), [ROLE_ADMIN])
        chain.append(issuer_der)
        issuer_key = key
    carol_key = crypto.public_key_der(_key(club.carol, club.carol_name))
    chain.append(_issue(issuer_key, issuer_der, club, club.carol_name, carol_key, [ROLE_MEMBER]))
    assert len(chain) == 1 + 25
    return tuple(chain)


def _altered(club: Club) -> tuple[bytes, ...]:
    """bob's own chain with one byte of his GMC's signature changed: every field still
    reads as before, but alice never signed these bytes."""
    chain = envelopes.chain(sync_port(club.alice).sync_replica(club.key).state.group, _own(club, club.bob_name))
    leaf = bytearray(chain[-1])
    leaf[-5] ^= 0x01
    return (*chain[:-1], bytes(leaf))


BAD_CHAINS = {"through a member": _through_bob, "25 long": _twenty_five, "altered": _altered}


@pytest.mark.parametrize("make", BAD_CHAINS.values(), ids=BAD_CHAINS.keys())
def test_an_invitation_carrying_the_chain_is_not_trusted_and_joins_nothing(club: Club, make: object) -> None:
    chain = make(club)  # type: ignore[operator]
    text = invitations.credential_invitation_xml("Global_", "Chess", chain, _key(club.bob, club.bob_name))
    groups_before = club.carol.groups(club.carol_name)
    with pytest.raises(PeerError) as caught:
        club.carol.join(club.carol_name, text)
    assert caught.value.name == "PEER_E_INVITATION_NOT_TRUSTED"
    assert club.carol.groups(club.carol_name) == groups_before == []


@pytest.mark.parametrize("make", BAD_CHAINS.values(), ids=BAD_CHAINS.keys())
def test_a_joiner_presenting_the_chain_is_not_authenticated(make: object) -> None:
    club = _fresh_club()
    chain = make(club)  # type: ignore[operator]
    key = (club.carol_name, club.group)
    runtime = club.carol._runtime
    runtime.writing(lambda: runtime.execute_group(key, lambda _: ([ReplicaJoined(
        club.group, club.carol_name, "Global_", "Chess", None, chain, None, False, T0,
    )], [GroupAttached(club.carol_name, club.group, T0)], None)))  # what a join that skipped its checks would leave
    club.carol.connect(club.carol.open_group(club.carol_name, club.group))
    before = club.digest()
    network.synchronize(club.members())
    assert not sync_port(club.carol).sync_replica(key).state.synchronized
    assert club.digest() == before
    assert club.carol_name not in sync_port(club.alice).sync_replica(club.key).state.group.members


def _fresh_club() -> Club:
    alice_store = open_store(None)
    alice, bob, carol = Peer(alice_store, clock=lambda: T0), Peer(open_store(None), clock=lambda: T0), Peer(open_store(None), clock=lambda: T0)
    alice_name, bob_name, carol_name = alice.create_identity("alice", "Alice"), bob.create_identity("bob", "Bob"), carol.create_identity("carol", "Carol")
    handle = alice.create_group(alice_name, "chess", friendly_name="Chess")
    alice.connect(handle)
    group = alice.group_properties(handle).group_peer_name
    bob.connect(bob.join(bob_name, alice.create_invitation(handle, bob.identity_xml(bob_name), roles=[ROLE_MEMBER])))
    network.synchronize({"alice": alice, "bob": bob})
    return Club(alice, bob, carol, alice_store, alice_name, bob_name, carol_name, group, handle)


@pytest.mark.parametrize(
    ("make", "rule", "error"),
    [
        (_through_bob, "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL"),
        (_twenty_five, "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL"),
        (_altered, "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL"),
    ],
    ids=BAD_CHAINS.keys(),
)
def test_an_envelope_taking_the_chain_up_is_refused_and_kept(club: Club, make: object, rule: str, error: str) -> None:
    chain = make(club)  # type: ignore[operator]
    links = _links_as_logged(club, chain)
    author = links[-1].subject
    envelope = Envelope(club.group, author, links[-1].fingerprint, 1, b"", T0, CredentialTaken(links), b"")
    signer = _key(club.bob, club.bob_name) if author == club.bob_name else _key(club.carol, club.carol_name)
    envelope = attrs.evolve(envelope, signature=credentials.sign(signer, admission.signed_part(envelope)))
    if author == club.bob_name:
        head = sync_port(club.alice).sync_replica(club.key).state.group.heads[author]
        envelope = attrs.evolve(envelope, seq=head.seq + 1, prev=head.last, signature=b"")
        envelope = attrs.evolve(envelope, signature=credentials.sign(signer, admission.signed_part(envelope)))
    before, refused = club.digest(), sync_port(club.alice).sync_replica(club.key).state.refused
    assert sync_port(club.alice).sync_receive(club.key, [envelope], Neighbor("carol", "carol")).accepted == 0
    assert club.digest() == before
    assert sync_port(club.alice).sync_replica(club.key).state.refused == refused + 1
    last = [event for event in club.alice_store.replica_events(*club.key) if isinstance(event, EnvelopeRefused)][-1]
    assert (last.rule, last.error) == (rule, error)


def _links_as_logged(club: Club, chain: tuple[bytes, ...]) -> tuple[Credential, ...]:
    """The GMCs as a taker would present them: the fields read from each certificate."""
    links: list[Credential] = []
    for der in chain[1:]:
        links.append(envelopes.as_credential(der, links[-1] if links else None))
    return tuple(links)
