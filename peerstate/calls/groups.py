"""The group calls: create, open, connect, close and delete a group replica, its status and
connections, its properties, and peer time.

Each call checks in the order of the scenario contract (``docs/scenario-format.md`` §4.1):
the handle (``PEER_E_INVALID_GROUP``), the arguments (``E_INVALIDARG``), readiness
(``PEER_E_GROUP_NOT_READY``), deleted identities, authorization, chain length, and last the
keys (``PEER_E_NO_KEY_ACCESS``), because using a key is the last thing a call does before it
stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import attrs

from peerstate import crypto, names
from peerstate.bounds import MAX_PASSWORD_CHARS
from peerstate.calls import arguments, envelopes, events, identities
from peerstate.calls.runtime import GroupDecision, NamePair, Runtime
from peerstate.sync.port import Neighbor
from peerstate.constants import PeerConnectionFlags, PeerGroupAuthenticationScheme, PeerGroupStatus
from peerstate.crypto import credentials, pake
from peerstate.domain import group_rules, rules
from peerstate.domain.events import GroupAttached, GroupDetached
from peerstate.domain.group_events import (
    EnvelopeAccepted,
    GroupCreated,
    GroupProperties,
    PasswordVerifier,
    PropertiesChanged,
    ReplicaClosed,
    ReplicaConnected,
    ReplicaCreated,
    ReplicaDeleted,
)
from peerstate.domain.peer_time import converted_time_is_representable
from peerstate.storage.logs import ReplicaLog

DEFAULT_MEMBER_DATA_LIFETIME: Final = 2_419_200
DEFAULT_PRESENCE_LIFETIME: Final = group_rules.MIN_PRESENCE_LIFETIME
GMC: Final = int(PeerGroupAuthenticationScheme.PEER_GROUP_GMC_AUTHENTICATION)
PASSWORD: Final = int(PeerGroupAuthenticationScheme.PEER_GROUP_PASSWORD_AUTHENTICATION)


class _Unset:
    """A property ``set_group_properties`` was not given: it keeps its value."""


UNSET: Final = _Unset()


def _verifier(group: str, password: str, parameters: crypto.KdfParameters) -> PasswordVerifier:
    """What the group keeps of ``password``: the Argon2id parameters a joiner stretches it
    with, and an SRP verifier of the stretched value (``crypto.pake``), never a value a
    joiner could prove with."""
    made = pake.new_verifier(group, crypto.derive_key_encryption_key(password, parameters))
    return PasswordVerifier(
        parameters.salt, parameters.iterations, parameters.lanes, parameters.memory_cost, b"", made.salt, made.verifier,
    )


def resolve_cloud(runtime: Runtime, cloud: str | None, default: str = "Global_") -> str:
    """The one cloud of this peer that ``cloud`` names (``docs/scenario-format.md`` §4.6)."""
    wanted = default if cloud is None else cloud
    return group_rules.cloud_name_unambiguous(wanted, group_rules.cloud_is_known(runtime.settings.clouds, wanted))


# Creating and opening ------------------------------------------------------------------------

def create_group(
    runtime: Runtime, creator: str | None, classifier: str | None, *, cloud: str | None,
    friendly_name: str | None, comment: str | None, flags: int, member_data_lifetime: int,
    presence_lifetime: int, authentication_schemes: int, password: str | None, password_role: UUID | str | None,
) -> str:
    """Create a group whose creator, first member and administrator is ``creator``, and open
    a handle to it. The group peer name is ``<authority of the new root key>.<classifier>``."""
    creator_name = arguments.argument_is_text(creator, "pwzCreatorPeerName")
    chosen = arguments.argument_is_text(classifier, "pwzClassifier", required=False) or ""
    friendly = arguments.argument_is_text(friendly_name, "pwzFriendlyName", required=False)
    if friendly:
        names.require_friendly_name(friendly)
    remark = arguments.argument_is_text(comment, "pwzComment", required=False) or ""
    names.require_friendly_name(remark)
    wanted_cloud = arguments.argument_is_text(cloud, "pwzCloud", required=False)
    secret = arguments.argument_is_text(password, "pwzGroupPassword", required=False, max_chars=MAX_PASSWORD_CHARS)
    numbers = [
        arguments.argument_is_dword(value, parameter) for value, parameter in (
            (flags, "dwFlags"), (member_data_lifetime, "ulMemberDataLifetime"),
            (presence_lifetime, "ulPresenceLifetime"), (authentication_schemes, "dwAuthenticationSchemes"),
        )
    ]
    role = arguments.argument_is_role(password_role, "groupPasswordRole", "PEER_E_INVALID_GROUP_PROPERTIES")
    names.require_classifier(chosen, "PEER_E_INVALID_CLASSIFIER")
    flag_bits, member_lifetime, presence, schemes = numbers
    group_rules.properties_in_range(flag_bits, member_lifetime, presence, schemes)
    schemes |= GMC
    rules.password_settings_complete(schemes, bool(secret), role)
    rules.password_meets_policy(secret if schemes & PASSWORD else None, runtime.settings.password_min_length)
    group_cloud = resolve_cloud(runtime, wanted_cloud)
    names.parse_peer_name(creator_name, "PEER_E_INVALID_PEER_NAME")
    record = rules.creator_is_live(runtime.state, creator_name)
    creator_key = runtime.identity_key(record)
    rules.keys_unlocked(runtime.keys.locked)

    root_key = crypto.generate_identity_key()
    group = f"{names.authority_of(crypto.public_key_der(root_key))}.{chosen}"
    now = runtime.clock()
    root = credentials.make_group_root(root_key, group, now)
    creator_credential = envelopes.as_credential(credentials.issue_membership(
        root_key, root, group_peer_name=group, subject=creator_name,
        subject_friendly_name=record.friendly_name, subject_public_key=crypto.public_key_der(creator_key),
        roles=[names.ROLE_ADMIN], not_before=now, not_after=now + credentials.ROOT_LIFETIME,
    ), None)
    verifier = _verifier(group, secret, crypto.new_kdf_parameters()) if secret and schemes & PASSWORD else None
    properties = GroupProperties(
        group, creator_name, group_cloud, chosen, friendly or group, remark, flag_bits, member_lifetime,
        presence, schemes, verifier, role if schemes & PASSWORD else None,
    )
    key = (creator_name, group)

    def decide(log: ReplicaLog | None) -> GroupDecision[None]:
        assert log is not None
        kept, sealed = runtime.keys.keep(group, crypto.private_key_der(root_key))
        genesis = envelopes.write(runtime, log, record, creator_credential.fingerprint, GroupCreated(
            properties, root, crypto.public_key_der(root_key), creator_credential,
        ), now)
        created = ReplicaCreated(group, creator_name, group_cloud, kept, sealed, now)
        return [created, genesis], [GroupAttached(creator_name, group, now)], None

    runtime.execute_group(key, decide)
    return runtime.sessions.open(key, group_cloud)


def open_group(runtime: Runtime, identity: str | None, group_peer_name: str | None, cloud: str | None) -> str:
    """A new handle to a group the identity created or joined on this peer."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity")
    group = arguments.argument_is_text(group_peer_name, "pwzGroupPeerName")
    wanted_cloud = arguments.argument_is_text(cloud, "pwzCloud", required=False)
    replica = present(runtime, peer_name, group)
    return runtime.sessions.open((peer_name, group), resolve_cloud(runtime, wanted_cloud, replica.state.cloud))


def present(runtime: Runtime, identity: str, group: str) -> ReplicaLog:
    """The identity's replica of the group on this peer (``PEER_E_NOT_FOUND``)."""
    group_rules.group_is_here(rules.identity_is_live(runtime.state, identity), group)
    return runtime.replica(identity, group)


def groups(runtime: Runtime, identity: str | None) -> list[NamePair]:
    """The groups this identity has on this peer."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity")
    record = rules.identity_is_live(runtime.state, peer_name)
    return [NamePair(group, runtime.replica(peer_name, group).state.friendly_name) for group in record.groups]


# Connecting, closing, deleting ----------------------------------------------------------------

def connect(runtime: Runtime, handle: object, addresses: Sequence[str] | None) -> None:
    """Go online: the replica is found and synchronized at the next sync. With
    ``addresses``, only the peers at those addresses are tried."""
    opened, _ = runtime.open(handle)
    if addresses is not None:
        addresses = tuple(arguments.argument_is_filled(a, "pAddresses") for a in addresses)
        arguments.list_names_one_at_least(addresses, "pAddresses", "address")
    before = events.status(runtime, opened.replica)
    now = runtime.clock()
    runtime.execute_group(opened.replica, lambda _: ([ReplicaConnected(now)], [], None))
    opened.connected = True
    opened.addresses = addresses
    events.report_status(runtime, opened.replica, before)


def close_group(runtime: Runtime, handle: object) -> None:
    """Invalidate the handle; the replica's last handle also drops its connections."""
    opened, _ = runtime.open(handle)
    if runtime.sessions.close(handle):  # type: ignore[arg-type]  # open checked it is a handle
        now = runtime.clock()
        runtime.execute_group(opened.replica, lambda _: ([ReplicaClosed(now)], [], None))


def delete_group(runtime: Runtime, identity: str | None, group_peer_name: str | None) -> None:
    """Delete the identity's replica of the group from this peer; its handles die with it."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity", required=False)
    group = arguments.argument_is_text(group_peer_name, "pwzGroupPeerName")
    if peer_name is None:
        peer_name = identities.default_identity(runtime)
    present(runtime, peer_name, group)
    now = runtime.clock()
    runtime.execute_group(
        (peer_name, group), lambda _: ([ReplicaDeleted(now)], [GroupDetached(peer_name, group, now)], None)
    )
    runtime.sessions.forget((peer_name, group))


def require_handle(runtime: Runtime, handle: object) -> None:
    """``PEER_E_INVALID_GROUP`` unless ``handle`` is open: a call whose arguments are unpacked
    before they reach ``Peer`` checks the handle first, as §4.1's order says."""
    runtime.open(handle)


def group_status(runtime: Runtime, handle: object) -> PeerGroupStatus:
    opened, _ = runtime.open(handle)
    return events.status(runtime, opened.replica)


def connections(runtime: Runtime, handle: object, flags: object) -> list[Neighbor]:
    """The replica's live connections of the kinds ``flags`` names. Every connection here is
    a neighbour (sync's); direct connections are not made, so asking for them alone gives
    none."""
    opened, _ = runtime.open(handle)
    kinds = arguments.argument_is_dword(flags, "dwFlags")
    arguments.connection_flags_named(kinds)
    if not kinds & PeerConnectionFlags.PEER_CONNECTION_NEIGHBOR:
        return []
    return sorted(runtime.sessions.connections(opened.replica), key=str)


# Properties ----------------------------------------------------------------------------------

def group_properties(runtime: Runtime, handle: object) -> GroupProperties:
    _, log = runtime.open(handle)
    return rules.replica_is_ready(log.state)


def set_group_properties(runtime: Runtime, handle: object, changes: dict[str, Any]) -> None:
    """Change what may change; a fixed property given with another value, or a field
    ``GroupProperties`` does not have, is refused. ``password`` sets a new password (its
    verifier keeps the group's salt)."""
    opened, log = runtime.open(handle)
    given = {name: value for name, value in changes.items() if value is not UNSET}
    arguments.property_names_known(given, [field.name for field in attrs.fields(GroupProperties)])
    current = rules.replica_is_ready(log.state)
    identity = opened.replica[0]
    rules.caller_is_creator(current, identity)
    secret = given.pop("password", None)
    if secret is not None:
        secret = arguments.argument_is_text(secret, "pwzGroupPassword", max_chars=MAX_PASSWORD_CHARS)
    if "password_role" in given:
        given["password_role"] = arguments.argument_is_role(given["password_role"], "groupPasswordRole", "PEER_E_INVALID_GROUP_PROPERTIES")
    for name in ("friendly_name", "comment"):
        if name in given:
            names.require_friendly_name(arguments.argument_is_text(given[name], name), "PEER_E_INVALID_GROUP_PROPERTIES")
    for name in ("flags", "member_data_lifetime", "presence_lifetime", "authentication_schemes"):
        if name in given:
            given[name] = arguments.argument_is_dword(given[name], name)
    wanted = attrs.evolve(current, **given)
    rules.fixed_properties_unchanged(current, wanted)
    group_rules.properties_in_range(wanted.flags, wanted.member_data_lifetime, wanted.presence_lifetime, wanted.authentication_schemes)
    rules.password_settings_complete(
        wanted.authentication_schemes, bool(secret) or wanted.password is not None, wanted.password_role,
    )
    rules.password_meets_policy(secret, runtime.settings.password_min_length)
    record = rules.identity_is_live(runtime.state, identity)
    if secret is not None and current.password is not None:
        old = current.password
        wanted = attrs.evolve(wanted, password=_verifier(current.group_peer_name, secret, crypto.KdfParameters(
            old.salt, old.iterations, old.lanes, old.memory_cost,
        )))
    credential = rules.caller_holds_credential(log.state.group, identity, runtime.clock())
    now = runtime.clock()
    before = log.state.group

    def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
        assert log is not None
        accepted = envelopes.write(runtime, log, record, credential.fingerprint, PropertiesChanged(wanted), now)
        return [accepted], [], [accepted]

    events.notify_changes(runtime, opened.replica, before, runtime.execute_group(opened.replica, decide))


# Peer time -----------------------------------------------------------------------------------

def peer_time_to_universal(runtime: Runtime, handle: object, peer_time: datetime | None) -> datetime:
    """Peer time is the group's clock: it starts at the creator's clock, a joiner adopts the
    time of the member it first synchronizes with (within a bound of its own clock), and
    later syncs average it, a bounded step at a time (the sync port's ``sync_peer_time``).
    This machine's clock stands in for UTC. A time that the offset would carry outside the
    years 1 to 9999 is ``E_INVALIDARG`` (``converted_time_is_representable``)."""
    _, log = runtime.open(handle)
    moment = arguments.argument_is_time(peer_time, "pftPeerTime")
    rules.replica_is_ready(log.state)
    return converted_time_is_representable(moment, -log.state.peer_time_offset, "pftPeerTime")


def universal_to_peer_time(runtime: Runtime, handle: object, universal_time: datetime | None) -> datetime:
    _, log = runtime.open(handle)
    moment = arguments.argument_is_time(universal_time, "pftUniversalTime")
    rules.replica_is_ready(log.state)
    return converted_time_is_representable(moment, log.state.peer_time_offset, "pftUniversalTime")
