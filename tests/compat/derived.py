"""What a compatibility fixture's stores say, as plain JSON: the generator
(``make_fixtures.py``) records it from the code that wrote the stores, and
``tests/test_compat.py`` computes it again with today's code and compares.

Everything here is read by replaying logs from their rows (the identity log folded by
``domain.state.evolve``, each replica log by ``views.replica_as_of``), never from a
store's snapshots, so the comparison says whether today's fold of yesterday's events gives
yesterday's state; only the version of the snapshot a replica's open starts from is read
from the store, and the test checks apart that such an open gives the same state.
It is also where the test learns which types the canonical encoding must keep: every attrs
class reachable from the payload, event and message unions (``wire_types``), so a type
added later with no golden encoding fails the test instead of passing unpinned.
"""

from __future__ import annotations

import collections
import typing
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs

from peerstate import Peer, PeerError, sync, views, wire
from peerstate.domain.added_fields import ADDED
from peerstate.domain.events import IdentityEvent
from peerstate.domain.group_events import GROUP_VALUES, EnvelopeRefused, JoinRefused, ReplicaEvent, SharedEvent
from peerstate.domain.group_state import GroupState
from peerstate.domain.replica import ReplicaState
from peerstate.domain.state import IdentityStoreState, evolve
from peerstate.names import ROLE_NAMES
try:
    from peerstate.storage.logs import IdentityLog, LogHead
    from peerstate.storage.peer_store import SNAPSHOT_VALUES, PeerStore
except ImportError:  # the layout of a578c78, which make_fixtures.py runs on
    from peerstate.store import SNAPSHOT_VALUES, IdentityLog, LogHead, PeerStore  # type: ignore[import-not-found,no-redef]

POSTGRES_SCHEMA = "compat_fixture"
"""The schema a fixture set's PostgreSQL dump holds its stores under (``compat_fixture_alice``
...): the test loads the dump under a schema of its own in its place."""
UNIONS: dict[str, Any] = {
    "SharedEvent": SharedEvent,
    "ReplicaEvent": ReplicaEvent,
    "IdentityEvent": IdentityEvent,
    "Message": sync.Message,
}
"""The unions whose members travel or are stored tagged: a golden encoding of a member is
also decoded through its union, as a row or a sync message is."""
ROOTS: tuple[type, ...] = (*GROUP_VALUES, *SNAPSHOT_VALUES, LogHead, sync.Head)
"""The attrs classes stored or sent outside those unions: a snapshot's values and the
commit ledger's heads."""


def wire_types() -> dict[str, type]:
    """Every attrs class the canonical encoding writes in a store or a sync message, by the
    name its tag carries: the unions' members, the roots, and every attrs class their
    fields hold, transitively."""
    found: dict[str, type] = {}
    waiting: list[Any] = [*UNIONS.values(), *ROOTS]
    while waiting:
        kind = waiting.pop()
        if attrs.has(kind):
            if found.setdefault(kind.__name__, kind) is not kind:
                raise AssertionError(f"two wire classes are called {kind.__name__}: their tags would clash")
            waiting.extend(hint for name, hint in typing.get_type_hints(kind).items() if name in attrs.fields_dict(kind))
        else:
            waiting.extend(typing.get_args(kind))
    return dict(sorted(found.items()))


def unions_of(kind: type) -> list[str]:
    """The names of the unions ``kind`` is a member of."""
    return [name for name, union in UNIONS.items() if kind in typing.get_args(union)]


def text(value: Any) -> Any:
    """A value as the fixtures' JSON writes it: bytes as base64, times ISO-8601, GUIDs as
    strings, time spans in microseconds, attrs values as objects, role GUIDs by name."""
    if isinstance(value, UUID):
        return ROLE_NAMES.get(value, str(value))
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1)
    if isinstance(value, (bytes, datetime)):
        return wire.plain(value)
    if isinstance(value, (list, tuple)):
        return [text(item) for item in value]
    if attrs.has(type(value)):
        return {
            field.name: text(getattr(value, field.name)) for field in attrs.fields(type(value))
            if not (field.metadata.get(ADDED) and getattr(value, field.name) is None)  # left out, as the wire leaves it
        }
    return value


def identity_events(store: PeerStore) -> list[IdentityEvent]:
    """The payloads of the store's identity log, read from its rows."""
    return [
        event.payload for event in store.stored_log(IdentityLog.create_id("identities"))
        if isinstance(event, IdentityLog.Recorded)
    ]


def identities_replayed(store: PeerStore) -> IdentityStoreState:
    """The identity state the identity log's events fold to."""
    state = IdentityStoreState()
    for event in identity_events(store):
        state = evolve(state, event)
    return state


def replica_replayed(store: PeerStore, identity: str, group: str) -> ReplicaState:
    """The replica state its log's events fold to, from its first event."""
    state, _ = views.replica_as_of(group, store.replica_events(identity, group))
    return state


def derived_state(store: PeerStore, at: datetime) -> dict[str, Any]:
    """The store's identities and every replica it ever held, replayed from the rows, with
    each replica's members and credentials as of ``at``."""
    identities = identities_replayed(store)
    return {
        "events": store.head(),
        "protected": identities.protection is not None,
        "identity_events": [type(event).__name__ for event in identity_events(store)],
        "identities": [
            {
                "peer_name": record.peer_name, "classifier": record.classifier, "friendly_name": record.friendly_name,
                "origin": record.origin, "sealed": record.sealed, "exports": record.exports,
                "deleted": not record.live, "groups": list(record.groups),
            }
            for record in identities.identities.values()
        ],
        "replicas": [_replica(store, identity, group, at) for identity, group in store.replica_keys()],
    }


def _replica(store: PeerStore, identity: str, group: str, at: datetime) -> dict[str, Any]:
    events = store.replica_events(identity, group)
    state, _ = views.replica_as_of(group, events)
    return {
        "identity": identity,
        "group": group,
        "events": dict(sorted(collections.Counter(type(event).__name__ for event in events).items())),
        "phase": state.phase,
        "friendly_name": state.friendly_name,
        "peer_time_offset": text(state.peer_time_offset),
        "refused": state.refused,
        "refusals": [
            {"author": event.envelope.author, "seq": event.envelope.seq, "rule": event.rule, "error": event.error, "source": event.source}
            for event in events if isinstance(event, EnvelopeRefused)
        ],
        "join_refusals": [
            {"identity": event.identity, "rule": event.rule, "error": event.error}
            for event in events if isinstance(event, JoinRefused)
        ],
        "wrong_passwords": {joiner: text(guesses) for joiner, guesses in sorted(state.wrong_passwords.items())},
        "opens_from_snapshot": store.replica_log(identity, group).snapshot_version,
        "digest": views.group_digest(state.group),
        "properties": text(state.group.properties),
        "heads": {author: head.seq for author, head in sorted(state.group.heads.items())},
        "credentials": _credentials(state.group),
        "members": [text(line) for line in views.member_lines(state.group, at)],
        "retired": sorted(state.group.retired),
        "records": [text(held) for _, held in sorted(state.group.records.items(), key=lambda item: str(item[0]))],
    }


def _credentials(group: GroupState) -> list[dict[str, Any]]:
    """Every credential the group log holds, with its issuer's subject: the chains."""
    issued = sorted(group.credentials.values(), key=lambda credential: (credential.subject, credential.not_before, credential.fingerprint))
    return [
        {
            "subject": credential.subject, "roles": text(credential.roles), "chain_length": credential.chain_length,
            "issuer": group.credentials[credential.issuer].subject if credential.issuer is not None else None,
            "not_before": text(credential.not_before), "not_after": text(credential.not_after),
            "fingerprint": text(credential.fingerprint),
        }
        for credential in issued
    ]


def peer_view(peer: Peer) -> dict[str, Any]:
    """What a ``Peer`` over the store shows through its public calls: its identities, their
    groups, and for each group that is ready its properties, members and records."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for pair in peer.identities():
        groups[pair.peer_name] = []
        for group in peer.groups(pair.peer_name):
            handle = peer.open_group(pair.peer_name, group.peer_name)
            shown: dict[str, Any] = {"group": group.peer_name, "friendly_name": group.friendly_name}
            try:
                properties = peer.group_properties(handle)
            except PeerError as error:
                shown["error"] = error.name
            else:
                shown["properties"] = text(properties)
                shown["members"] = [
                    {
                        "identity": member.identity, "present": member.present, "issuer": member.issuer_name,
                        "roles": text(member.credential.roles) if member.credential else None,
                    }
                    for member in peer.members(handle)
                ]
                shown["records"] = [
                    {"id": str(held.record.id), "version": held.record.version, "data": text(held.record.data)}
                    for held in peer.records(handle)
                ]
            groups[pair.peer_name].append(shown)
    return {
        "keys_locked": peer.keys_locked,
        "identities": [[pair.peer_name, pair.friendly_name] for pair in peer.identities()],
        "groups": groups,
    }
