"""The group calls of a peer: create, open, join by password, connect, close, delete,
properties, password invitations, events and peer time; and the port that ``sync`` uses.

Each call checks in the order of the scenario contract (``docs/scenario-format.md`` §4.1):
the handle (``PEER_E_INVALID_GROUP``), the arguments (``E_INVALIDARG``), readiness
(``PEER_E_GROUP_NOT_READY``), deleted identities, authorization, chain length, and last the
keys (``PEER_E_NO_KEY_ACCESS``), because using a key is the last thing a call does before it
stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar
from uuid import UUID

import attrs

from peerstate import crypto, names, wire
from peerstate.sync import admission
from peerstate.calls import arguments
from peerstate.documents import cards, configs, invitations
from peerstate.crypto import credentials
from peerstate.constants import (
    PeerConnectionFlags,
    PeerConnectionStatus,
    PeerGroupAuthenticationScheme,
    PeerGroupEventType,
    PeerGroupIssueCredentialFlags,
    PeerGroupPropertyFlags,
    PeerGroupStatus,
    PeerMemberChangeType,
    PeerMemberFlags,
)
from peerstate.storage.bulk import young_collections_only
from peerstate.calls.runtime import GroupDecision, NamePair, PeerCore, SpreadDecision
from peerstate.domain import rules
from peerstate.domain.events import GroupAttached, GroupDetached, IdentityEvent
from peerstate.domain.group_events import (
    Credential,
    CredentialDelivery,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    EnvelopeAccepted,
    EnvelopeRefused,
    GroupCreated,
    GroupProperties,
    IdentityRetired,
    JoinRefused,
    MembershipPublished,
    PasswordTicket,
    PasswordVerifier,
    PeerTimeAdjusted,
    PresencePublished,
    PropertiesChanged,
    ReplicaClosed,
    ReplicaConnected,
    ReplicaCreated,
    ReplicaDeleted,
    ReplicaEvent,
    ReplicaJoined,
    ReplicaSynchronized,
    SharedEvent,
)
from peerstate.domain.group_state import GroupState, member_data_due, members_changed_by
from peerstate.domain.records import LiveRecords
from peerstate.domain.state import IdentityRecord
from peerstate.errors import GroupNotReady, InvalidArgument, NotFound, PeerError, peer_error
from peerstate.calls.sessions import GroupEvent, GroupHandle, Interest, Neighbor, ReplicaKey
from peerstate.storage.store import ReplicaLog

DEFAULT_MEMBER_DATA_LIFETIME: Final = 2_419_200
DEFAULT_PRESENCE_LIFETIME: Final = 300
MEMBER_DATA_LIFETIMES: Final = range(8 * 3600, 10 * 365 * 86400 + 1)
"""The API page's range (8 hours to 10 years); 0 means the longest the issuer allows."""
KNOWN_FLAGS: Final = int(
    PeerGroupPropertyFlags.PEER_MEMBER_DATA_OPTIONAL | PeerGroupPropertyFlags.PEER_DISABLE_PRESENCE
    | PeerGroupPropertyFlags.PEER_DEFER_EXPIRATION
)
GMC: Final = int(PeerGroupAuthenticationScheme.PEER_GROUP_GMC_AUTHENTICATION)
PASSWORD: Final = int(PeerGroupAuthenticationScheme.PEER_GROUP_PASSWORD_AUTHENTICATION)
SCOPE_PREFIXES: Final = ("Global_", "SiteLocal_", "LinkLocal_")


_Offer = TypeVar("_Offer", invitations.PasswordInvitation, invitations.CredentialInvitation)


class _Unset:
    """A property ``set_group_properties`` was not given: it keeps its value."""


UNSET: Final = _Unset()


@attrs.frozen
class PasswordJoin:
    """What ``password_join`` returns: the handle, and whether the identity was already a member."""

    handle: str
    already_member: bool


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


@attrs.frozen
class MemberView:
    """One ``PEER_MEMBER``: a member as this replica sees it. ``issuer_name`` and
    ``issuer_friendly_name`` are the credential's issuer's (the group's, for the creator's
    credential, which the group root issued)."""

    identity: str
    present: bool
    address: str | None
    credential: Credential | None
    issuer_name: str
    issuer_friendly_name: str


def _roles(values: Iterable[object] | None, parameter: str) -> tuple[UUID, ...]:
    """Role GUIDs as a credential carries them: known, sorted, distinct, at least one."""
    if not isinstance(values, (list, tuple)):
        raise InvalidArgument(f"{parameter} must be a list of roles")
    roles = []
    for value in values:
        if not isinstance(value, (str, UUID)):
            raise InvalidArgument(f"{parameter} holds {type(value).__name__}, not a role")
        roles.append(names.parse_role(value, "E_INVALIDARG"))
    if not roles:
        raise InvalidArgument(f"{parameter} must name at least one role")
    return tuple(sorted(set(roles)))


def _role(value: object, code: str) -> UUID | None:
    if value is None:
        return None
    if not isinstance(value, (str, UUID)):
        raise InvalidArgument(f"groupPasswordRole must be a role, not {type(value).__name__}")
    return names.parse_role(value, code)


def properties_in_range(flags: int, member_data_lifetime: int, presence_lifetime: int, schemes: int) -> None:
    """Flags and schemes the header defines, and lifetimes Windows documents
    (``PEER_E_INVALID_GROUP_PROPERTIES``)."""
    if flags & ~KNOWN_FLAGS:
        raise peer_error("PEER_E_INVALID_GROUP_PROPERTIES", f"dwFlags {flags:#x} has bits no PEER_GROUP_PROPERTY_FLAGS names")
    if schemes & ~(GMC | PASSWORD):
        raise peer_error("PEER_E_INVALID_GROUP_PROPERTIES", f"dwAuthenticationSchemes {schemes:#x} has unknown bits")
    if member_data_lifetime != 0 and member_data_lifetime not in MEMBER_DATA_LIFETIMES:
        raise peer_error(
            "PEER_E_INVALID_GROUP_PROPERTIES",
            "ulMemberDataLifetime must be 0 or from 8 hours to 10 years, in seconds",
        )
    if presence_lifetime < DEFAULT_PRESENCE_LIFETIME:
        raise peer_error("PEER_E_INVALID_GROUP_PROPERTIES", "ulPresenceLifetime must be at least 300 seconds")


def _friendly_name(group: GroupState, identity: str) -> str | None:
    """The name an identity goes by in the group's log, None before it wrote there."""
    member = group.members.get(identity)
    return member.friendly_name if member is not None else None


PEER_TIME_TOLERANCE: Final = timedelta(milliseconds=1)
"""Peer time offsets closer than this to the one held are not recorded."""


class GroupCalls(PeerCore):
    """The group half of ``Peer``."""

    # Keys ------------------------------------------------------------------------------------

    def _identity_key(self, record: IdentityRecord) -> crypto.PrivateKey:
        return self._keys.private_key(record.peer_name, record.private_key, record.sealed)

    def _verifier(self, password: str, parameters: crypto.KdfParameters) -> PasswordVerifier:
        return PasswordVerifier(
            parameters.salt, parameters.iterations, parameters.lanes, parameters.memory_cost,
            crypto.derive_key_encryption_key(password, parameters),
        )

    # Clouds ----------------------------------------------------------------------------------

    def _cloud(self, cloud: str | None, default: str = "Global_") -> str:
        """The one cloud of this peer that ``cloud`` names (``docs/scenario-format.md`` §4.6)."""
        wanted = default if cloud is None else cloud
        clouds = self._settings.clouds
        if wanted in clouds:
            return wanted
        matches = [name for name in clouds if wanted in SCOPE_PREFIXES and name.startswith(wanted)]
        if not matches:
            raise peer_error("PEER_E_NO_CLOUD", f"this peer sees no cloud {wanted!r} (it has {', '.join(clouds)})")
        if len(matches) > 1:
            raise peer_error("PEER_E_CLOUD_NAME_AMBIGUOUS", f"{wanted!r} could be any of {', '.join(matches)}")
        return matches[0]

    # Handles and status ----------------------------------------------------------------------

    def _open(self, handle: object) -> tuple[GroupHandle, ReplicaLog]:
        """The open handle and its replica (``PEER_E_INVALID_GROUP`` for anything else)."""
        if self._closed:
            raise peer_error("PEER_E_NOT_INITIALIZED", "this peer was closed")
        opened = self._sessions.handle(handle)
        return opened, self._replica(*opened.replica)

    def _status(self, key: ReplicaKey) -> PeerGroupStatus:
        status = PeerGroupStatus(0)
        if self._replica(*key).state.synchronized and self._sessions.connected(key):
            status |= PeerGroupStatus.PEER_GROUP_STATUS_LISTENING
        if self._sessions.connections(key):
            status |= PeerGroupStatus.PEER_GROUP_STATUS_HAS_CONNECTIONS
        return status

    def _report_status(self, key: ReplicaKey, before: PeerGroupStatus) -> None:
        after = self._status(key)
        if after != before:
            self._sessions.notify(key, GroupEvent(PeerGroupEventType.PEER_GROUP_EVENT_STATUS_CHANGED, status=after))

    # Envelopes -------------------------------------------------------------------------------

    def _write(
        self, log: ReplicaLog, author: IdentityRecord, credential: bytes, payload: SharedEvent, now: datetime,
    ) -> EnvelopeAccepted:
        """A new envelope by ``author``, signed and admitted by the same rules as a received one."""
        group = log.state.group
        head = group.heads.get(author.peer_name)
        envelope = Envelope(
            log.group, author.peer_name, credential, (head.seq if head else 0) + 1,
            head.last if head else b"", now, payload, b"",
        )
        envelope = attrs.evolve(
            envelope, signature=credentials.sign(self._identity_key(author), admission.signed_part(envelope))
        )
        try:
            admission.admit(group, envelope)
        except admission.Refused as refusal:
            raise refusal.error from None
        return EnvelopeAccepted(envelope, admission.envelope_id(envelope), "local", now)

    def _credential(self, der: bytes, issuer: Credential | None) -> Credential:
        """A certificate as the log keeps it: its fields, its issuer and its place in the chain."""
        parsed = credentials.read_membership(der)
        return Credential(
            parsed.fingerprint, der, parsed.subject, parsed.subject_friendly_name, parsed.public_key,
            parsed.roles, parsed.not_before, parsed.not_after,
            issuer.fingerprint if issuer else None, issuer.chain_length + 1 if issuer else 1,
        )

    def _publish(self, log: ReplicaLog, author: IdentityRecord, payload: SharedEvent, now: datetime) -> EnvelopeAccepted:
        """Write an envelope under the author's credential in force (for a credential taken
        up, that credential itself) and record it on ``log`` at once, so that the next
        envelope of the same decision follows it."""
        if isinstance(payload, CredentialTaken):
            fingerprint = payload.chain[-1].fingerprint
        else:
            fingerprint = rules.caller_holds_credential(log.state.group, author.peer_name, now).fingerprint
        accepted = self._write(log, author, fingerprint, payload, now)
        log.record(accepted)
        return accepted

    def _links(self, chain: Sequence[bytes]) -> tuple[Credential, ...]:
        """The GMCs of a chain (the group root's certificate first) as the log keeps them."""
        links: list[Credential] = []
        for der in chain[1:]:
            links.append(self._credential(der, links[-1] if links else None))
        return tuple(links)

    def _notify_changes(self, key: ReplicaKey, before: GroupState, accepted: Sequence[EnvelopeAccepted]) -> None:
        """Tell registrations what accepted envelopes changed: the properties, members
        listed now and not before (``PEER_MEMBER_JOINED``: new membership information was
        published) and listed members whose credential or name changed
        (``PEER_MEMBER_UPDATED``). Only the identities the envelopes name can have changed."""
        after = self._replica(*key).state.group
        if any(isinstance(event.envelope.payload, PropertiesChanged) for event in accepted):
            self._sessions.notify(key, GroupEvent(PeerGroupEventType.PEER_GROUP_EVENT_PROPERTY_CHANGED))
        now = self._clock()
        changed = {identity for event in accepted for identity in members_changed_by(event.envelope)}
        delivered = after.delivered is not before.delivered  # else no one's latest credential changed
        for identity in sorted(changed):
            if not after.lists(identity, now):
                continue
            if not before.lists(identity, now):
                change = PeerMemberChangeType.PEER_MEMBER_JOINED
            elif _friendly_name(before, identity) != _friendly_name(after, identity) or (
                delivered and before.latest_credential(identity) != after.latest_credential(identity)
            ):
                change = PeerMemberChangeType.PEER_MEMBER_UPDATED
            else:
                continue
            self._sessions.notify(key, GroupEvent(
                PeerGroupEventType.PEER_GROUP_EVENT_MEMBER_CHANGED, member_change=change, identity=identity,
            ))
        self._report_records(key, before)

    # Records: what a replica shows, and when it changed --------------------------------------

    def _peer_now(self, key: ReplicaKey) -> datetime:
        """The group's peer time on this replica: this machine's clock and the replica's offset."""
        return self._clock() + self._replica(*key).state.peer_time_offset

    def _expiring(self, key: ReplicaKey, group: GroupState) -> bool:
        """Whether records expire now: not with ``PEER_DEFER_EXPIRATION`` while the replica
        has no connection."""
        properties = group.properties
        return not (
            properties is not None and bool(properties.flags & PeerGroupPropertyFlags.PEER_DEFER_EXPIRATION)
            and not self._sessions.connections(key)
        )

    def _live_records(self, key: ReplicaKey) -> LiveRecords:
        """The records the replica shows now."""
        group = self._replica(*key).state.group
        return LiveRecords(group.records, self._peer_now(key), self._expiring(key, group))

    def _report_records(self, key: ReplicaKey, before: GroupState | None = None) -> None:
        """Tell registrations how the records shown changed since this process last looked
        (or, the first time, since ``before``): added, updated, deleted, or expired as the
        clock passed them. Every call on a replica looks first, so expiry is reported as
        soon as anything observes the clock."""
        log = self._replica(*key)
        records = log.state.group.records
        changes = self._sessions.watch(key).look(
            records, log.published, self._peer_now(key), self._expiring(key, log.state.group),
            before.records if before is not None else None,
        )
        for record_id, change in changes:
            self._sessions.notify(key, GroupEvent(
                PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED, record_change=change,
                record_id=record_id, record_type=records[record_id].record.type,
            ))

    # Creating, opening, joining --------------------------------------------------------------

    def create_group(
        self, creator: str | None, classifier: str | None = None, *, cloud: str | None = None,
        friendly_name: str | None = None, comment: str | None = None, flags: int = 0,
        member_data_lifetime: int = DEFAULT_MEMBER_DATA_LIFETIME,
        presence_lifetime: int = DEFAULT_PRESENCE_LIFETIME, authentication_schemes: int = GMC,
        password: str | None = None, password_role: UUID | str | None = None,
    ) -> str:
        """Create a group whose creator, first member and administrator is ``creator``, and
        open a handle to it. The group peer name is ``<authority of the new root key>.<classifier>``."""
        creator_name = arguments.text(creator, "pwzCreatorPeerName")
        chosen = arguments.text(classifier, "pwzClassifier", required=False) or ""
        friendly = arguments.text(friendly_name, "pwzFriendlyName", required=False)
        if friendly:
            names.require_friendly_name(friendly)
        remark = arguments.text(comment, "pwzComment", required=False) or ""
        names.require_friendly_name(remark)
        wanted_cloud = arguments.text(cloud, "pwzCloud", required=False)
        secret = arguments.text(password, "pwzGroupPassword", required=False, max_chars=arguments.MAX_PASSWORD_CHARS)
        numbers = [
            arguments.dword(value, parameter) for value, parameter in (
                (flags, "dwFlags"), (member_data_lifetime, "ulMemberDataLifetime"),
                (presence_lifetime, "ulPresenceLifetime"), (authentication_schemes, "dwAuthenticationSchemes"),
            )
        ]
        role = _role(password_role, "PEER_E_INVALID_GROUP_PROPERTIES")
        names.require_classifier(chosen, "PEER_E_INVALID_CLASSIFIER")
        flag_bits, member_lifetime, presence, schemes = numbers
        properties_in_range(flag_bits, member_lifetime, presence, schemes)
        schemes |= GMC
        rules.password_settings_complete(schemes, bool(secret), role)
        rules.password_meets_policy(secret if schemes & PASSWORD else None, self._settings.password_min_length)
        group_cloud = self._cloud(wanted_cloud)
        names.parse_peer_name(creator_name, "PEER_E_INVALID_PEER_NAME")
        record = rules.creator_is_live(self._state, creator_name)
        creator_key = self._identity_key(record)
        if self.keys_locked:
            raise peer_error("PEER_E_NO_KEY_ACCESS", "cannot store the group's key: this peer was opened without its passphrase")

        root_key = crypto.generate_identity_key()
        group = f"{names.authority_of(crypto.public_key_der(root_key))}.{chosen}"
        now = self._clock()
        root = credentials.make_group_root(root_key, group, now)
        creator_credential = self._credential(credentials.issue_membership(
            root_key, root, group_peer_name=group, subject=creator_name,
            subject_friendly_name=record.friendly_name, subject_public_key=crypto.public_key_der(creator_key),
            roles=[names.ROLE_ADMIN], not_before=now, not_after=now + credentials.ROOT_LIFETIME,
        ), None)
        verifier = self._verifier(secret, crypto.new_kdf_parameters()) if secret and schemes & PASSWORD else None
        properties = GroupProperties(
            group, creator_name, group_cloud, chosen, friendly or group, remark, flag_bits, member_lifetime,
            presence, schemes, verifier, role if schemes & PASSWORD else None,
        )
        key = (creator_name, group)

        def decide(log: ReplicaLog | None) -> GroupDecision[None]:
            assert log is not None
            kept, sealed = self._keys.keep(group, crypto.private_key_der(root_key))
            genesis = self._write(log, record, creator_credential.fingerprint, GroupCreated(
                properties, root, crypto.public_key_der(root_key), creator_credential,
            ), now)
            created = ReplicaCreated(group, creator_name, group_cloud, kept, sealed, now)
            return [created, genesis], [GroupAttached(creator_name, group, now)], None

        self._execute_group(key, decide)
        return self._sessions.open(key, group_cloud)

    def open_group(self, identity: str | None, group_peer_name: str | None, cloud: str | None = None) -> str:
        """A new handle to a group the identity created or joined on this peer."""
        peer_name = arguments.text(identity, "pwzIdentity")
        group = arguments.text(group_peer_name, "pwzGroupPeerName")
        wanted_cloud = arguments.text(cloud, "pwzCloud", required=False)
        replica = self._present(peer_name, group)
        return self._sessions.open((peer_name, group), self._cloud(wanted_cloud, replica.state.cloud))

    def _present(self, identity: str, group: str) -> ReplicaLog:
        """The identity's replica of the group on this peer (``PEER_E_NOT_FOUND``)."""
        rules.identity_is_live(self._state, identity)
        if group not in self._state.identities[identity].groups:
            raise NotFound(f"{identity!r} has no group {group!r} on this peer")
        return self._replica(identity, group)

    def password_join(
        self, identity: str | None, invitation: str | None, password: str | None, cloud: str | None = None,
    ) -> PasswordJoin:
        """Prepare ``identity`` to join by a password invitation, and open a handle. The
        password is checked by an administrator at the first sync; only the verifier that
        the invitation's salt gives is kept until then."""
        secret = arguments.password(password, "pwzPassword")
        offer, record, wanted_cloud = self._invited(identity, invitation, cloud, invitations.PasswordInvitation)
        peer_name = record.peer_name
        group_cloud = self._cloud(wanted_cloud, offer.cloud)
        key = (peer_name, offer.group_peer_name)
        if offer.group_peer_name in self._state.identities[peer_name].groups and self._replica(*key).state.synchronized:
            return PasswordJoin(self._sessions.open(key, group_cloud), True)
        if self.keys_locked:
            raise peer_error("PEER_E_NO_KEY_ACCESS", "cannot keep the join's secret: this peer was opened without its passphrase")
        verifier = crypto.derive_key_encryption_key(secret, crypto.KdfParameters(
            offer.salt, offer.iterations, offer.lanes, offer.memory_cost,
        ))
        now = self._clock()

        def decide(log: ReplicaLog | None) -> GroupDecision[None]:
            kept, sealed = self._keys.keep(offer.group_peer_name, verifier)
            attached = offer.group_peer_name in self._state.identities[peer_name].groups
            return [ReplicaJoined(
                offer.group_peer_name, peer_name, group_cloud, offer.group_friendly_name,
                PasswordTicket(kept, sealed), (), None, False, now,
            )], [] if attached else [GroupAttached(peer_name, offer.group_peer_name, now)], None

        self._execute_group(key, decide)
        return PasswordJoin(self._sessions.open(key, group_cloud), False)

    def join(self, identity: str | None, invitation: str | None, cloud: str | None = None) -> str:
        """Prepare ``identity`` to join by a credential invitation, and open a handle: its
        GMC chain authenticates it at the first sync, after which it takes the credential up
        in the group log. A member already synchronized takes the credential up at once (a
        renewal or a role change returned to it out of band)."""
        offer, record, wanted_cloud = self._invited(identity, invitation, cloud, invitations.CredentialInvitation)
        peer_name = record.peer_name
        rules.invitation_is_for(offer.subject, offer.subject_public_key, record.peer_name, self._card(record).public_key)
        now = self._clock()
        rules.invitation_in_time(offer.valid_from, offer.valid_until, now)
        group_cloud = self._cloud(wanted_cloud, offer.cloud)
        if self.keys_locked:
            raise peer_error("PEER_E_NO_KEY_ACCESS", "cannot sign as a member: this peer was opened without its passphrase")
        key = (peer_name, offer.group_peer_name)
        attached = offer.group_peer_name in record.groups
        if attached and self._replica(*key).state.synchronized:
            self._take_up(key, record, offer.chain, now)
        else:
            self._execute_group(key, lambda _: ([ReplicaJoined(
                offer.group_peer_name, peer_name, group_cloud, offer.group_friendly_name, None, offer.chain, None, False, now,
            )], [] if attached else [GroupAttached(peer_name, offer.group_peer_name, now)], None))
        return self._sessions.open(key, group_cloud)

    def _invited(
        self, identity: str | None, invitation: str | None, cloud: str | None, kind: type[_Offer],
    ) -> tuple[_Offer, IdentityRecord, str | None]:
        """What both joins read first: the invitation, of the kind the call takes
        (``E_INVALIDARG`` for the other kind), and the joining identity, which must be one
        of this peer's (NULL: the default identity)."""
        peer_name = arguments.text(identity, "pwzIdentity", required=False)
        text = arguments.text(invitation, "pwzInvitation")
        wanted_cloud = arguments.text(cloud, "pwzCloud", required=False)
        offer = invitations.read_invitation(text)
        if not isinstance(offer, kind):
            raise InvalidArgument(f"pwzInvitation is not a {kind.__name__}: the other join takes it")
        if peer_name is None:
            peer_name = self.default_identity()
        names.parse_peer_name(peer_name, "PEER_E_INVALID_PEER_NAME")
        return offer, rules.identity_is_here(self._state, peer_name, "PEER_E_INVALID_PEER_NAME"), wanted_cloud

    def _take_up(self, key: ReplicaKey, record: IdentityRecord, chain: Sequence[bytes], now: datetime) -> None:
        """A synchronized member takes up a credential it was given out of band."""
        before = self._replica(*key).state.group

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            return [], [], [self._publish(log, record, CredentialTaken(self._links(chain)), now)]

        self._notify_changes(key, before, self._execute_group(key, decide))

    def _card(self, record: IdentityRecord) -> crypto.IdentityCertificate:
        return crypto.read_identity_certificate(record.certificate)

    def default_identity(self) -> str:
        """The default identity, made on first use: ``Peer`` has it; the group calls that
        take a NULL identity use it."""
        raise NotImplementedError

    # Connecting and closing ------------------------------------------------------------------

    def connect(self, handle: object, addresses: Sequence[str] | None = None) -> None:
        """Go online: the replica is found and synchronized at the next sync. With
        ``addresses``, only the peers at those addresses are tried."""
        opened, log = self._open(handle)
        if addresses is not None:
            addresses = tuple(arguments.filled(a, "pAddresses") for a in addresses)
            if not addresses:
                raise InvalidArgument("pAddresses must name at least one address")
        before = self._status(opened.replica)
        now = self._clock()
        self._execute_group(opened.replica, lambda _: ([ReplicaConnected(now)], [], None))
        opened.connected = True
        opened.addresses = addresses
        self._report_status(opened.replica, before)

    def close_group(self, handle: object) -> None:
        """Invalidate the handle; the replica's last handle also drops its connections."""
        opened, log = self._open(handle)
        if self._sessions.close(handle):  # type: ignore[arg-type]  # _open checked it is a handle
            now = self._clock()
            self._execute_group(opened.replica, lambda _: ([ReplicaClosed(now)], [], None))

    def delete_group(self, identity: str | None, group_peer_name: str | None) -> None:
        """Delete the identity's replica of the group from this peer; its handles die with it."""
        peer_name = arguments.text(identity, "pwzIdentity", required=False)
        group = arguments.text(group_peer_name, "pwzGroupPeerName")
        if peer_name is None:
            peer_name = self.default_identity()
        self._present(peer_name, group)
        now = self._clock()
        self._execute_group(
            (peer_name, group), lambda _: ([ReplicaDeleted(now)], [GroupDetached(peer_name, group, now)], None)
        )
        self._sessions.forget((peer_name, group))

    def require_handle(self, handle: object) -> None:
        """``PEER_E_INVALID_GROUP`` unless ``handle`` is open: a call whose arguments are
        unpacked before they reach ``Peer`` checks the handle first, as §4.1's order says."""
        self._open(handle)

    def group_status(self, handle: object) -> PeerGroupStatus:
        opened, _ = self._open(handle)
        return self._status(opened.replica)

    def connections(self, handle: object, flags: object) -> list[Neighbor]:
        """The replica's live connections of the kinds ``flags`` names. Every connection
        here is a neighbour (sync's); direct connections are not made, so asking for them
        alone gives none."""
        opened, _ = self._open(handle)
        kinds = arguments.dword(flags, "dwFlags")
        known = PeerConnectionFlags.PEER_CONNECTION_NEIGHBOR | PeerConnectionFlags.PEER_CONNECTION_DIRECT
        if not kinds or kinds & ~int(known):
            raise InvalidArgument("dwFlags must be PEER_CONNECTION_NEIGHBOR, PEER_CONNECTION_DIRECT or both")
        if not kinds & PeerConnectionFlags.PEER_CONNECTION_NEIGHBOR:
            return []
        return sorted(self._sessions.connections(opened.replica), key=str)

    # Properties ------------------------------------------------------------------------------

    def group_properties(self, handle: object) -> GroupProperties:
        _, log = self._open(handle)
        return rules.replica_is_ready(log.state)

    def set_group_properties(self, handle: object, **changes: Any) -> None:
        """Change what may change; a fixed property given with another value, or a field
        ``GroupProperties`` does not have, is refused. ``password`` sets a new password
        (its verifier keeps the group's salt)."""
        opened, log = self._open(handle)
        given = {name: value for name, value in changes.items() if value is not UNSET}
        allowed = {field.name for field in attrs.fields(GroupProperties)}
        unknown = set(given) - allowed
        if unknown:
            raise InvalidArgument(f"not a group property: {', '.join(sorted(unknown))}")
        current = rules.replica_is_ready(log.state)
        identity = opened.replica[0]
        rules.caller_is_creator(current, identity)
        secret = given.pop("password", None)
        if secret is not None:
            secret = arguments.text(secret, "pwzGroupPassword", max_chars=arguments.MAX_PASSWORD_CHARS)
        if "password_role" in given:
            given["password_role"] = _role(given["password_role"], "PEER_E_INVALID_GROUP_PROPERTIES")
        for name in ("friendly_name", "comment"):
            if name in given:
                names.require_friendly_name(arguments.text(given[name], name), "PEER_E_INVALID_GROUP_PROPERTIES")
        for name in ("flags", "member_data_lifetime", "presence_lifetime", "authentication_schemes"):
            if name in given:
                given[name] = arguments.dword(given[name], name)
        wanted = attrs.evolve(current, **given)
        rules.fixed_properties_unchanged(current, wanted)
        properties_in_range(wanted.flags, wanted.member_data_lifetime, wanted.presence_lifetime, wanted.authentication_schemes)
        rules.password_settings_complete(
            wanted.authentication_schemes, bool(secret) or wanted.password is not None, wanted.password_role,
        )
        rules.password_meets_policy(secret, self._settings.password_min_length)
        record = rules.identity_is_live(self._state, identity)
        if secret is not None and current.password is not None:
            old = current.password
            wanted = attrs.evolve(wanted, password=self._verifier(secret, crypto.KdfParameters(
                old.salt, old.iterations, old.lanes, old.memory_cost,
            )))
        credential = rules.caller_holds_credential(log.state.group, identity, self._clock())
        now = self._clock()
        before = log.state.group

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            accepted = self._write(log, record, credential.fingerprint, PropertiesChanged(wanted), now)
            return [accepted], [], [accepted]

        self._notify_changes(opened.replica, before, self._execute_group(opened.replica, decide))

    # Password invitations --------------------------------------------------------------------

    def create_password_invitation(self, handle: object) -> str:
        """A signed password invitation, for a group made with password authentication, by a
        member whose role may give out the group's password role."""
        opened, log = self._open(handle)
        properties = rules.replica_is_ready(log.state)
        verifier, role = rules.group_uses_password(properties)
        identity = opened.replica[0]
        group = log.state.group
        rules.identity_not_retired(group, identity)
        now = self._clock()
        credential = rules.caller_holds_credential(group, identity, now)
        rules.may_grant_roles(credential, [role])
        rules.chain_has_room(credential)
        record = rules.identity_is_live(self._state, identity)
        key = self._identity_key(record)
        offer = invitations.PasswordInvitation(
            opened.cloud, group.group_peer_name, properties.friendly_name, identity, record.friendly_name,
            role, verifier.salt, verifier.iterations, verifier.lanes, verifier.memory_cost, now,
            credential.not_after,
        )
        return invitations.password_invitation_xml(offer, self._chain(group, credential), key)

    # Credentials and credential invitations ---------------------------------------------------

    def create_invitation(
        self, handle: object, identity_info: str | None, expiration: datetime | None = None,
        roles: Iterable[object] | None = None,
    ) -> str:
        """A credential invitation for the identity whose XML is ``identity_info``: a new GMC
        for it with ``roles`` (none given: the member role), valid from now until
        ``expiration`` (None: as long as the caller's own), issued in the group log."""
        opened, log = self._open(handle)
        card = cards.identity_card(arguments.text(identity_info, "pwzIdentityInfo"), "pwzIdentityInfo")
        granted = _roles([names.ROLE_MEMBER] if roles is None else roles, "pRoles")
        now = self._clock()
        end = None if expiration is None else arguments.moment(expiration, "pftExpiration")
        if end is not None and end <= now:
            raise InvalidArgument(f"pftExpiration {end.isoformat()} is not in the future")
        rules.replica_is_ready(log.state)
        self._neither_deleted(log.state.group, opened.replica[0], card.peer_name)
        return self._issue(opened, log, card.peer_name, card.friendly_name, card.public_key, granted, now, end, "invitation")

    def issue_credentials(
        self, handle: object, subject: str | None, request: CredentialRequest | None, flags: object = 0,
    ) -> str:
        """Issue ``subject`` a new GMC: as ``request`` says, or (None) with the roles and the
        duration of its latest credential in the group. ``PEER_GROUP_STORE_CREDENTIALS``
        delivers it by the group log at the subject's next sync; without it the subject
        gets it only from the returned XML. Either way the issue is in the log."""
        opened, log = self._open(handle)
        subject_name = arguments.text(subject, "pwzSubjectIdentity")
        names.parse_peer_name(subject_name, "E_INVALIDARG")
        bits = arguments.dword(flags, "dwFlags")
        if bits & ~int(PeerGroupIssueCredentialFlags.PEER_GROUP_STORE_CREDENTIALS):
            raise InvalidArgument(f"dwFlags {bits:#x} is neither 0 nor PEER_GROUP_STORE_CREDENTIALS")
        delivery: CredentialDelivery = "stored" if bits else "returned"
        now = self._clock()
        if request is not None:
            key = cards.public_key(request.public_key, "pCredentialInfo.pPublicKey")
            if names.authority_of(key) != subject_name.partition(".")[0]:
                raise InvalidArgument("pCredentialInfo.pPublicKey is not the key of pwzSubjectIdentity")
            granted = _roles(request.roles, "pCredentialInfo.pRoles")
            start = now if request.valid_from is None else arguments.moment(request.valid_from, "ftValidityStart")
            end = None if request.valid_until is None else arguments.moment(request.valid_until, "ftValidityEnd")
            if end is not None and (end <= start or end <= now):
                raise InvalidArgument("pCredentialInfo's validity must end after it starts and after now")
            friendly = arguments.text(request.friendly_name, "pwzFriendlyName", required=False)
        rules.replica_is_ready(log.state)
        group = log.state.group
        self._neither_deleted(group, opened.replica[0], subject_name)
        current = group.latest_credential(subject_name)
        if request is None:
            if current is None:
                raise peer_error("PEER_E_IDENTITY_NOT_FOUND", f"the group database holds no credential of {subject_name!r}")
            key, granted, friendly = current.public_key, current.roles, current.subject_friendly_name
            start, end = now, now + (current.not_after - current.not_before)
        elif not friendly:
            friendly = current.subject_friendly_name if current is not None else subject_name
        return self._issue(opened, log, subject_name, friendly, key, granted, start, end, delivery)

    def _neither_deleted(self, group: GroupState, issuer: str, subject: str) -> None:
        rules.identity_not_retired(group, issuer)
        rules.subject_not_deleted(self._state, group, subject)

    def _issue(
        self, opened: GroupHandle, log: ReplicaLog, subject: str, friendly_name: str, public_key: bytes,
        roles: tuple[UUID, ...], start: datetime, end: datetime | None, delivery: CredentialDelivery,
    ) -> str:
        """The checks every issue shares from authorization on, then the GMC, its event in
        the log, and the invitation that carries it."""
        group = log.state.group
        identity = opened.replica[0]
        now = self._clock()
        credential = rules.caller_holds_credential(group, identity, now)
        rules.may_grant_roles(credential, roles)
        rules.chain_has_room(credential)
        rules.chain_not_circular(group, credential, subject)
        start, until = rules.validity_within_issuer(credential, start, end)
        record = rules.identity_is_live(self._state, identity)
        issuer_key = self._identity_key(record)
        issued = self._credential(credentials.issue_membership(
            issuer_key, credential.der, group_peer_name=group.group_peer_name, subject=subject,
            subject_friendly_name=friendly_name, subject_public_key=public_key, roles=list(roles),
            not_before=start, not_after=until,
        ), credential)

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            return [], [], [self._publish(log, record, CredentialIssued(issued, delivery), now)]

        self._notify_changes(opened.replica, group, self._execute_group(opened.replica, decide))
        assert group.properties is not None  # the callers checked replica_is_ready
        return invitations.credential_invitation_xml(
            opened.cloud, group.properties.friendly_name, (*self._chain(group, credential), issued.der), issuer_key,
        )

    def parse_invitation(self, invitation: str | None) -> invitations.PasswordInvitation | invitations.CredentialInvitation:
        return invitations.read_invitation(arguments.text(invitation, "pwzInvitation"))

    @staticmethod
    def _chain(group: GroupState, credential: Credential) -> tuple[bytes, ...]:
        """The root certificate and the credential's chain up to it, root side first."""
        assert group.root is not None  # a credential exists only in a founded group
        return (group.root, *(link.der for link in group.chain_of(credential)))

    # Group configurations --------------------------------------------------------------------

    def export_config(self, handle: object, password: str | None) -> str:
        """The identity's membership of the group, under ``password`` (no policy applies):
        its credential chain, and for the group's creator the group's key."""
        opened, log = self._open(handle)
        secret = arguments.password(password, "pwzPassword")
        state = log.state
        credential = state.group.credential_of(opened.replica[0], self._clock())
        chain = self._chain(state.group, credential) if credential is not None else state.chain
        if not chain:
            raise GroupNotReady("the identity holds no credential of this group yet: connect and synchronize first")
        if self.keys_locked:
            raise peer_error("PEER_E_NO_KEY_ACCESS", "cannot open the group's keys: this peer was opened without its passphrase")
        root_key = None
        if state.root_key is not None:
            root_key = crypto.load_private_key(self._keys.take(log.group, state.root_key, state.root_key_sealed))
        return configs.group_config_xml(configs.GroupConfig(opened.replica[0], log.group, state.cloud, chain, root_key), secret)

    def import_config(self, xml: str | None, password: str | None, overwrite: object = False) -> tuple[str, str]:
        """Bring an exported membership to this peer, for an identity that is here; then
        ``PeerGroupOpen`` and a sync make the replica ready. A replica already here is
        replaced only with ``overwrite`` (``PEER_E_ALREADY_EXISTS`` otherwise); a synchronized
        one keeps its data and takes the imported credential up."""
        text = arguments.text(xml, "pwzXML")
        secret = arguments.password(password, "pwzPassword")
        if not isinstance(overwrite, bool):
            raise InvalidArgument("fOverwrite must be TRUE or FALSE")
        config = configs.read_group_config(text, secret)
        record = rules.identity_is_live(self._state, config.identity)
        leaf = self._links(config.chain)[-1]
        if leaf.public_key != self._card(record).public_key:
            raise InvalidArgument("the configuration's credential is not for this peer's key of the identity")
        key = (config.identity, config.group_peer_name)
        attached = config.group_peer_name in record.groups
        if attached and not overwrite:
            raise peer_error("PEER_E_ALREADY_EXISTS", f"{config.identity!r} already has the group {config.group_peer_name!r} here")
        if self.keys_locked:
            raise peer_error("PEER_E_NO_KEY_ACCESS", "cannot keep the group's keys: this peer was opened without its passphrase")
        now = self._clock()
        if attached and self._replica(*key).state.synchronized:
            self._take_up(key, record, config.chain, now)
            return key

        def decide(log: ReplicaLog | None) -> GroupDecision[None]:
            kept, sealed = (
                self._keys.keep(config.group_peer_name, crypto.private_key_der(config.group_key))
                if config.group_key is not None else (None, False)
            )
            return [ReplicaJoined(
                config.group_peer_name, config.identity, config.cloud, config.group_peer_name, None,
                config.chain, kept, sealed, now,
            )], [] if attached else [GroupAttached(config.identity, config.group_peer_name, now)], None

        self._execute_group(key, decide)
        return key

    # Events ----------------------------------------------------------------------------------

    def register_event(self, handle: object, interests: Iterable[Interest]) -> str:
        """Subscribe to events of the handle's replica; record changes are counted from now."""
        opened, _ = self._open(handle)
        self._report_records(opened.replica)
        return self._sessions.register(handle, interests)  # type: ignore[arg-type]  # _open checked it

    def unregister_event(self, registration: object) -> None:
        self._sessions.unregister(registration)

    def event_data(self, registration: object) -> GroupEvent | None:
        """The oldest queued event of the registration (after looking whether records
        expired since); None when the queue is empty."""
        found = self._sessions.registration(registration)
        self._report_records(self._sessions.handle(found.handle).replica)
        return found.queue.popleft() if found.queue else None

    # Peer time -------------------------------------------------------------------------------

    def peer_time_to_universal(self, handle: object, peer_time: datetime | None) -> datetime:
        """Peer time is the group's clock: it starts at the creator's clock, a joiner adopts
        the time of the member it first synchronizes with, and later syncs average it
        (``sync_peer_time``). This machine's clock stands in for UTC."""
        _, log = self._open(handle)
        moment = arguments.moment(peer_time, "pftPeerTime")
        rules.replica_is_ready(log.state)
        return moment - log.state.peer_time_offset

    def universal_to_peer_time(self, handle: object, universal_time: datetime | None) -> datetime:
        _, log = self._open(handle)
        moment = arguments.moment(universal_time, "pftUniversalTime")
        rules.replica_is_ready(log.state)
        return moment + log.state.peer_time_offset

    # Enumeration -----------------------------------------------------------------------------

    def groups(self, identity: str | None) -> list[NamePair]:
        """The groups this identity has on this peer."""
        peer_name = arguments.text(identity, "pwzIdentity")
        record = rules.identity_is_live(self._state, peer_name)
        return [NamePair(group, self._replica(peer_name, group).state.friendly_name) for group in record.groups]

    def members(self, handle: object, flags: object = 0, identity: str | None = None) -> list[MemberView]:
        """The members this replica knows from the published member data, those whose data
        has not lapsed (``GroupState.listed``), after this replica's own identity, which
        always comes first; with ``PEER_MEMBER_PRESENT`` only those present (their presence
        not expired; this one while it listens); with ``identity``, that member only.
        Identities the group log says were deleted are no longer listed."""
        opened, log = self._open(handle)
        bits = arguments.dword(flags, "dwFlags")
        if bits & ~int(PeerMemberFlags.PEER_MEMBER_PRESENT):
            raise InvalidArgument(f"dwFlags {bits:#x} is neither 0 nor PEER_MEMBER_PRESENT")
        wanted = arguments.text(identity, "pwzIdentity", required=False)
        own = opened.replica[0]
        group = log.state.group
        now = self._clock()
        others = sorted(group.listed(now) - {own})
        views = []
        for name in [own, *others]:
            member = group.members.get(name)
            present = self.sync_listening(opened.replica) if name == own else member is not None and member.present(now)
            if (wanted is not None and name != wanted) or (bits and not present):
                continue
            address = self._settings.address if name == own else member.presence.address if member and member.presence else None
            credential = group.latest_credential(name)
            if name == own and credential is None and log.state.chain:
                credential = self._links(log.state.chain)[-1]
            issuer = group.credentials.get(credential.issuer) if credential and credential.issuer else None
            properties = group.properties
            views.append(MemberView(
                name, present, address if present else None, credential,
                issuer.subject if issuer else group.group_peer_name,
                issuer.subject_friendly_name if issuer else properties.friendly_name if properties else log.state.friendly_name,
            ))
        return views

    # Deleting an identity that other replicas here know ---------------------------------------

    def _retire(self, peer_name: str, deleted: Callable[[datetime], list[IdentityEvent]]) -> None:
        """Store the identity's deletion (``deleted``) and an ``IdentityRetired`` envelope in
        every synchronized replica on this peer whose member holds a credential now, each
        signed by the deleted identity's own key, in one transaction."""
        record = rules.identity_is_live(self._state, peer_name)
        keys = [
            (member.peer_name, group) for member in self._state.identities.values()
            if member.live and member.peer_name != peer_name for group in member.groups
        ]

        def decide(logs: Mapping[ReplicaKey, ReplicaLog]) -> SpreadDecision[None]:
            now = self._clock()
            retired_key: crypto.PrivateKey | None = None
            written: dict[ReplicaKey, list[ReplicaEvent]] = {}
            for key, log in logs.items():
                credential = log.state.group.credential_of(key[0], now)
                if not log.state.synchronized or credential is None:
                    continue
                retired_key = retired_key or self._identity_key(record)
                statement = credentials.sign(retired_key, admission.retirement_statement(key[1], peer_name))
                payload = IdentityRetired(peer_name, crypto.public_key_der(retired_key), statement)
                written[key] = [self._write(log, self._state.identities[key[0]], credential.fingerprint, payload, now)]
            return written, deleted(now), None

        self._execute_replicas(keys, decide)

    # The port that sync uses -----------------------------------------------------------------

    def sync_now(self) -> datetime:
        return self._clock()

    def sync_replicas_of(self, group: str) -> list[ReplicaKey]:
        """This peer's synchronized replicas of ``group``, one per identity that has it."""
        return [
            (record.peer_name, group) for record in self._state.identities.values()
            if record.live and group in record.groups and self._replica(record.peer_name, group).state.synchronized
        ]

    def sync_handles(self) -> list[tuple[str, GroupHandle]]:
        """The open handles of this process."""
        return list(self._sessions.handles())

    def sync_listening(self, key: ReplicaKey) -> bool:
        return bool(self._status(key) & PeerGroupStatus.PEER_GROUP_STATUS_LISTENING)

    def sync_replica(self, key: ReplicaKey) -> ReplicaLog:
        return self._replica(*key)

    def _accepted(self, key: ReplicaKey) -> list[Envelope]:
        """The replica's accepted envelopes, read from the store once if it was opened
        from a snapshot."""
        log = self._replica(*key)
        if log.accepted is None:
            log.accepted = self._store.accepted_envelopes(log)
        return log.accepted

    def sync_card(self, identity: str) -> bytes:
        """The identity's IDC: who it says it is, and its public key."""
        return rules.identity_is_live(self._state, identity).certificate

    def sync_sign(self, identity: str, data: bytes) -> bytes:
        return credentials.sign(self._identity_key(rules.identity_is_live(self._state, identity)), data)

    def sync_chain(self, key: ReplicaKey) -> tuple[bytes, ...]:
        """The identity's credential chain in the group now: its credential in force, else
        the one its credential invitation gave it, else () (a password joiner)."""
        state = self._replica(*key).state
        credential = state.group.credential_of(key[0], self._clock())
        return self._chain(state.group, credential) if credential is not None else state.chain

    def sync_ticket(self, key: ReplicaKey) -> bytes | None:
        """The password verifier a password joiner keeps until its first sync."""
        ticket = self._replica(*key).state.ticket
        return None if ticket is None else self._keys.take(key[1], ticket.verifier, ticket.sealed)

    def sync_missing(self, key: ReplicaKey, heads: Mapping[str, int], budget: int) -> tuple[tuple[Envelope, ...], bool]:
        """What this replica has that one whose chains stand at ``heads`` lacks, in an order
        where each envelope's dependencies come first: as many as fit in ``budget`` encoded
        bytes (one at least), and whether that is all of them."""
        missing = [envelope for envelope in self._accepted(key) if envelope.seq > heads.get(envelope.author, 0)]
        sent: list[Envelope] = []
        with young_collections_only():  # each envelope's tree is made here, a great many containers
            for envelope in missing:
                budget -= len(wire.canonical(envelope))
                if sent and budget < 0:
                    return tuple(sent), False
                sent.append(envelope)
        return tuple(sent), True

    def sync_receive(self, key: ReplicaKey, envelopes: Sequence[Envelope], source: str) -> int:
        """Judge a received batch and store it in one transaction: each envelope accepted,
        refused (recorded with its rule) or, when already here, skipped. The count accepted."""
        now = self._clock()

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            accepted: list[EnvelopeAccepted] = []
            for envelope in envelopes:
                envelope_id = admission.envelope_id(envelope)
                if envelope_id in log.known:
                    continue
                try:
                    admission.admit(log.state.group, envelope)
                except admission.Refused as refusal:
                    event: ReplicaEvent = EnvelopeRefused(
                        envelope, envelope_id, source, refusal.rule, refusal.error.name, refusal.error.message, now,
                    )
                else:
                    event = EnvelopeAccepted(envelope, envelope_id, source, now)
                    accepted.append(event)
                log.record(event)  # the next envelope is judged on the state this one left
            return [], [], accepted

        before = self._replica(*key).state.group
        with young_collections_only():  # a batch folded and written makes a great many containers, none in a cycle
            accepted = self._execute_group(key, decide)
            self._notify_changes(key, before, accepted)
        return len(accepted)

    def sync_issue_password_credential(self, key: ReplicaKey, joiner_card: bytes) -> None:
        """Authenticate a password joiner: issue it a GMC with the group's password role,
        valid from now to the end of this member's own (``PEER_E_NOT_AUTHORIZED`` when this
        member may not give out that role). A joiner the log already gives a credential
        valid now (issued at an earlier round whose group data did not all arrive yet) gets
        no second one: it finds the first in the data still to come."""
        log = self._replica(*key)
        properties = rules.replica_is_ready(log.state)
        _, role = rules.group_uses_password(properties)
        now = self._clock()
        credential = rules.caller_holds_credential(log.state.group, key[0], now)
        rules.may_grant_roles(credential, [role])
        rules.chain_has_room(credential)
        record = rules.identity_is_live(self._state, key[0])
        card = crypto.read_identity_certificate(joiner_card)
        if log.state.group.credential_of(card.peer_name, now) is not None:
            return
        issued = self._credential(credentials.issue_membership(
            self._identity_key(record), credential.der, group_peer_name=log.group, subject=card.peer_name,
            subject_friendly_name=card.friendly_name, subject_public_key=card.public_key, roles=[role],
            not_before=now, not_after=credential.not_after,
        ), credential)

        def decide(log: ReplicaLog | None) -> GroupDecision[None]:
            assert log is not None
            return [self._write(log, record, credential.fingerprint, CredentialIssued(issued, "password"), now)], [], None

        self._execute_group(key, decide)

    def sync_peer_time(self, key: ReplicaKey, remote_peer_time: datetime, source: str, asked_at: datetime) -> None:
        """Take the group's peer time from the member this replica connects to, read when
        its answer arrived to a question sent at ``asked_at`` (this machine's clock): the
        remote's time stands for the middle of that round trip, as NTP reckons, or each sync
        would count the answer's travel as the remote being slow. A replica not yet
        synchronized adopts it; a synchronized one moves a quarter of the way towards it, so
        one skewed member cannot drag the group's clock far, and a clock may step slightly
        back, as MS-PPGRH 1.3.6 says. A change under ``PEER_TIME_TOLERANCE`` is not recorded:
        a sync between agreeing clocks writes nothing."""
        log = self._replica(*key)
        now = self._clock()
        observed = remote_peer_time - (asked_at + (now - asked_at) / 2)
        current = log.state.peer_time_offset
        offset = (current * 3 + observed) / 4 if log.state.synchronized else observed
        microseconds = round(offset / timedelta(microseconds=1))
        if abs(timedelta(microseconds=microseconds) - current) >= PEER_TIME_TOLERANCE:
            self._execute_group(key, lambda _: ([PeerTimeAdjusted(microseconds, source, now)], [], None))

    def sync_peer_time_now(self, key: ReplicaKey) -> datetime:
        return self._peer_now(key)

    def sync_password_guess_allowed(self, key: ReplicaKey, joiner: str) -> None:
        """Turn a password joiner away while its guesses are throttled, keeping the
        refusal in the log (``PEER_E_CONNECTION_REFUSED``)."""
        try:
            rules.password_guess_allowed(self._replica(*key).state, joiner, self._clock())
        except PeerError as error:
            self.sync_refuse_join(key, joiner, error, "password_guess_allowed")
            raise

    def sync_refuse_join(self, key: ReplicaKey, joiner: str, error: PeerError, rule: str) -> None:
        now = self._clock()
        self._execute_group(key, lambda _: ([JoinRefused(joiner, rule, error.name, error.message, now)], [], None))

    def sync_first_synchronized(self, key: ReplicaKey, source: str) -> None:
        """The replica has the group database: a credential joiner takes its credential up,
        and once its member holds a credential the replica is ready, publishes its
        membership (unless the group makes member data optional) and its presence."""
        log = self._replica(*key)
        if log.state.synchronized or not log.state.group.founded:
            return
        now = self._clock()
        record = rules.identity_is_live(self._state, key[0])
        before = log.state.group
        status = self._status(key)

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            written = [self._publish(log, record, CredentialTaken(self._links(log.state.chain)), now)] if log.state.chain else []
            properties = log.state.group.properties
            if properties is None or log.state.group.credential_of(key[0], now) is None:
                return [], [], written
            log.record(ReplicaSynchronized(source, now))
            if not properties.flags & PeerGroupPropertyFlags.PEER_MEMBER_DATA_OPTIONAL:
                written.append(self._publish(log, record, MembershipPublished(record.friendly_name), now))
            if self._presence_due(log, now):
                written.append(self._publish(log, record, self._presence(log, now), now))
            return [], [], written

        self._notify_changes(key, before, self._execute_group(key, decide))
        self._report_status(key, status)

    def sync_refresh_presence(self, key: ReplicaKey) -> None:
        """A listening member publishes its presence again once half its lifetime is gone,
        as Windows refreshes the presence record while a member stays online."""
        log = self._replica(*key)
        now = self._clock()
        if self.sync_listening(key) and self._presence_due(log, now):
            self._republish(key, self._presence(log, now), now)

    def sync_refresh_membership(self, key: ReplicaKey) -> None:
        """A listening member publishes its membership again before its member data lapses,
        so that a member online is never dropped from the lists, and once it has lapsed,
        unless member data is optional in the group (``member_data_due``)."""
        now = self._clock()
        if self.sync_listening(key) and member_data_due(self._replica(*key).state.group, key[0], now):
            self._republish(key, MembershipPublished(rules.identity_is_live(self._state, key[0]).friendly_name), now)

    def _republish(self, key: ReplicaKey, payload: SharedEvent, now: datetime) -> None:
        """Publish ``payload`` as the replica's member, and tell registrations."""
        record = rules.identity_is_live(self._state, key[0])
        before = self._replica(*key).state.group

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            return [], [], [self._publish(log, record, payload, now)]

        self._notify_changes(key, before, self._execute_group(key, decide))

    def _presence_due(self, log: ReplicaLog, now: datetime) -> bool:
        properties = log.state.group.properties
        if properties is None or properties.flags & PeerGroupPropertyFlags.PEER_DISABLE_PRESENCE:
            return False
        if log.state.group.credential_of(log.identity, now) is None:
            return False
        member = log.state.group.members.get(log.identity)
        presence = member.presence if member is not None else None
        return (
            presence is None or presence.address != self._settings.address
            or (presence.until - now).total_seconds() * 2 < properties.presence_lifetime
        )

    def _presence(self, log: ReplicaLog, now: datetime) -> PresencePublished:
        """This machine's address, present until a presence lifetime from now."""
        assert log.state.group.properties is not None  # _presence_due
        return PresencePublished(self._settings.address, now + timedelta(seconds=log.state.group.properties.presence_lifetime))

    def sync_connected(self, key: ReplicaKey, remote: Neighbor) -> None:
        self._neighbor_changed(key, remote, PeerConnectionStatus.PEER_CONNECTED, self._sessions.connect)

    def sync_disconnected(self, key: ReplicaKey, remote: Neighbor) -> None:
        self._neighbor_changed(key, remote, PeerConnectionStatus.PEER_DISCONNECTED, self._sessions.disconnect)

    def _neighbor_changed(
        self, key: ReplicaKey, remote: Neighbor, status: PeerConnectionStatus,
        change: Callable[[ReplicaKey, Neighbor], bool],
    ) -> None:
        """Apply ``change`` to the replica's connections; a real change is a
        ``NEIGHBOR_CONNECTION`` event, and a status change a ``STATUS_CHANGED`` one."""
        before = self._status(key)
        if change(key, remote):
            self._sessions.notify(key, GroupEvent(
                PeerGroupEventType.PEER_GROUP_EVENT_NEIGHBOR_CONNECTION, connection_status=status, node=remote,
            ))
        self._report_status(key, before)

    def sync_failed(self, key: ReplicaKey, event_type: PeerGroupEventType, failure: str) -> None:
        self._sessions.notify(key, GroupEvent(event_type, failure=failure))

    def sync_connections(self, key: ReplicaKey) -> frozenset[Neighbor]:
        return self._sessions.connections(key)

