"""How the two sides of a sync prove who they are to each other: the transcript each signs,
and the rules that check what the other side shows (its IDC, its GMC chain, its signature).
Each refuses with ``PEER_E_CONNECTION_NOT_AUTHENTICATED``."""

from __future__ import annotations

from datetime import datetime

import attrs

from peerstate import crypto, names, registry, wire
from peerstate.crypto import credentials
from peerstate.registry import rule
from peerstate.sync.messages import Challenge


def transcript(hello: bytes, challenge: Challenge) -> bytes:
    """What both sides sign: the hello as it was received and the challenge unsigned, so a
    signature answers this conversation's nonces and no other."""
    return wire.digest([hello, attrs.evolve(challenge, signature=b"")])


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def idc_is_the_identity_s(card: bytes, identity: str) -> bytes:
    """The IDC the other side shows is a self-signed certificate of the identity it says it
    is, whose key that name's authority hashes (``PEER_E_CONNECTION_NOT_AUTHENTICATED``): the
    IDC's public key."""
    try:
        parsed = crypto.read_identity_certificate(card)
    except crypto.CryptoFailure as error:
        raise registry.Refusal(f"the IDC does not parse: {error}") from None
    if parsed.peer_name != identity or names.authority_of(parsed.public_key) != identity.partition(".")[0]:
        raise registry.Refusal(f"the IDC is not the one of {identity!r}")
    return parsed.public_key


def chain_holds(chain: tuple[bytes, ...], group: str, identity: str, key: bytes, root: bytes | None, at: datetime) -> None:
    """A GMC chain from the group's root (the one ``root`` is, when known) to ``identity``'s key."""
    chain_is_from_the_group_root(chain, root)
    links = chain_links_verify(chain, group, at)
    chain_is_the_idc_s(links[-1], identity, key)


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def chain_is_from_the_group_root(chain: tuple[bytes, ...], root: bytes | None) -> None:
    """The GMC chain the other side shows starts at this replica's group root, once this
    replica knows it (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if not chain or (root is not None and chain[0] != root):
        raise registry.Refusal("the credential chain is not from this group's root")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def chain_links_verify(chain: tuple[bytes, ...], group: str, at: datetime) -> tuple[credentials.Membership, ...]:
    """Each link of the other side's GMC chain is signed by the one before, from the root of
    the group its peer name's authority names, valid now, with room and no circle
    (``PEER_E_CONNECTION_NOT_AUTHENTICATED``): the links, read."""
    try:
        return credentials.verify_chain(chain[0], chain[1:], group, at)
    except crypto.CryptoFailure as error:
        raise registry.Refusal(f"the credential chain fails: {error}") from None


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def chain_is_the_idc_s(last: credentials.Membership, identity: str, key: bytes) -> None:
    """The other side's GMC chain ends with a GMC of the identity its IDC names, for the IDC's
    key (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if last.subject != identity or last.public_key != key:
        raise registry.Refusal("the credential chain is not the IDC's")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def listener_signature_verifies(key: bytes, signed: bytes, signature: bytes) -> None:
    """The listener's challenge is signed over the conversation's transcript by the key of the
    IDC it shows (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if not credentials.signature_matches(key, signed, signature):
        raise registry.Refusal("the listener's signature fails")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def connector_signature_verifies(key: bytes, signed: bytes, signature: bytes) -> None:
    """The connector's proof is signed over the conversation's transcript by the key of the
    IDC its hello showed (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if not credentials.signature_matches(key, signed, signature):
        raise registry.Refusal("the connector's signature fails")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def password_exchange_is_safe(unsafe: bool) -> None:
    """The other side's public value in the password exchange (``A`` or ``B``) is not 0
    modulo the group's prime, which would fix the session key whatever the password
    (``crypto.pake``, ``PEER_E_CONNECTION_NOT_AUTHENTICATED``); a joiner that sends none to
    a group that keeps an SRP verifier is refused the same way: it can prove nothing."""
    if unsafe:
        raise registry.Refusal("the password exchange's public value is missing or unsafe")


@rule("PEER_E_CONNECTION_REFUSED")
def old_password_proofs_taken(refused: bool) -> None:
    """A peer set to refuse them (``PeerSettings.refuse_old_password_proofs``) checks no
    password of a group made before the password exchange, whose verifier any member could
    join with (``PEER_E_CONNECTION_REFUSED``): its creator moves it to the exchange by
    setting its password again."""
    if refused:
        raise registry.Refusal("this peer checks no password of a group made before the password exchange; its creator should set the password again")
