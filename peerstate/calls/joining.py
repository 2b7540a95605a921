"""Joining a group: by a password invitation or a credential invitation, and a member taking
up a credential it was given out of band.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from peerstate import crypto, names
from peerstate.calls import arguments, envelopes, events, groups, identities
from peerstate.calls.runtime import GroupDecision, Runtime
from peerstate.sync.port import ReplicaKey
from peerstate.documents import invitations
from peerstate.domain import rules
from peerstate.domain.events import GroupAttached
from peerstate.domain.group_events import CredentialTaken, EnvelopeAccepted, PasswordTicket, ReplicaJoined
from peerstate.domain.state import IdentityRecord
from peerstate.storage.logs import ReplicaLog

_Offer = TypeVar("_Offer", invitations.PasswordInvitation, invitations.CredentialInvitation)


@attrs.frozen
class PasswordJoin:
    """What ``password_join`` returns: the handle, and whether the identity was already a member."""

    handle: str
    already_member: bool


def password_join(
    runtime: Runtime, identity: str | None, invitation: str | None, password: str | None, cloud: str | None,
) -> PasswordJoin:
    """Prepare ``identity`` to join by a password invitation, and open a handle. The password
    is checked by an administrator at the first sync; only the verifier that the
    invitation's salt gives is kept until then, outside the log (``PeerStore.keep_ticket``),
    which the first sync removes. A join that is not stored leaves the ticket as it was."""
    secret = arguments.password(password, "pwzPassword")
    offer, record, wanted_cloud = _invited(runtime, identity, invitation, cloud, invitations.PasswordInvitation)
    peer_name = record.peer_name
    group_cloud = groups.resolve_cloud(runtime, wanted_cloud, offer.cloud)
    key = (peer_name, offer.group_peer_name)
    if offer.group_peer_name in runtime.state.identities[peer_name].groups and runtime.replica(*key).state.synchronized:
        return PasswordJoin(runtime.sessions.open(key, group_cloud), True)
    rules.keys_unlocked(runtime.keys.locked)
    verifier = crypto.derive_key_encryption_key(secret, crypto.KdfParameters(
        offer.salt, offer.iterations, offer.lanes, offer.memory_cost,
    ))
    now = runtime.clock()

    def decide(log: ReplicaLog | None) -> GroupDecision[None]:
        runtime.store.keep_ticket(*key, PasswordTicket(*runtime.keys.keep(offer.group_peer_name, verifier)))
        attached = offer.group_peer_name in runtime.state.identities[peer_name].groups
        return [ReplicaJoined(
            offer.group_peer_name, peer_name, group_cloud, offer.group_friendly_name, None, (), None, False, now,
        )], [] if attached else [GroupAttached(peer_name, offer.group_peer_name, now)], None

    earlier = runtime.store.ticket(*key)
    try:
        runtime.execute_group(key, decide)
    except BaseException:
        if earlier is None:
            runtime.store.forget_ticket(*key)
        else:
            runtime.store.keep_ticket(*key, earlier)
        raise
    return PasswordJoin(runtime.sessions.open(key, group_cloud), False)


def join(runtime: Runtime, identity: str | None, invitation: str | None, cloud: str | None) -> str:
    """Prepare ``identity`` to join by a credential invitation, and open a handle: its GMC
    chain authenticates it at the first sync, after which it takes the credential up in the
    group log. A member already synchronized takes the credential up at once (a renewal or a
    role change returned to it out of band)."""
    offer, record, wanted_cloud = _invited(runtime, identity, invitation, cloud, invitations.CredentialInvitation)
    peer_name = record.peer_name
    rules.invitation_is_for(offer.subject, offer.subject_public_key, record.peer_name, card(record).public_key)
    now = runtime.clock()
    rules.invitation_in_time(offer.valid_from, offer.valid_until, now)
    group_cloud = groups.resolve_cloud(runtime, wanted_cloud, offer.cloud)
    rules.keys_unlocked(runtime.keys.locked)
    key = (peer_name, offer.group_peer_name)
    attached = offer.group_peer_name in record.groups
    if attached and runtime.replica(*key).state.synchronized:
        take_up(runtime, key, record, offer.chain, now)
    else:
        runtime.execute_group(key, lambda _: ([ReplicaJoined(
            offer.group_peer_name, peer_name, group_cloud, offer.group_friendly_name, None, offer.chain, None, False, now,
        )], [] if attached else [GroupAttached(peer_name, offer.group_peer_name, now)], None))
    return runtime.sessions.open(key, group_cloud)


def _invited(
    runtime: Runtime, identity: str | None, invitation: str | None, cloud: str | None, kind: type[_Offer],
) -> tuple[_Offer, IdentityRecord, str | None]:
    """What both joins read first: the invitation, of the kind the call takes (``E_INVALIDARG``
    for the other kind), and the joining identity, which must be one of this peer's (NULL:
    the default identity)."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity", required=False)
    text = arguments.argument_is_text(invitation, "pwzInvitation")
    wanted_cloud = arguments.argument_is_text(cloud, "pwzCloud", required=False)
    offer = arguments.invitation_is_of_kind(invitations.read_invitation(text), kind)
    if peer_name is None:
        peer_name = identities.default_identity(runtime)
    names.parse_peer_name(peer_name, "PEER_E_INVALID_PEER_NAME")
    return offer, rules.identity_is_here(runtime.state, peer_name, "PEER_E_INVALID_PEER_NAME"), wanted_cloud


def take_up(runtime: Runtime, key: ReplicaKey, record: IdentityRecord, chain: Sequence[bytes], now: datetime) -> None:
    """A synchronized member takes up a credential it was given out of band."""
    before = runtime.replica(*key).state.group

    def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
        assert log is not None
        return [], [], [envelopes.publish(runtime, log, record, CredentialTaken(envelopes.links(chain)), now)]

    events.notify_changes(runtime, key, before, runtime.execute_group(key, decide))


def card(record: IdentityRecord) -> crypto.IdentityCertificate:
    """The identity's IDC, read."""
    return crypto.read_identity_certificate(record.certificate)
