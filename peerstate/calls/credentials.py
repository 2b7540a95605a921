"""The credential calls: invitations (by credential and by password), issuing a credential,
and reading an invitation.

Issuing checks, after readiness, that neither the caller nor the subject was deleted, then
the caller's authority: a credential in force, a role that may give the roles asked, room in
its chain, no circle; the new credential never outlives the caller's.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import attrs

from peerstate import names
from peerstate.calls import arguments, envelopes, events
from peerstate.calls.runtime import GroupDecision, Runtime
from peerstate.calls.sessions import GroupHandle
from peerstate.constants import PeerGroupIssueCredentialFlags
from peerstate.crypto import credentials as certificates
from peerstate.documents import cards, invitations
from peerstate.domain import membership_rules, rules
from peerstate.domain.group_events import CredentialDelivery, CredentialIssued, EnvelopeAccepted
from peerstate.domain.group_state import GroupState
from peerstate.storage.logs import ReplicaLog


@attrs.frozen
class CredentialRequest:
    """A ``PEER_CREDENTIAL_INFO`` as ``PeerGroupIssueCredentials`` reads it: the issuer's
    fields are not here because that call ignores them. ``valid_until`` None: as long as
    the issuer's own; ``valid_from`` None: now; ``friendly_name`` None: the subject's
    current one in the group, else its peer name."""

    public_key: bytes
    roles: tuple[UUID, ...]
    friendly_name: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def create_password_invitation(runtime: Runtime, handle: object) -> str:
    """A signed password invitation, for a group made with password authentication, by a
    member whose role may give out the group's password role."""
    opened, log = runtime.open(handle)
    identity = opened.replica[0]
    group = log.state.group
    now = runtime.clock()
    credential, verifier, role = rules.may_answer_password_joiner(log.state, identity, now)
    properties = rules.replica_is_ready(log.state)
    record = rules.identity_is_live(runtime.state, identity)
    key = runtime.identity_key(record)
    offer = invitations.PasswordInvitation(
        opened.cloud, group.group_peer_name, properties.friendly_name, identity, record.friendly_name,
        role, verifier.salt, verifier.iterations, verifier.lanes, verifier.memory_cost, now,
        credential.not_after,
    )
    return invitations.password_invitation_xml(offer, envelopes.chain(group, credential), key)


def create_invitation(
    runtime: Runtime, handle: object, identity_info: str | None, expiration: datetime | None,
    roles: Iterable[object] | None,
) -> str:
    """A credential invitation for the identity whose XML is ``identity_info``: a new GMC for
    it with ``roles`` (none given: the member role), valid from now until ``expiration``
    (None: as long as the caller's own), issued in the group log."""
    opened, log = runtime.open(handle)
    card = cards.identity_card(arguments.argument_is_text(identity_info, "pwzIdentityInfo"), "pwzIdentityInfo")
    granted = arguments.argument_is_roles([names.ROLE_MEMBER] if roles is None else roles, "pRoles")
    now = runtime.clock()
    end = None if expiration is None else arguments.argument_is_time(expiration, "pftExpiration")
    if end is not None:
        membership_rules.invitation_expiration_ahead(end, now)
    rules.replica_is_ready(log.state)
    _neither_deleted(runtime, log.state.group, opened.replica[0], card.peer_name)
    return _issue(runtime, opened, log, card.peer_name, card.friendly_name, card.public_key, granted, now, end, "invitation")


def issue_credentials(
    runtime: Runtime, handle: object, subject: str | None, request: CredentialRequest | None, flags: object,
) -> str:
    """Issue ``subject`` a new GMC: as ``request`` says, or (None) with the roles and the
    duration of its latest credential in the group. ``PEER_GROUP_STORE_CREDENTIALS`` delivers
    it by the group log at the subject's next sync; without it the subject gets it only from
    the returned XML. Either way the issue is in the log."""
    opened, log = runtime.open(handle)
    subject_name = arguments.argument_is_text(subject, "pwzSubjectIdentity")
    names.parse_peer_name(subject_name, "E_INVALIDARG")
    bits = arguments.argument_is_dword(flags, "dwFlags")
    arguments.flags_zero_or(bits, "dwFlags", PeerGroupIssueCredentialFlags.PEER_GROUP_STORE_CREDENTIALS)
    delivery: CredentialDelivery = "stored" if bits else "returned"
    now = runtime.clock()
    if request is not None:
        key = cards.public_key(request.public_key, "pCredentialInfo.pPublicKey")
        membership_rules.credential_key_is_subjects(key, subject_name)
        granted = arguments.argument_is_roles(request.roles, "pCredentialInfo.pRoles")
        start = now if request.valid_from is None else arguments.argument_is_time(request.valid_from, "ftValidityStart")
        end = None if request.valid_until is None else arguments.argument_is_time(request.valid_until, "ftValidityEnd")
        membership_rules.credential_validity_ahead(start, end, now)
        friendly = arguments.argument_is_text(request.friendly_name, "pwzFriendlyName", required=False)
    rules.replica_is_ready(log.state)
    group = log.state.group
    _neither_deleted(runtime, group, opened.replica[0], subject_name)
    if request is None:
        current = membership_rules.subject_has_credential(group, subject_name)
        key, granted, friendly = current.public_key, current.roles, current.subject_friendly_name
        start, end = now, now + (current.not_after - current.not_before)
    elif not friendly:
        latest = group.latest_credential(subject_name)
        friendly = latest.subject_friendly_name if latest is not None else subject_name
    return _issue(runtime, opened, log, subject_name, friendly, key, granted, start, end, delivery)


def _neither_deleted(runtime: Runtime, group: GroupState, issuer: str, subject: str) -> None:
    rules.identity_not_retired(group, issuer)
    rules.subject_not_deleted(runtime.state, group, subject)


def _issue(
    runtime: Runtime, opened: GroupHandle, log: ReplicaLog, subject: str, friendly_name: str, public_key: bytes,
    roles: tuple[UUID, ...], start: datetime, end: datetime | None, delivery: CredentialDelivery,
) -> str:
    """The checks every issue shares from authorization on, then the GMC, its event in the
    log, and the invitation that carries it."""
    group = log.state.group
    identity = opened.replica[0]
    now = runtime.clock()
    credential = rules.caller_holds_credential(group, identity, now)
    rules.may_grant_roles(credential, roles)
    rules.chain_has_room(credential)
    rules.chain_not_circular(group, credential, subject)
    start, until = rules.validity_within_issuer(credential, start, end)
    record = rules.identity_is_live(runtime.state, identity)
    issuer_key = runtime.identity_key(record)
    issued = envelopes.as_credential(certificates.issue_membership(
        issuer_key, credential.der, group_peer_name=group.group_peer_name, subject=subject,
        subject_friendly_name=friendly_name, subject_public_key=public_key, roles=list(roles),
        not_before=start, not_after=until,
    ), credential)

    def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
        assert log is not None
        return [], [], [envelopes.publish(runtime, log, record, CredentialIssued(issued, delivery), now)]

    events.notify_changes(runtime, opened.replica, group, runtime.execute_group(opened.replica, decide))
    assert group.properties is not None  # the callers checked replica_is_ready
    return invitations.credential_invitation_xml(
        opened.cloud, group.properties.friendly_name, (*envelopes.chain(group, credential), issued.der), issuer_key,
    )


def parse_invitation(invitation: str | None) -> invitations.PasswordInvitation | invitations.CredentialInvitation:
    """What an invitation says, once its signatures are checked."""
    return invitations.read_invitation(arguments.argument_is_text(invitation, "pwzInvitation"))
