"""The rules of the calls that give or carry a membership, one registered rule each
(``peerstate.registry``), named after what it checks: an invitation's expiration, the
credential ``PeerGroupIssueCredentials`` is asked for, and a group configuration exported
or imported.

The rules every issue shares with a received credential (authority, roles, chain) are
``domain.rules``'; these are the calls' own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from peerstate.domain.group_events import Credential
from peerstate.domain.group_state import GroupState
from peerstate.names import authority_of
from peerstate.registry import Refusal, rule


# Invitations and issuing ----------------------------------------------------------------------


@rule("E_INVALIDARG")
def invitation_expiration_ahead(expiration: datetime, now: datetime) -> None:
    """An invitation's expiration, when given, is in the future (``E_INVALIDARG``)."""
    if expiration <= now:
        raise Refusal(f"pftExpiration {expiration.isoformat()} is not in the future")


@rule("E_INVALIDARG")
def credential_key_is_subjects(public_key: bytes, subject: str) -> None:
    """The public key a credential is issued for is the subject's: its peer name's authority
    is the key's (``E_INVALIDARG``)."""
    if authority_of(public_key) != subject.partition(".")[0]:
        raise Refusal("pCredentialInfo.pPublicKey is not the key of pwzSubjectIdentity")


@rule("E_INVALIDARG")
def credential_validity_ahead(start: datetime, end: datetime | None, now: datetime) -> None:
    """The validity a credential is asked for, when it names an end, ends after it starts
    and after now (``E_INVALIDARG``)."""
    if end is not None and (end <= start or end <= now):
        raise Refusal("pCredentialInfo's validity must end after it starts and after now")


@rule("PEER_E_IDENTITY_NOT_FOUND")
def subject_has_credential(group: GroupState, subject: str) -> Credential:
    """A credential issued again without ``pCredentialInfo`` takes its roles and duration
    from the subject's latest credential in the group database, which must hold one
    (``PEER_E_IDENTITY_NOT_FOUND``). Gives that credential."""
    current = group.latest_credential(subject)
    if current is None:
        raise Refusal(f"the group database holds no credential of {subject!r}")
    return current


# Group configurations -------------------------------------------------------------------------


@rule("PEER_E_GROUP_NOT_READY")
def identity_holds_chain(chain: Sequence[bytes]) -> None:
    """A configuration carries its identity's credential chain: one that holds none yet has
    nothing to export (``PEER_E_GROUP_NOT_READY``)."""
    if not chain:
        raise Refusal("the identity holds no credential of this group yet: connect and synchronize first")


@rule("E_INVALIDARG")
def configuration_is_for_key(credential_key: bytes, identity_key: bytes) -> None:
    """An imported configuration's credential is for the key this peer holds of its identity
    (``E_INVALIDARG``)."""
    if credential_key != identity_key:
        raise Refusal("the configuration's credential is not for this peer's key of the identity")


@rule("PEER_E_ALREADY_EXISTS")
def replica_replaced_only_on_request(identity: str, group: str, attached: bool, overwrite: bool) -> None:
    """An imported configuration replaces a replica already here only when asked to
    (``fOverwrite``; ``PEER_E_ALREADY_EXISTS`` otherwise)."""
    if attached and not overwrite:
        raise Refusal(f"{identity!r} already has the group {group!r} here")
