"""A peer's persistent store, through ``eventsourcing``: in memory, or one SQLite file on disk.

Each of a peer's logs is one eventsourcing aggregate whose events wrap a domain event
payload; applying one is ``domain.state.evolve``, so the store never holds rules of its own.
Events are encoded by an orjson transcoder that keeps every type it is given (bytes, tuples,
attrs values), and logs are replayed by a projector without eventsourcing's per-event
protocol assertion, which costs two thirds of replay time (``reference/eventsourcing.md`` 7.1).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid5

import attrs
import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Transcoder,
    Transcoding,
    TranscodingNotRegisteredError,
)

from peerstate.domain.events import IDENTITY_EVENTS, IdentityEvent
from peerstate.domain.group_events import (
    GROUP_VALUES,
    Envelope,
    EnvelopeAccepted,
    EnvelopeRefused,
    ReplicaCreated,
    ReplicaEvent,
    ReplicaJoined,
)
from peerstate.domain.replica import evolve_replica, new_replica
from peerstate.domain.state import IdentityStoreState, evolve

SQLITE_FILE: Final = "peer.sqlite3"
PAGE: Final = 500
_TUPLE: Final = "tuple"


class BytesAsBase64(Transcoding):
    type = bytes
    name = "b64"

    def encode(self, obj: bytes) -> str:
        return base64.b64encode(obj).decode()

    def decode(self, data: str) -> bytes:
        return base64.b64decode(data)


class AttrsAsDict(Transcoding):
    """Any attrs class by its field names; its fields are transcoded in turn."""

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__qualname__

    def encode(self, obj: Any) -> dict[str, Any]:
        return {field.name: getattr(obj, field.name) for field in attrs.fields(self.type)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


class OrjsonTranscoder(JSONTranscoder):
    """eventsourcing's JSON transcoder on orjson, keeping tuples as tuples.

    It subclasses ``JSONTranscoder`` to reuse its registry, so the application's own UUID
    and datetime transcodings still apply.
    """

    def encode(self, obj: Any) -> bytes:
        return orjson.dumps(self._tagged(obj))

    def decode(self, data: bytes) -> Any:
        return self._untagged(orjson.loads(data))

    def _tagged(self, obj: Any) -> Any:
        kind = type(obj)
        if obj is None or kind in (str, int, float, bool):
            return obj
        if kind is dict:
            return {key: self._tagged(value) for key, value in obj.items()}
        if kind is list:
            return [self._tagged(value) for value in obj]
        if kind is tuple:
            return {"_type_": _TUPLE, "_data_": [self._tagged(value) for value in obj]}
        transcoding = self.types.get(kind)
        if transcoding is None:
            raise TranscodingNotRegisteredError(f"no transcoding registered for {kind.__qualname__}")
        return {"_type_": transcoding.name, "_data_": self._tagged(transcoding.encode(obj))}

    def _untagged(self, obj: Any) -> Any:
        if type(obj) is list:
            return [self._untagged(value) for value in obj]
        if type(obj) is not dict:
            return obj
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            data = self._untagged(obj["_data_"])
            if obj["_type_"] == _TUPLE:
                return tuple(data)
            return self.names[obj["_type_"]].decode(data)
        return {key: self._untagged(value) for key, value in obj.items()}


def _project(log: Any, events: Iterable[Any]) -> Any:
    """Fold stored events into a log, without the per-event protocol assertion.
    None (no events) is how the repository learns that the log does not exist yet."""
    for event in events:
        log = event.mutate(log)
    return log


class IdentityLog(Aggregate):
    """The log of a peer's identities (one per store): every ``IdentityEvent``, in order."""

    TOPIC = "peerstate.IdentityLog"

    class Created(Aggregate.Created):
        TOPIC = "peerstate.IdentityLog.Created"
        key: str

    class Recorded(Aggregate.Event):
        TOPIC = "peerstate.IdentityLog.Recorded"
        payload: IdentityEvent

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, IdentityLog)
            aggregate.state = evolve(aggregate.state, self.payload)

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"peerstate:{key}")

    def __init__(self, key: str) -> None:
        self.key = key
        self.state = IdentityStoreState()

    def record(self, payload: IdentityEvent) -> None:
        """Append ``payload``; it is applied at once and stored at the next ``PeerStore.save``."""
        self.trigger_event(self.Recorded, payload=payload)


class ReplicaLog(Aggregate):
    """The log of one identity's replica of one group: every ``ReplicaEvent``, in order.

    Besides the folded ``state`` it keeps the accepted envelopes in the order they were
    accepted, which is an order where each one's credential and predecessor came first:
    sync sends them in that order.
    """

    TOPIC = "peerstate.ReplicaLog"

    class Created(Aggregate.Created):
        TOPIC = "peerstate.ReplicaLog.Created"
        identity: str
        group: str

    class Recorded(Aggregate.Event):
        TOPIC = "peerstate.ReplicaLog.Recorded"
        payload: ReplicaEvent

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ReplicaLog)
            aggregate.apply(self.payload)

    @staticmethod
    def create_id(identity: str, group: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"peerstate:replica:{identity}|{group}")

    def __init__(self, identity: str, group: str) -> None:
        self.identity = identity
        self.group = group
        self.state = new_replica(group)
        self.accepted: list[Envelope] = []
        self.known: set[bytes] = set()
        """Ids of every envelope accepted or refused: a batch offered again is skipped."""
        self.refusals: list[EnvelopeRefused] = []
        """Every envelope refused, with the rule that refused it: the audit's part of the log."""

    def apply(self, payload: ReplicaEvent) -> None:
        self.state = evolve_replica(self.state, payload)
        if isinstance(payload, (ReplicaCreated, ReplicaJoined)):
            self.accepted = []
            self.known = set()
        elif isinstance(payload, EnvelopeAccepted):
            self.accepted.append(payload.envelope)
            self.known.add(payload.id)
        elif isinstance(payload, EnvelopeRefused):
            self.known.add(payload.id)
            self.refusals.append(payload)

    def record(self, payload: ReplicaEvent) -> None:
        """Append ``payload``; it is applied at once and stored at the next ``PeerStore.save``."""
        self.trigger_event(self.Recorded, payload=payload)


class _PeerApplication(Application[UUID]):
    name = "PeerStore"

    def construct_transcoder(self) -> Transcoder:
        transcoder = OrjsonTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(BytesAsBase64())
        for cls in (*IDENTITY_EVENTS, *GROUP_VALUES):
            transcoder.register(AttrsAsDict(cls))


class WriteConflict(Exception):
    """Another writer appended to the same log first; reload and decide again."""


class PeerStore:
    """One peer's persistent store: what survives the peer's process."""

    def __init__(self, path: Path | None) -> None:
        if path is None:
            env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        else:
            path.mkdir(parents=True, exist_ok=True)
            env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path / SQLITE_FILE)}
        self._app = _PeerApplication(env=env)

    def identity_log(self) -> IdentityLog:
        """The peer's identity log as stored, or a new empty one for a new store."""
        try:
            log: IdentityLog = self._app.repository.get(
                IdentityLog.create_id("identities"), projector_func=_project
            )
        except AggregateNotFoundError:
            return IdentityLog(key="identities")
        return log

    def replica_log(self, identity: str, group: str) -> ReplicaLog:
        """The identity's replica of the group as stored, or a new empty one."""
        try:
            log: ReplicaLog = self._app.repository.get(
                ReplicaLog.create_id(identity, group), projector_func=_project
            )
        except AggregateNotFoundError:
            return ReplicaLog(identity=identity, group=group)
        return log

    def save(self, *logs: Aggregate) -> None:
        """Store the logs' new events in one transaction: all of them or none."""
        try:
            self._app.save(*logs)
        except IntegrityError as error:
            raise WriteConflict(str(error)) from error

    def replica_keys(self) -> list[tuple[str, str]]:
        """Every replica this store ever held, deleted ones too, in the order they were made:
        read from the notification log, so nothing a state forgets is missed."""
        keys: list[tuple[str, str]] = []
        start: int | None = 1
        while start is not None:
            page = self._app.recorder.select_notifications(start, PAGE, topics=[ReplicaLog.Created.TOPIC])
            for notification in page:
                created = self._app.mapper.to_domain_event(notification)
                assert isinstance(created, ReplicaLog.Created)
                keys.append((created.identity, created.group))
            start = page[-1].id + 1 if len(page) == PAGE else None
        return keys

    def replica_events(self, identity: str, group: str) -> list[ReplicaEvent]:
        """The replica's log as stored, event by event; ``ValueError`` names an event that
        no longer decodes (an edited row)."""
        events: list[ReplicaEvent] = []
        for stored in self._app.recorder.select_events(ReplicaLog.create_id(identity, group)):
            try:
                event = self._app.mapper.to_domain_event(stored)
            except Exception as error:  # any edit of the row: bad JSON, an unknown type, a missing field
                raise ValueError(f"event {stored.originator_version} of the replica does not decode: {error}") from None
            if isinstance(event, ReplicaLog.Recorded):
                events.append(event.payload)
        return events

    def head(self) -> int:
        """How many events the store holds in all: a call that changed nothing leaves it as it was."""
        return self._app.recorder.max_notification_id() or 0

    def close(self) -> None:
        self._app.close()


def open_store(path: Path | None) -> PeerStore:
    """The store at ``path`` (a directory, made if missing, holding one SQLite file), or a new
    in-memory store for ``None``."""
    return PeerStore(path)
