"""Admission: the checks every envelope passes before a replica accepts it.

The same pipeline judges an envelope this peer just wrote and one received by sync, so a
rule cannot be kept locally and skipped remotely. The pure rules are in ``domain.rules``;
the checks here are the ones that need crypto (signatures, certificates), which the domain
may not do. A refusal names the registered rule that refused (``peerstate.registry``): the
innermost one, whatever helpers it called, so the name a stored refusal keeps is stable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any


from peerstate import names, wire
from peerstate.crypto import credentials
from peerstate.documents import record_attributes
from peerstate.domain import rules
from peerstate.domain.group_events import (
    Credential,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    GroupCreated,
    IdentityRetired,
    RecordPublished,
)
from peerstate.domain.group_state import GroupState
from peerstate.errors import PeerError
from peerstate.registry import Refusal, rule


class Refused(Exception):
    """``rule`` (a registered rule's name) refused the envelope with ``error``."""

    def __init__(self, rule: str, error: PeerError) -> None:
        super().__init__(f"{rule}: {error.message}")
        self.rule = rule
        self.error = error


def signed_part(envelope: Envelope) -> bytes:
    """What the author signs: the envelope without its signature."""
    return wire.canonical_unsigned(envelope)


def envelope_id(envelope: Envelope) -> bytes:
    return wire.digest(envelope)


def retirement_statement(group: str, peer_name: str) -> bytes:
    """What a deleted identity signs so that its deletion can be told to a group."""
    return wire.canonical(["peerstate identity retired", group, peer_name])


def admit(group: GroupState, envelope: Envelope) -> None:
    """Nothing when ``envelope`` may join ``group``; ``Refused`` naming the failed rule
    otherwise. Its bounds come first: no other check reads a field past its bound."""
    _judge(rules.envelope_within_bounds, envelope)
    _judge(rules.envelope_is_for_group, group, envelope)
    _judge(rules.context_is_well_formed, envelope)
    _judge(rules.genesis_comes_first, group, envelope)
    credential: Credential = _judge(rules.author_holds_credential, group, envelope)
    _judge(rules.author_has_not_forked, group, envelope)
    _judge(rules.author_chain_continues, group, envelope)
    _judge(rules.context_is_here, group, envelope)
    _judge(rules.credential_in_force_in_context, group, envelope, credential)
    _judge(signature_verifies, credential, envelope)
    _judge(rules.envelope_time_follows_context, group, envelope)
    _judge(rules.payload_is_permitted, group, envelope, credential)
    _judge(certificates_verify, group, envelope, credential)
    _judge(attributes_are_well_formed, envelope)


def time_reached(envelope: Envelope, peer_now: datetime) -> None:
    """Nothing when ``envelope`` is dated within reach of the receiver's peer time
    ``peer_now``; ``Refused`` otherwise (``envelope_time_reached``): what a receiver judges
    on arrival, apart from ``admit``, whose verdict every replica reaches alike whenever it
    judges."""
    _judge(rules.envelope_time_reached, envelope, peer_now)


def signed_by_author(group: GroupState, envelope: Envelope) -> None:
    """Nothing when ``envelope`` is its author's, whatever its place in the chain: within
    its bounds, for ``group``, under a credential of the author's, signed with its key;
    ``Refused`` otherwise. What makes a second envelope at a place already taken evidence of
    a fork (``ForkDetected``) rather than a forgery anyone could send."""
    _judge(rules.envelope_within_bounds, envelope)
    _judge(rules.envelope_is_for_group, group, envelope)
    credential: Credential = _judge(rules.author_holds_credential, group, envelope)
    _judge(signature_verifies, credential, envelope)


def _judge(check: Callable[..., Any], *args: Any) -> Any:
    try:
        return check(*args)
    except PeerError as error:
        if error.rule is None:
            raise AssertionError(f"{check.__name__} refused outside a registered rule: {error}") from error
        raise Refused(error.rule, error) from None


@rule("PEER_E_INVALID_RECORD")
def signature_verifies(credential: Credential, envelope: Envelope) -> None:
    """The author's key, the one its credential certifies, signed the envelope
    (``PEER_E_INVALID_RECORD``): any altered byte fails here."""
    if not credentials.signature_matches(credential.public_key, signed_part(envelope), envelope.signature):
        raise Refusal(f"the signature of envelope {envelope.seq} by {envelope.author!r} does not verify")


def certificates_verify(group: GroupState, envelope: Envelope, credential: Credential) -> None:
    """The certificates a payload carries say what its fields say, and were signed by whom
    the log says signed them."""
    match envelope.payload:
        case GroupCreated(_, root, root_key, creator):
            root_is_the_groups(envelope.group, root, root_key)
            credential_matches_certificate(creator, root, envelope.group)
        case CredentialIssued(issued, _):
            credential_matches_certificate(issued, credential.der, envelope.group)
        case CredentialTaken(chain):
            assert group.root is not None  # genesis_comes_first
            for parent, link in zip((group.root, *(link.der for link in chain)), chain):
                credential_matches_certificate(link, parent, envelope.group)
        case IdentityRetired(peer_name, public_key, statement):
            retirement_is_signed_by_identity(envelope.group, peer_name, public_key, statement)


@rule("PEER_E_INVALID_ATTRIBUTES")
def attributes_are_well_formed(envelope: Envelope) -> None:
    """A record's attributes follow the record attribute schema (``PEER_E_INVALID_ATTRIBUTES``):
    a peer that searches this record must be able to read them."""
    if isinstance(envelope.payload, RecordPublished):
        try:
            record_attributes.read_attributes(envelope.payload.record.attributes)
        except PeerError as error:
            raise Refusal(error.message) from None  # refused by this rule, whatever the reader calls its check


@rule("PEER_E_INVALID_CREDENTIAL")
def root_is_the_groups(group: str, root: bytes, root_key: bytes) -> None:
    """The group peer name's authority is the hash of the root's key: the trust anchor
    every replica can check from the name alone (``PEER_E_INVALID_CREDENTIAL``)."""
    try:
        parsed = credentials.read_group_root(root)
    except ValueError as error:
        raise Refusal(f"the group root certificate does not parse: {error}") from None
    authority = group.partition(".")[0]
    if parsed.group_peer_name != group or parsed.public_key != root_key or names.authority_of(root_key) != authority:
        raise Refusal(f"the root certificate is not the root of {group!r}")


@rule("PEER_E_INVALID_CREDENTIAL")
def credential_matches_certificate(credential: Credential, issuer_der: bytes, group: str) -> None:
    """A credential's fields are those of its certificate, which its issuer signed
    (``PEER_E_INVALID_CREDENTIAL``)."""
    try:
        parsed = credentials.read_membership(credential.der)
    except ValueError as error:
        raise Refusal(f"the credential does not parse: {error}") from None
    read = (
        parsed.fingerprint, parsed.group_peer_name, parsed.subject, parsed.subject_friendly_name,
        parsed.public_key, parsed.roles, parsed.not_before, parsed.not_after,
    )
    said = (
        credential.fingerprint, group, credential.subject, credential.subject_friendly_name,
        credential.public_key, credential.roles, credential.not_before, credential.not_after,
    )
    if read != said:
        raise Refusal("the credential's fields differ from its certificate's")
    if names.authority_of(parsed.public_key) != credential.subject.partition(".")[0]:
        raise Refusal("the credential's key is not its subject's")
    if not credentials.issued_by(credential.der, issuer_der):
        raise Refusal("the credential was not signed by its issuer")


@rule("PEER_E_INVALID_RECORD")
def retirement_is_signed_by_identity(group: str, peer_name: str, public_key: bytes, statement: bytes) -> None:
    """Only the holder of an identity's key can tell a group it was deleted (``PEER_E_INVALID_RECORD``)."""
    if names.authority_of(public_key) != peer_name.partition(".")[0] or not credentials.signature_matches(
        public_key, retirement_statement(group, peer_name), statement
    ):
        raise Refusal(f"the deletion of {peer_name!r} is not signed by its key")
