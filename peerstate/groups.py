"""The group calls of a peer: create, open, join by password, connect, close, delete,
properties, password invitations, events and peer time; and the port that ``sync`` uses.

Each call checks in the order of ``SCENARIOS.md`` 4.1: the handle (``PEER_E_INVALID_GROUP``),
the arguments (``E_INVALIDARG``), readiness (``PEER_E_GROUP_NOT_READY``), deleted identities,
authorization, chain length, and last the keys (``PEER_E_NO_KEY_ACCESS``), because using a
key is the last thing a call does before it stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import attrs

from peerstate import admission, arguments, credentials, crypto, invitations, names
from peerstate.constants import (
    PeerConnectionFlags,
    PeerConnectionStatus,
    PeerGroupAuthenticationScheme,
    PeerGroupEventType,
    PeerGroupPropertyFlags,
    PeerGroupStatus,
    PeerMemberChangeType,
)
from peerstate.core import GroupDecision, NamePair, PeerCore, SpreadDecision
from peerstate.domain import rules
from peerstate.domain.events import GroupAttached, GroupDetached, IdentityEvent
from peerstate.domain.group_events import (
    Credential,
    CredentialIssued,
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
from peerstate.domain.group_state import GroupState
from peerstate.domain.state import IdentityRecord
from peerstate.errors import InvalidArgument, NotFound, PeerError, peer_error
from peerstate.sessions import GroupEvent, GroupHandle, Neighbor, ReplicaKey
from peerstate.store import ReplicaLog

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


class _Unset:
    """A property ``set_group_properties`` was not given: it keeps its value."""


UNSET: Final = _Unset()


@attrs.frozen
class PasswordJoin:
    """What ``password_join`` returns: the handle, and whether the identity was already a member."""

    handle: str
    already_member: bool


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
        """The one cloud of this peer that ``cloud`` names (``SCENARIOS.md`` 4.6)."""
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

    def _notify_accepted(self, key: ReplicaKey, before: Mapping[str, Any], accepted: Iterable[EnvelopeAccepted]) -> None:
        """Tell registrations what accepted envelopes changed: properties and new members."""
        for event in accepted:
            payload = event.envelope.payload
            if isinstance(payload, PropertiesChanged):
                self._sessions.notify(key, GroupEvent(PeerGroupEventType.PEER_GROUP_EVENT_PROPERTY_CHANGED))
            elif isinstance(payload, MembershipPublished) and event.envelope.author not in before:
                self._sessions.notify(key, GroupEvent(
                    PeerGroupEventType.PEER_GROUP_EVENT_MEMBER_CHANGED,
                    member_change=PeerMemberChangeType.PEER_MEMBER_JOINED, identity=event.envelope.author,
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
        peer_name = arguments.text(identity, "pwzIdentity", required=False)
        text = arguments.text(invitation, "pwzInvitation")
        secret = arguments.password(password, "pwzPassword")
        wanted_cloud = arguments.text(cloud, "pwzCloud", required=False)
        offer = invitations.read_invitation(text)
        if peer_name is None:
            peer_name = self.default_identity()
        names.parse_peer_name(peer_name, "PEER_E_INVALID_PEER_NAME")
        rules.identity_is_here(self._state, peer_name, "PEER_E_INVALID_PEER_NAME")
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
                PasswordTicket(kept, sealed), now,
            )], [] if attached else [GroupAttached(peer_name, offer.group_peer_name, now)], None

        self._execute_group(key, decide)
        return PasswordJoin(self._sessions.open(key, group_cloud), False)

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
        if not kinds or kinds & ~known:
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
        before = dict(log.state.group.members)

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            accepted = self._write(log, record, credential.fingerprint, PropertiesChanged(wanted), now)
            return [accepted], [], [accepted]

        self._notify_accepted(opened.replica, before, self._execute_group(opened.replica, decide))

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
        rules.may_grant_password_role(credential, role)
        rules.chain_has_room(credential)
        record = rules.identity_is_live(self._state, identity)
        key = self._identity_key(record)
        offer = invitations.PasswordInvitation(
            opened.cloud, group.group_peer_name, properties.friendly_name, identity, record.friendly_name,
            role, verifier.salt, verifier.iterations, verifier.lanes, verifier.memory_cost, now,
            credential.not_after,
        )
        return invitations.password_invitation_xml(offer, self._chain(group, credential), key)

    def parse_invitation(self, invitation: str | None) -> invitations.PasswordInvitation:
        return invitations.read_invitation(arguments.text(invitation, "pwzInvitation"))

    @staticmethod
    def _chain(group: GroupState, credential: Credential) -> tuple[bytes, ...]:
        """The root certificate and the credential's chain up to it, root side first."""
        links = [credential.der]
        issuer = credential.issuer
        while issuer is not None:
            parent = group.credentials[issuer]
            links.append(parent.der)
            issuer = parent.issuer
        assert group.root is not None  # a credential exists only in a founded group
        return (group.root, *reversed(links))

    # Events ----------------------------------------------------------------------------------

    def register_event(self, handle: object, types: Iterable[PeerGroupEventType]) -> str:
        self._open(handle)
        return self._sessions.register(handle, types)  # type: ignore[arg-type]  # _open checked it

    def unregister_event(self, registration: object) -> None:
        self._sessions.unregister(registration)

    def event_data(self, registration: object) -> GroupEvent | None:
        """The oldest queued event of the registration; None when the queue is empty."""
        queue = self._sessions.registration(registration).queue
        return queue.popleft() if queue else None

    # Peer time -------------------------------------------------------------------------------

    def peer_time_to_universal(self, handle: object, peer_time: datetime | None) -> datetime:
        """Peer time is the group's clock; it starts at the creator's UTC and every replica
        adopts it from the one it synchronizes with, so on a simulated shared clock the
        two are equal. Issue 5 brings the offset of replicas that drift."""
        _, log = self._open(handle)
        moment = arguments.moment(peer_time, "pftPeerTime")
        rules.replica_is_ready(log.state)
        return moment

    def universal_to_peer_time(self, handle: object, universal_time: datetime | None) -> datetime:
        _, log = self._open(handle)
        moment = arguments.moment(universal_time, "pftUniversalTime")
        rules.replica_is_ready(log.state)
        return moment

    # Enumeration -----------------------------------------------------------------------------

    def groups(self, identity: str | None) -> list[NamePair]:
        """The groups this identity has on this peer."""
        peer_name = arguments.text(identity, "pwzIdentity")
        record = rules.identity_is_live(self._state, peer_name)
        return [NamePair(group, self._replica(peer_name, group).state.friendly_name) for group in record.groups]

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

    def sync_card(self, identity: str) -> bytes:
        """The identity's IDC: who it says it is, and its public key."""
        return rules.identity_is_live(self._state, identity).certificate

    def sync_sign(self, identity: str, data: bytes) -> bytes:
        return credentials.sign(self._identity_key(rules.identity_is_live(self._state, identity)), data)

    def sync_chain(self, key: ReplicaKey) -> tuple[bytes, ...]:
        """The identity's credential chain in the group now, or () when it holds none."""
        group = self._replica(*key).state.group
        credential = group.credential_of(key[0], self._clock())
        return self._chain(group, credential) if credential is not None and group.root else ()

    def sync_ticket(self, key: ReplicaKey) -> bytes | None:
        """The password verifier a password joiner keeps until its first sync."""
        ticket = self._replica(*key).state.ticket
        return None if ticket is None else self._keys.take(key[1], ticket.verifier, ticket.sealed)

    def sync_missing(self, key: ReplicaKey, heads: Mapping[str, int]) -> tuple[Envelope, ...]:
        """What this replica has that one whose chains stand at ``heads`` lacks, in an order
        where each envelope's dependencies come first."""
        return tuple(
            envelope for envelope in self._replica(*key).accepted
            if envelope.seq > heads.get(envelope.author, 0)
        )

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

        before = dict(self._replica(*key).state.group.members)
        accepted = self._execute_group(key, decide)
        self._notify_accepted(key, before, accepted)
        return len(accepted)

    def sync_issue_password_credential(self, key: ReplicaKey, joiner_card: bytes) -> None:
        """Authenticate a password joiner: issue it a GMC with the group's password role,
        valid from now to the end of this member's own (``PEER_E_NOT_AUTHORIZED`` when this
        member may not give out that role)."""
        log = self._replica(*key)
        properties = rules.replica_is_ready(log.state)
        _, role = rules.group_uses_password(properties)
        now = self._clock()
        credential = rules.caller_holds_credential(log.state.group, key[0], now)
        rules.may_grant_password_role(credential, role)
        rules.chain_has_room(credential)
        record = rules.identity_is_live(self._state, key[0])
        card = crypto.read_identity_certificate(joiner_card)
        issued = self._credential(credentials.issue_membership(
            self._identity_key(record), credential.der, group_peer_name=log.group, subject=card.peer_name,
            subject_friendly_name=card.friendly_name, subject_public_key=card.public_key, roles=[role],
            not_before=now, not_after=credential.not_after,
        ), credential)

        def decide(log: ReplicaLog | None) -> GroupDecision[None]:
            assert log is not None
            return [self._write(log, record, credential.fingerprint, CredentialIssued(issued, "password"), now)], [], None

        self._execute_group(key, decide)

    def sync_refuse_join(self, key: ReplicaKey, joiner: str, error: PeerError, rule: str) -> None:
        now = self._clock()
        self._execute_group(key, lambda _: ([JoinRefused(joiner, rule, error.name, error.message, now)], [], None))

    def sync_first_synchronized(self, key: ReplicaKey, source: str) -> None:
        """The replica has the group database and its member a credential: it is ready, and
        publishes its membership unless the group makes that optional."""
        log = self._replica(*key)
        if log.state.synchronized:
            return
        now = self._clock()
        record = rules.identity_is_live(self._state, key[0])
        credential = log.state.group.credential_of(key[0], now)
        properties = log.state.group.properties
        if credential is None or properties is None:
            return
        before = dict(log.state.group.members)
        status = self._status(key)

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            synchronized = ReplicaSynchronized(source, now)
            if properties.flags & PeerGroupPropertyFlags.PEER_MEMBER_DATA_OPTIONAL:
                return [synchronized], [], []
            published = self._write(log, record, credential.fingerprint, MembershipPublished(record.friendly_name), now)
            return [synchronized, published], [], [published]

        self._notify_accepted(key, before, self._execute_group(key, decide))
        self._report_status(key, status)

    def sync_connected(self, key: ReplicaKey, remote: Neighbor) -> None:
        status = self._status(key)
        if self._sessions.connect(key, remote):
            self._sessions.notify(key, GroupEvent(
                PeerGroupEventType.PEER_GROUP_EVENT_NEIGHBOR_CONNECTION,
                connection_status=PeerConnectionStatus.PEER_CONNECTED, node=remote,
            ))
        self._report_status(key, status)

    def sync_disconnected(self, key: ReplicaKey, remote: Neighbor) -> None:
        status = self._status(key)
        if self._sessions.disconnect(key, remote):
            self._sessions.notify(key, GroupEvent(
                PeerGroupEventType.PEER_GROUP_EVENT_NEIGHBOR_CONNECTION,
                connection_status=PeerConnectionStatus.PEER_DISCONNECTED, node=remote,
            ))
        self._report_status(key, status)

    def sync_failed(self, key: ReplicaKey, event_type: PeerGroupEventType, failure: str) -> None:
        self._sessions.notify(key, GroupEvent(event_type, failure=failure))

    def sync_connections(self, key: ReplicaKey) -> frozenset[Neighbor]:
        return self._sessions.connections(key)

