"""A peer's persistent store, through ``eventsourcing``: in memory, or one SQLite file on disk.

Each of a peer's logs is one eventsourcing aggregate whose events wrap a domain event
payload; applying one is ``domain.state.evolve``, so the store never holds rules of its own.
Rows are written as ``store_format`` says, and logs are replayed by a projector without
eventsourcing's per-event protocol assertion, which costs two thirds of replay time (``reference/eventsourcing.md`` 7.1).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar, cast
from uuid import NAMESPACE_URL, UUID, uuid5

import attrs
import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, OriginatorIDError, OriginatorVersionError
from eventsourcing.domain import Snapshot as AggregateSnapshot
from eventsourcing.utils import get_topic, register_topic
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, StoredEvent

from peerstate.domain.events import IdentityEvent
from peerstate.domain.group_events import (
    GROUP_VALUES,
    Envelope,
    EnvelopeAccepted,
    EnvelopeRefused,
    ReplicaCreated,
    ReplicaEvent,
    ReplicaJoined,
    RecordPublished,
)
from peerstate import wire
from peerstate.storage.bulk import young_collections_only
from peerstate.storage.store_format import (
    AttrsAsDict,
    BytesAsBase64,
    GroupStateAsFields,
    GroupStateFields,
    NO_MEMBER_DATA,
    MapAsPairs,
    RecordsAsVersions,
    RowMapper,
    SetAsList,
    SnapshotTranscoder,
    TimedeltaAsMicroseconds,
    WireValue,
    maps_in_key_order,
)
from peerstate.errors import InvalidArgument
from peerstate.storage.locations import FROM_ENVIRONMENT, POOL, SQLITE_FILE, Location, is_postgres, postgres_environment, with_schema
from peerstate.domain.group_state import AuthorHead, Member
from peerstate.domain.records import RecordVersion
from peerstate.domain.replica import Guesses, ReplicaState, accept_envelopes, evolve_replica, new_replica
from peerstate.domain.state import IdentityStoreState, evolve
from peerstate.storage.sqlite_reads import LogRowsRecorder
from peerstate.storage.writer_turns import AdvisoryLock, LockFile, ProcessLock, WriterTurn

PAGE: Final = 500
_Log = TypeVar("_Log", bound=Aggregate)


def chain_start(originator_id: UUID, created_on: datetime) -> bytes:
    """Where a log's hash chain starts: the log's id and the moment it was made."""
    return wire.digest(["peerstate log", str(originator_id), created_on])


def chain_link(previous: bytes, version: int, timestamp: datetime, payload: Any) -> bytes:
    """The link each recorded event stores: a hash of the link before, its place in the
    log, its timestamp and its payload, so an edit of any byte of any row breaks the chain
    from there on (``audit`` walks it)."""
    return wire.digest([previous, version, timestamp, payload])


def _record_chained(log: Any, event_class: type[Any], payload: Any) -> None:
    """Append ``payload`` to ``log`` as the next link of its chain."""
    timestamp = event_class.create_timestamp()
    previous = log.link or chain_start(log.id, log.created_on)
    link = chain_link(previous, log.version + 1, timestamp, payload)
    log.trigger_event(event_class, payload=payload, timestamp=timestamp, link=link)


RUN: Final = 32
"""Accepted envelopes folded at once as a log is read: a run makes one new state instead of
one per envelope. Short, so that a run's decoded events are folded while still in the CPU's
caches: on the bench's 10k log, runs of 1,000 were no faster than one envelope at a time,
runs of 10 to 30 saved a tenth of an open."""


def project_log(log: Any, events: Iterable[Any]) -> Any:
    """Fold stored events into a log, without the per-event protocol assertion, a replica's
    runs of accepted envelopes a run at a time (``ReplicaLog.Recorded.mutate_run``).
    None (no events) is how the repository learns that the log does not exist yet."""
    run: list[Any] = []
    for event in events:
        if type(event) is ReplicaLog.Recorded and type(event.payload) is EnvelopeAccepted:
            run.append(event)
            if len(run) == RUN:
                log, run = ReplicaLog.Recorded.mutate_run(run, log), []
        else:
            if run:
                log, run = ReplicaLog.Recorded.mutate_run(run, log), []
            log = event.mutate(log)
    return ReplicaLog.Recorded.mutate_run(run, log) if run else log


class IdentityLog(Aggregate):
    """The log of a peer's identities (one per store): every ``IdentityEvent``, in order."""

    TOPIC = "peerstate.IdentityLog"

    class Created(Aggregate.Created):
        TOPIC = "peerstate.IdentityLog.Created"
        key: str

    class Recorded(Aggregate.Event):
        TOPIC = "peerstate.IdentityLog.Recorded"
        payload: IdentityEvent
        link: bytes = b""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, IdentityLog)
            aggregate.state = evolve(aggregate.state, self.payload)
            aggregate.link = self.link

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"peerstate:{key}")

    def __init__(self, key: str) -> None:
        self.key = key
        self.state = IdentityStoreState()
        self.link = b""

    def record(self, payload: IdentityEvent) -> None:
        """Append ``payload``; it is applied at once and stored at the next ``PeerStore.save``."""
        _record_chained(self, self.Recorded, payload)


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
        link: bytes = b""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, ReplicaLog)
            aggregate.apply(self.payload)
            aggregate.link = self.link

        @staticmethod
        def mutate_run(run: Sequence[ReplicaLog.Recorded], log: ReplicaLog | None) -> ReplicaLog:
            """What ``mutate`` of each event of ``run`` in turn does, when each accepts an
            envelope: the same checks, and the envelopes folded at once (``ReplicaLog.accept``)."""
            assert log is not None
            version = log.version
            for event in run:
                version += 1
                if event.originator_id != log.id:
                    raise OriginatorIDError(event.originator_id, log.id)
                if event.originator_version != version:
                    raise OriginatorVersionError(event.originator_version, version)
            log.accept([cast(EnvelopeAccepted, event.payload) for event in run])
            last = run[-1]
            log.version, log.modified_on, log.link = last.originator_version, last.timestamp, last.link
            return log

    class Snapshot(AggregateSnapshot):
        """The log's attributes at one version: its derived state, the ids it knows, its
        chain's last link; what an open starts from instead of the log's first event. The
        accepted envelopes are left out: the state holds what they say, and only a sync
        that serves them or an export needs them, read then from the events
        (``PeerStore.accepted_envelopes``); a snapshot holding them would cost as much to
        read as the events."""

        TOPIC = "peerstate.ReplicaLog.Snapshot"

        @classmethod
        def take(cls, aggregate: Any) -> Any:
            snapshot = super().take(aggregate)
            del snapshot.state["accepted"]
            return snapshot

        def mutate(self, _: None) -> Any:
            """The log as the snapshot holds it; ``EarlierSnapshot`` for a snapshot written
            before the group state kept member data, which cannot give the log."""
            log: Any = super().mutate(None)
            if log.state.group.member_data is NO_MEMBER_DATA:
                raise EarlierSnapshot(self.originator_version)
            log.accepted = None
            return log

    @staticmethod
    def create_id(identity: str, group: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"peerstate:replica:{identity}|{group}")

    def __init__(self, identity: str, group: str) -> None:
        self.identity = identity
        self.group = group
        self.state = new_replica(group)
        self.accepted: list[Envelope] | None = []
        """The accepted envelopes in the order they were accepted, an order where each
        one's credential and predecessor came first, as sync sends them; None when the log
        was opened from a snapshot and they were not read yet."""
        self.known: set[bytes] = set()
        """Ids of every envelope accepted or refused: a batch offered again is skipped."""
        self.refusals: list[EnvelopeRefused] = []
        """Every envelope refused, with the rule that refused it: the audit's part of the log."""
        self.link = b""
        """The last link of the log's hash chain (``chain_link``)."""
        self.published: list[UUID] = []
        """The record ids of the accepted record envelopes, in order: what a look at the
        records since the last needs to read (``record_watch``)."""
        self.snapshot_version = 0
        """The version of the log's latest snapshot this process knows of."""

    def apply(self, payload: ReplicaEvent) -> None:
        if isinstance(payload, EnvelopeAccepted):
            self.accept((payload,))
            return
        self.state = evolve_replica(self.state, payload)
        if isinstance(payload, (ReplicaCreated, ReplicaJoined)):
            self.accepted = []
            self.known = set()
            self.published = []
        elif isinstance(payload, EnvelopeRefused):
            self.known.add(payload.id)
            self.refusals.append(payload)

    def accept(self, run: Sequence[EnvelopeAccepted]) -> None:
        """Apply a run of accepted envelopes, folded at once (``accept_envelopes``)."""
        self.state = accept_envelopes(self.state, run)
        for payload in run:
            if self.accepted is not None:
                self.accepted.append(payload.envelope)
            self.known.add(payload.id)
            if isinstance(payload.envelope.payload, RecordPublished):
                self.published.append(payload.envelope.payload.record.id)

    def record(self, payload: ReplicaEvent) -> None:
        """Append ``payload``; it is applied at once and stored at the next ``PeerStore.save``."""
        _record_chained(self, self.Recorded, payload)


register_topic(ReplicaLog.Snapshot.TOPIC, ReplicaLog.Snapshot)  # eventsourcing registers only the events


class EarlierSnapshot(Exception):
    """A snapshot written before the group state kept member data (``NO_MEMBER_DATA``): a
    log is not opened from it but replayed from its events, and the audit reads it as a row
    only, since no open believes what it says."""

    def __init__(self, version: int) -> None:
        super().__init__(f"the snapshot of version {version} was written before the group state kept member data")
        self.version = version


@attrs.frozen
class LogHead:
    """Where one log stood after a commit: its last version and that event's chain link."""

    log: UUID
    version: int
    link: bytes


class CommitLedger(Aggregate):
    """The store's own log of commits: each commit that wrote events adds one entry naming
    the head of every log it wrote. A log's rows deleted from its end no longer match the
    ledger, unless the whole of the store's latest commits went with them.

    Its events are written directly, never through an aggregate object, so that a commit
    needs only the ledger's last entry, never its whole history."""

    TOPIC = "peerstate.CommitLedger"
    ID: Final = uuid5(NAMESPACE_URL, "peerstate:ledger")

    class Created(Aggregate.Created):
        TOPIC = "peerstate.CommitLedger.Created"

    class Recorded(Aggregate.Event):
        TOPIC = "peerstate.CommitLedger.Recorded"
        payload: tuple[LogHead, ...]
        link: bytes = b""


LEDGER_START: Final = wire.digest(["peerstate ledger", str(CommitLedger.ID)])


SNAPSHOT_VALUES: Final = (*GROUP_VALUES, Member, AuthorHead, Guesses, RecordVersion)
"""The attrs values a replica's derived state holds: a snapshot stores them as ``wire``
trees."""
SNAPSHOT_EVERY: Final = 500
"""Events between two snapshots of a replica log at least; more for a large state
(``snapshot_due``)."""


def snapshot_due(log: ReplicaLog) -> bool:
    """Whether to store a snapshot of ``log`` now. Opening a log reads its latest snapshot
    and replays the events since, so the interval bounds what an open replays; it grows
    with the state (half as many events as the envelope ids it knows), so that an open
    costs what the state holds, never what the log's length is, and writing snapshots
    costs about one more encoding of each envelope however large the group: a log of
    envelopes only is snapshotted each time its length doubles. (An interval of as many
    events as the state holds would never end for such a log: its state grows as fast.)

    A replica still on its first sync (``joined``) is not snapshotted: that sync writes the
    whole log a batch at a time, and a snapshot each time it doubled would encode the
    growing state over again, as much work as the rest of the sync. It is snapshotted once
    synchronized."""
    if log.state.phase == "joined":
        return False
    return log.version - log.snapshot_version >= max(SNAPSHOT_EVERY, len(log.known) // 2)


EVENT_ROWS: Final = (
    IdentityLog.Created, IdentityLog.Recorded, ReplicaLog.Created, ReplicaLog.Recorded,
    CommitLedger.Created, CommitLedger.Recorded,
)
"""The events whose rows hold canonical trees typed by their fields (``store_format``)."""


class _PeerApplication(Application[UUID]):
    name = "PeerStore"
    is_snapshotting_enabled = True

    def construct_mapper(self) -> Mapper[UUID]:
        transcoder = self.construct_transcoder()
        transcoder.register(GroupStateAsFields())
        return RowMapper(transcoder, typed=EVENT_ROWS)

    def construct_transcoder(self) -> SnapshotTranscoder:
        transcoder = SnapshotTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in (BytesAsBase64(), MapAsPairs(), SetAsList(), TimedeltaAsMicroseconds(), RecordsAsVersions()):
            transcoder.register(transcoding)
        transcoder.register(AttrsAsDict(ReplicaState))
        transcoder.register(GroupStateFields())
        for value in SNAPSHOT_VALUES:
            transcoder.register(WireValue(value))

    @functools.cached_property
    def earlier_snapshots(self) -> Mapper[UUID]:
        """Snapshots as peerstate wrote them before it listed a group's records as their
        versions (``GroupStateAsFields``): a snapshot of that time is read as any other,
        and is exactly as peerstate wrote it if this writes it back the same."""
        return Mapper(self.construct_transcoder())


class WriteConflict(Exception):
    """Another writer appended to the same log first; reload and decide again."""


class NotAStore(Exception):
    """A read-only open found no peerstate store where it looked: reading a location must
    neither make a store there nor change what is there, so it stops instead."""


class PeerStore:
    """One peer's persistent store: what survives the peer's process."""

    def __init__(self, location: Location, *, read_only: bool = False) -> None:
        settings = _read_only(_settings(location, make=False)) if read_only else _settings(location)
        writable_postgres = is_postgres_settings(settings) and not read_only
        self._app = _open_postgres(settings) if writable_postgres else _PeerApplication(env=settings)
        self._turn = WriterTurn(None if read_only else _process_lock(settings))
        self._listeners: list[Callable[[], None]] = []
        self._ledger: tuple[int, bytes] | None = None
        """The ledger's last version and link, as this store object last read or wrote them."""

    def turn(self) -> WriterTurn:
        """The store's writers' turn (``writer_turns``): every save takes it, and a call made
        again after a lost race holds it throughout."""
        return self._turn

    def ledger_version(self) -> int:
        """How many commits the store holds now: read before a peer reads its logs, it is
        where the peer starts looking for other writers' commits (``changed_logs``)."""
        self._ledger = None
        return self._ledger_head()[0]

    def changed_logs(self, since: int) -> tuple[set[UUID], int]:
        """The logs committed to after the ledger's version ``since`` (read from the ledger's
        entries, which name them), and its version now."""
        changed: set[UUID] = set()
        for row in self._app.recorder.select_events(CommitLedger.ID, gt=since):
            entry = self._app.mapper.to_domain_event(row)
            assert isinstance(entry, CommitLedger.Recorded)
            changed.update(head.log for head in entry.payload)
            since = entry.originator_version
            if self._ledger is None or since > self._ledger[0]:
                self._ledger = (since, entry.link)
        return changed, since

    def caught_up(self, log: _Log) -> _Log:
        """``log`` with the events other writers stored since it was read applied in turn; a
        log that was never stored (it still holds its creation) is read whole instead."""
        if log.pending_events:
            stored: _Log | None = self._stored(log.id)
            return stored if stored is not None else log
        with young_collections_only():
            rows = self._app.recorder.select_events(log.id, gt=log.version)
            caught: _Log = project_log(log, map(self._app.mapper.to_domain_event, rows))
        return caught

    def identity_log(self) -> IdentityLog:
        """The peer's identity log as stored, or a new empty one for a new store."""
        log: IdentityLog | None = self._stored(IdentityLog.create_id("identities"))
        return log if log is not None else IdentityLog(key="identities")

    def replica_log(self, identity: str, group: str) -> ReplicaLog:
        """The identity's replica of the group as stored, or a new empty one."""
        log: ReplicaLog | None = self._stored(ReplicaLog.create_id(identity, group))
        return log if log is not None else ReplicaLog(identity=identity, group=group)

    def replayed(self, log_id: UUID) -> Any:
        """The log from all its events, with no snapshot: what an open costs without one."""
        with young_collections_only():
            return project_log(None, map(self._app.mapper.to_domain_event, self._app.recorder.select_events(log_id)))

    def _stored(self, log_id: UUID) -> Any:
        """The log as its latest snapshot and the events since give it; None if it has none.
        A latest snapshot of an earlier state (``EarlierSnapshot``) is not opened from: the
        log is replayed from its events, as if it had no snapshot, so that its next write
        takes one of today's form and the opens after it start from that again."""
        try:
            with young_collections_only():
                return self._app.repository.get(log_id, projector_func=project_log)
        except AggregateNotFoundError:
            return None
        except EarlierSnapshot:
            return self.replayed(log_id)

    def save(self, *logs: Aggregate) -> int | None:
        """Store the logs' new events and the ledger's entry for them in one transaction:
        all of them or none; then tell whoever listens for commits (an exception of theirs
        comes after the events are stored). The result is the entry's version (None when
        there was nothing to store)."""
        written = [log for log in logs if log.pending_events]
        if not written:
            return None
        with self._turn:
            version, previous = self._ledger_head()
            heads = tuple(LogHead(log.id, log.version, getattr(log, "link", b"")) for log in written)
            timestamp = CommitLedger.Recorded.create_timestamp()
            entry = cast(Any, CommitLedger.Recorded)(  # built directly: the ledger has no aggregate object
                originator_id=CommitLedger.ID, originator_version=version + 1, timestamp=timestamp, payload=heads,
                link=chain_link(previous, version + 1, timestamp, heads),
            )
            try:
                self._app.save(*written, entry)
            except IntegrityError as error:
                self._ledger = None  # another writer committed: read the ledger's head again
                raise WriteConflict(str(error)) from error
            self._ledger = (entry.originator_version, entry.link)
        self._snapshot([log for log in written if isinstance(log, ReplicaLog) and snapshot_due(log)])
        for listener in list(self._listeners):
            listener()
        return version + 1

    def _snapshot(self, logs: list[ReplicaLog]) -> None:
        """Store a snapshot of each log as it now stands, after its events are committed: a
        snapshot lost to a crash costs only a longer open."""
        if not logs or self._app.snapshots is None:
            return
        for log in logs:
            log.snapshot_version = log.version
        try:
            with young_collections_only():  # the state's trees: as many containers as it holds values
                self._app.snapshots.put([ReplicaLog.Snapshot.take(log) for log in logs])
        except IntegrityError:  # another process stored a snapshot of the same version
            pass

    def accepted_envelopes(self, log: ReplicaLog) -> list[Envelope]:
        """The envelopes ``log`` accepted, in order, read from its stored events and its
        pending ones: what a log opened from a snapshot does not hold until asked."""
        with young_collections_only():
            stored = self._app.recorder.select_events(log.id, lte=log.version - len(log.pending_events))
            events = [*map(self._app.mapper.to_domain_event, stored), *log.pending_events]
        envelopes: list[Envelope] = []
        for event in events:
            payload = getattr(event, "payload", None)
            if isinstance(payload, (ReplicaCreated, ReplicaJoined)):
                envelopes = []
            elif isinstance(payload, EnvelopeAccepted):
                envelopes.append(payload.envelope)
        return envelopes

    def stored_snapshots(self, originator_id: UUID) -> list[Any]:
        """A log's snapshots as stored, in version order (``ValueError`` as ``stored_log``)."""
        if self._app.snapshots is None:
            return []
        try:
            rows = self._app.snapshots.recorder.select_events(originator_id)
        except ValueError as error:
            raise ValueError(f"the snapshot rows of the log do not read: {error}") from None
        return [self._decoded(stored) for stored in rows]

    def _ledger_head(self) -> tuple[int, bytes]:
        if self._ledger is None:
            last = self._app.recorder.select_events(CommitLedger.ID, desc=True, limit=1)
            if not last:
                self._ledger = (0, LEDGER_START)
            else:
                entry = self._app.mapper.to_domain_event(last[0])
                assert isinstance(entry, CommitLedger.Recorded)
                self._ledger = (entry.originator_version, entry.link)
        return self._ledger

    def on_commit(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after each commit of this process; the result stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def notifications(self, after: int = 0) -> Iterator[tuple[int, UUID, Any]]:
        """Every stored event after position ``after``, in commit order: its position, its
        log's id and the event (eventsourcing's notification log)."""
        start: int | None = after + 1
        while start is not None:
            page = self._app.recorder.select_notifications(start, PAGE)
            for notification in page:
                yield notification.id, UUID(str(notification.originator_id)), self._app.mapper.to_domain_event(notification)
            start = page[-1].id + 1 if len(page) == PAGE else None

    def originators(self) -> set[UUID]:
        """The id of every log that has a row in this store."""
        found: set[UUID] = set()
        start: int | None = 1
        while start is not None:
            page = self._app.recorder.select_notifications(start, PAGE)
            found.update(UUID(str(notification.originator_id)) for notification in page)
            start = page[-1].id + 1 if len(page) == PAGE else None
        return found

    def replica_keys(self) -> list[tuple[str, str]]:
        """Every replica this store ever held, deleted ones too, in the order they were made:
        read from the notification log, so nothing a state forgets is missed."""
        keys: list[tuple[str, str]] = []
        start: int | None = 1
        while start is not None:
            page = self._app.recorder.select_notifications(start, PAGE, topics=[ReplicaLog.Created.TOPIC])
            for notification in page:
                created = self._decoded(notification)
                if not isinstance(created, ReplicaLog.Created):
                    raise ValueError(f"a row of topic {notification.topic} is not a replica's creation")
                keys.append((created.identity, created.group))
            start = page[-1].id + 1 if len(page) == PAGE else None
        return keys

    def _decoded(self, stored: StoredEvent) -> Any:
        """The event a row holds, if the row is exactly as peerstate writes it: it decodes,
        has its class's fields and no others, and encodes back to the same row (a snapshot:
        as peerstate writes it now, or wrote it before, ``earlier_snapshots``); else
        ``ValueError``. Lenient readings (a date with another separator, a GUID in capitals)
        therefore count as edits."""
        try:
            event = self._app.mapper.to_domain_event(stored)
            fields = {field.name for field in dataclasses.fields(cast(Any, event))}
            again = self._app.mapper.to_stored_event(event)
            if again.state != stored.state and stored.topic == ReplicaLog.Snapshot.TOPIC:
                again = self._snapshot_as_written(event, again, stored.state)
        except Exception as error:  # any edit of the row: bad JSON, an unknown type, a missing field
            raise ValueError(f"event {stored.originator_version} of a log does not decode: {error}") from None
        same = (again.originator_id, again.originator_version, again.topic, again.state) == (
            stored.originator_id, stored.originator_version, stored.topic, stored.state,
        )
        if set(vars(event)) != fields or not same:
            raise ValueError(
                f"event {stored.originator_version} of a log is not as peerstate writes it: "
                "a field renamed, or a value spelled another way"
            )
        return event

    def _snapshot_as_written(self, snapshot: Any, today: StoredEvent, state: bytes) -> StoredEvent:
        """The row ``snapshot`` would be if peerstate had written it ``state``'s way, given
        ``today``'s: in today's form or an earlier one (``earlier_snapshots``), its maps in
        key order or, as before they were, in the order of the writing process's hashes.
        The row differs from ``state`` only where ``state`` is none of those ways."""
        as_read = maps_in_key_order(orjson.loads(state))
        for row in (today, self._app.earlier_snapshots.to_stored_event(snapshot)):
            if maps_in_key_order(orjson.loads(row.state)) == as_read:
                return dataclasses.replace(row, state=state)
        return today

    def stored_log(self, originator_id: UUID) -> list[Any]:
        """A log's events as stored, row by row, in version order; ``ValueError`` names a
        row that no longer decodes (an edited one)."""
        with young_collections_only():
            try:
                rows = self._app.recorder.select_events(originator_id)
            except ValueError as error:  # a column edited out of its type
                raise ValueError(f"the rows of the log do not read: {error}") from None
            return [self._decoded(stored) for stored in rows]

    def replica_events(self, identity: str, group: str) -> list[ReplicaEvent]:
        """The payloads of the replica's log as stored (``ValueError`` as ``stored_log``)."""
        return [
            event.payload for event in self.stored_log(ReplicaLog.create_id(identity, group))
            if isinstance(event, ReplicaLog.Recorded)
        ]

    def head(self) -> int:
        """How many events the store holds in all: a call that changed nothing leaves it as it was."""
        return self._app.recorder.max_notification_id() or 0

    def close(self) -> None:
        self._app.close()
        self._turn.close()


def open_store(location: Location, *, read_only: bool = False) -> PeerStore:
    """The store at ``location`` (``locations``): a directory, made if missing, holding one
    SQLite file; a schema of a PostgreSQL database, made if missing; or, for None, a new
    store in memory.

    ``read_only`` is for reading a store that is already there (the commands that show and
    verify stores): nothing is made, no directory, schema or table, and a SQLite file is
    opened read-only, so that not a byte of it changes; ``NotAStore`` when the location
    holds no peerstate tables. Such a store is for reading only: on PostgreSQL nothing but
    the caller keeps it from being written."""
    return PeerStore(location, read_only=read_only)


def _connect(env: dict[str, str]) -> Any:
    import psycopg  # only a PostgreSQL store needs it: the ``postgres`` extra

    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"] or None, password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
    )


def _settings(location: Location, *, make: bool = True) -> dict[str, str]:
    """eventsourcing's settings for the store at ``location``; a SQLite store's directory
    is made first, unless ``make`` is false."""
    if location is None:
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if location == FROM_ENVIRONMENT:
        return _environment_settings()
    if is_postgres(location):
        assert isinstance(location, str)
        return postgres_environment(location)
    path = Path(location)
    if make:
        path.mkdir(parents=True, exist_ok=True)
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path / SQLITE_FILE), **_SQLITE_READS}


def _read_only(settings: dict[str, str]) -> dict[str, str]:
    """``settings`` that read what is there and make nothing: no table is made, and a SQLite
    file is opened read-only (SQLite's ``mode=ro``). ``NotAStore`` unless peerstate's tables
    are there, since eventsourcing would make them; but a database with no table at all is
    what a store's making leaves when it is cut short (Ctrl-C, a crash): it reads as the
    empty store it is, from memory, so that nothing is made in it either."""
    module = settings["PERSISTENCE_MODULE"]
    if module == "eventsourcing.sqlite":
        settings = {**settings, "SQLITE_DBNAME": _read_only_uri(settings["SQLITE_DBNAME"])}
        tables = _sqlite_tables(settings["SQLITE_DBNAME"])
    elif is_postgres_settings(settings):
        tables = _postgres_tables(settings)
    else:
        raise NotAStore(f"a store of {module} lives in memory: there is none to read")
    if not tables:
        return _settings(None)
    missing = [table for table in _store_tables(settings) if table not in tables]
    if missing:
        raise NotAStore(f"it has no table {' or '.join(missing)}")
    return {**settings, "CREATE_TABLE": "n"}


def _store_tables(settings: dict[str, str]) -> tuple[str, str]:
    """The tables of a store's events and snapshots, as eventsourcing names them: after the
    application on PostgreSQL (``peerstore_events``), ``stored_`` on SQLite."""
    prefix = _PeerApplication.name.lower() if is_postgres_settings(settings) else "stored"
    return f"{prefix}_events", f"{prefix}_snapshots"


def _read_only_uri(database: str) -> str:
    """The SQLite database named by a path or a ``file:`` URI, as a URI that opens it read-only."""
    uri = database if database.startswith("file:") else Path(database).absolute().as_uri()
    return f"{uri}{'&' if '?' in uri else '?'}mode=ro"


def _sqlite_tables(uri: str) -> set[str]:
    with closing(sqlite3.connect(uri, uri=True)) as database:
        return {name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _postgres_tables(env: dict[str, str]) -> set[str]:
    with _connect(env) as connection:
        rows = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (env["POSTGRES_SCHEMA"],),
        ).fetchall()
    return {row[0] for row in rows}


_SQLITE_READS: Final = {"APPLICATION_RECORDER_TOPIC": get_topic(LogRowsRecorder)}
"""A SQLite store's logs are read by ``LogRowsRecorder``, unless the environment names another recorder."""


def _environment_settings() -> dict[str, str]:
    """The settings eventsourcing's environment variables give; on PostgreSQL, with
    peerstate's small pool and its schema made, unless the environment says otherwise."""
    given = {
        key: value for key, value in os.environ.items()
        if key.startswith(("PERSISTENCE_", "SQLITE_", "POSTGRES_")) or key == "APPLICATION_RECORDER_TOPIC"
    }
    if "PERSISTENCE_MODULE" not in given:
        raise InvalidArgument(f"{FROM_ENVIRONMENT} names the store eventsourcing's environment describes, and PERSISTENCE_MODULE is not set")
    if given["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        return {**_SQLITE_READS, **given}
    if given["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        return given
    defaults = {"POSTGRES_HOST": "localhost", "POSTGRES_PORT": "5432", "POSTGRES_USER": "", "POSTGRES_PASSWORD": "", "POSTGRES_SCHEMA": "public"}
    return {**defaults, "CREATE_TABLE": "y", **POOL, **given}


def is_postgres_settings(settings: dict[str, str]) -> bool:
    return settings["PERSISTENCE_MODULE"] == "eventsourcing.postgres"


def _process_lock(settings: dict[str, str]) -> ProcessLock | None:
    """The lock the store's writers take across processes: none for a store only one
    process can see (in memory)."""
    if is_postgres_settings(settings):
        return AdvisoryLock(lambda: _connect(settings), settings["POSTGRES_SCHEMA"])
    database = settings.get("SQLITE_DBNAME", "")
    if settings["PERSISTENCE_MODULE"] == "eventsourcing.sqlite" and database and "memory" not in database:
        return LockFile(f"{database}.lock")
    return None


def _open_postgres(env: dict[str, str]) -> _PeerApplication:
    """The application on a PostgreSQL schema, made with its tables if missing. Two processes
    making one schema's tables at once make PostgreSQL fail ("tuple concurrently updated"),
    so the making is serialized by an advisory lock named after the schema."""
    from psycopg import sql

    lock = int.from_bytes(hashlib.sha256(env["POSTGRES_SCHEMA"].encode()).digest()[:8], "big", signed=True)
    with _connect(env) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"])))
            return _PeerApplication(env=env)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (lock,))


def postgres_stores(location: str) -> list[str]:
    """The stores under a PostgreSQL URL: its schema and every schema named after it."""
    env = postgres_environment(location)
    schema = env["POSTGRES_SCHEMA"]
    with _connect(env) as connection:
        rows = connection.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = %s OR schema_name LIKE %s "
            "ORDER BY schema_name", (schema, schema.replace("_", "\\_") + "\\_%"),
        ).fetchall()
    return [with_schema(location, row[0]) for row in rows]
