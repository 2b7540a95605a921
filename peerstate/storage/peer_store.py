"""The store object a peer reads and writes its logs through (``PeerStore``), over the
eventsourcing application that maps the logs' events and snapshots to rows.

A save commits a call's new events with the commit ledger's entry for them in one
transaction, then snapshots what is due and tells the listeners; a read opens a log from
its latest snapshot, catches a log up with other writers' commits, or reads a log's rows
one by one and checks each is exactly as peerstate writes it (what ``audit`` builds on).
The logs themselves are ``logs``'s aggregates, and where the rows live is ``opening``'s
business: this module knows neither a path nor a database, only the application it is
given, so that a store reads the same whichever backend holds it.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
from collections.abc import Callable, Iterator
from typing import Any, Final, TypeVar, cast
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, StoredEvent

from peerstate.domain.group_events import (
    GROUP_VALUES,
    Envelope,
    EnvelopeAccepted,
    PasswordTicket,
    ReplicaCreated,
    ReplicaDeleted,
    ReplicaEvent,
    ReplicaJoined,
    ReplicaSynchronized,
)
from peerstate.domain.group_state import AuthorHead, Member, Place
from peerstate.domain.records import RecordVersion
from peerstate.domain.replica import Guesses, SenderRefusals, WrongPasswords
from peerstate import wire
from peerstate.bounds import MAX_THROTTLED_GUESSERS, MAX_TICKET_BYTES, MAX_WRONG_PASSWORDS_BYTES
from peerstate.bulk import young_collections_only
from peerstate.storage.local_values import LocalValues
from peerstate.storage.store_seal import (
    LOGS,
    StoreSeal,
    entry_seal,
    snapshot_seal,
    snapshot_seal_holds,
    snapshot_value_name,
    store_is_as_sealed,
)
from peerstate.storage.logs import (
    LEDGER_START,
    CommitLedger,
    EarlierSnapshot,
    EnvelopesUnread,
    IdentityLog,
    LogHead,
    ReplicaLog,
    broken_links,
    chain_link,
    chain_start,
    project_log,
    snapshot_due,
)
from peerstate.storage.store_format import (
    BytesAsBase64,
    GroupStateAsFields,
    GroupStateFields,
    MapAsPairs,
    RecordsAsVersions,
    ReplicaStateFields,
    RowMapper,
    SetAsList,
    SnapshotTranscoder,
    TimedeltaAsMicroseconds,
    WireValue,
    maps_in_key_order,
)
from peerstate.storage.writer_turns import WriterTurn

PAGE: Final = 500
"""How many rows one read of the notification log asks for."""
_Log = TypeVar("_Log", bound=Aggregate)
_Value = TypeVar("_Value")


SNAPSHOT_VALUES: Final = (*GROUP_VALUES, Member, AuthorHead, Place, Guesses, SenderRefusals, RecordVersion)
"""The attrs values a replica's derived state holds: a snapshot stores them as ``wire``
trees."""

EVENT_ROWS: Final = (
    IdentityLog.Created, IdentityLog.Recorded, ReplicaLog.Created, ReplicaLog.Recorded,
    CommitLedger.Created, CommitLedger.Recorded, CommitLedger.Sealed,
)
"""The events whose rows hold canonical trees typed by their fields (``store_format``)."""


SEALED_READS: Final = 3
"""How many times a sealed store's heads, or one of its logs, are read again when another
writer's commit comes between two reads that must agree."""
TICKET: Final = "password ticket"
WRONG_PASSWORDS: Final = "wrong passwords"
"""The kinds of value a store keeps of a replica outside its log (``local_values``)."""


def _value_name(kind: str, log_id: UUID) -> str:
    return f"{kind} {log_id}"


def _values_ended(event: object) -> tuple[str, ...]:
    """The kinds of value kept of a replica that are of no more use after ``event``: its
    ticket once it synchronized, was deleted, or was joined again by a credential; its
    counters once it was deleted or started over."""
    ended: list[str] = []
    if isinstance(event, (ReplicaSynchronized, ReplicaDeleted)) or (isinstance(event, ReplicaJoined) and event.chain):
        ended.append(TICKET)
    if isinstance(event, (ReplicaDeleted, ReplicaJoined, ReplicaCreated)):
        ended.append(WRONG_PASSWORDS)
    return tuple(ended)


class PeerApplication(Application[UUID]):
    """The eventsourcing application under a store: its rows mapped as ``store_format``
    says, its replica logs snapshotted. ``name`` names its tables on PostgreSQL
    (``peerstore_events``), so it never changes."""

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
        transcoder.register(ReplicaStateFields())
        transcoder.register(GroupStateFields())
        for value in SNAPSHOT_VALUES:
            transcoder.register(WireValue(value))

    @functools.cached_property
    def earlier_snapshots(self) -> Mapper[UUID]:
        """Snapshots as peerstate wrote them before it listed a group's records as their
        versions (``GroupStateAsFields``): a snapshot of that time is read as any other,
        and is exactly as peerstate wrote it if this writes it back the same."""
        return Mapper(self.construct_transcoder())


def _chain_problem(log_id: UUID, log: Any, since: int, events: list[Any]) -> str | None:
    """What is wrong with a log's ``events`` read after its snapshot of version ``since``
    (``log``; none for 0): rows not numbered one after another, or a row that is not the one
    its hash chain recorded; None when nothing is."""
    if [event.originator_version for event in events] != list(range(since + 1, since + 1 + len(events))):
        return "a log's rows are not numbered one after another"
    if not events:
        return None
    previous, rest = (chain_start(log_id, events[0].timestamp), events[1:]) if since == 0 else (log.link, events)
    broken = next(broken_links(previous, rest), None)
    return None if broken is None else f"event {broken} of a log is not the one its hash chain recorded"


class WriteConflict(Exception):
    """Another writer appended to the same log first; reload and decide again."""


class PeerStore:
    """One peer's persistent store: what survives the peer's process."""

    def __init__(self, app: PeerApplication, turn: WriterTurn, values: LocalValues) -> None:
        """The store over ``app``, its writers taking ``turn``, keeping ``values`` outside
        its logs; ``opening.open_store`` makes all three."""
        self._app = app
        self._turn = turn
        self._values = values
        self._seal: StoreSeal | None = None
        """The store's seal, once an open with its passphrase found the store as sealed
        (``open_sealed``): from then on every commit is sealed and every log read checked."""
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
            events = [self._app.mapper.to_domain_event(row) if self._seal is None else self._row(row) for row in rows]
            if self._seal is not None:
                store_is_as_sealed(_chain_problem(log.id, log, log.version, events))
            try:
                caught: _Log = project_log(log, events)
            except EnvelopesUnread:  # another writer's fork, met by a log opened from a snapshot
                caught = self.replayed(log.id)
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
        if self._seal is not None:
            return self._checked(log_id, from_snapshot=False)
        with young_collections_only():
            return project_log(None, map(self._app.mapper.to_domain_event, self._app.recorder.select_events(log_id)))

    def _stored(self, log_id: UUID) -> Any:
        """The log as its latest snapshot and the events since give it; None if it has none.
        A latest snapshot of an earlier state (``EarlierSnapshot``) is not opened from: the
        log is replayed from its events, as if it had no snapshot, so that its next write
        takes one of today's form and the opens after it start from that again. So is one
        whose events since meet a fork (``EnvelopesUnread``), whose verdict reads every
        accepted envelope."""
        if self._seal is not None:
            return self._checked(log_id)
        try:
            with young_collections_only():
                return self._app.repository.get(log_id, projector_func=project_log)
        except AggregateNotFoundError:
            return None
        except (EarlierSnapshot, EnvelopesUnread):
            return self.replayed(log_id)

    def open_sealed(self, key: bytes, *, sealed_from_the_start: bool) -> bool:
        """Check the store against its seal (``store_seal``), under the key its passphrase
        gives, before a peer reads it, and seal every commit from then on: the last ledger
        entry's seal must be that of its place, its link, what it names and every log's
        last row. Each log read after is checked as it is read
        (``_checked``). A store made before seals (``sealed_from_the_start`` false) whose
        last commit carries none is sealed as it is found, and the result (True) says so:
        the caller says it once, so that a store stripped of its seal is not sealed again
        unseen. ``PEER_E_INVALID_DATABASE`` when the store is not as its seal says.

        The check takes no lock: the last entry is read again after the heads, and a commit
        between the two reads makes it read everything again (``SEALED_READS`` times)."""
        self._ledger = None
        for _ in range(SEALED_READS):
            last = self._last_entry()
            if last is not None and not isinstance(last, CommitLedger.Sealed):
                store_is_as_sealed("its last commit carries no seal" if sealed_from_the_start else None)
                with self._turn:
                    self._seal_as_found(key, last.originator_version)
                return True
            if last is None:
                self._seal = StoreSeal(key, {}, 0)
                return False
            listed = self._listed_logs()
            store_is_as_sealed(None if listed is not None else "its list of logs is gone or does not read")
            assert listed is not None  # store_is_as_sealed
            heads = self._heads_of(listed)
            version = last.originator_version
            if hmac.compare_digest(last.seal, entry_seal(key, version, last.link, last.payload, heads)):
                self._seal = StoreSeal(key, heads, version)
                return False
            again = self._last_entry()
            if again is None or again.originator_version == version:
                break  # no commit came between: the store is not as sealed
        store_is_as_sealed("its ledger's last entry, or its logs' last rows, are not what its last commit sealed")
        raise AssertionError("store_is_as_sealed refused")

    def _seal_as_found(self, key: bytes, version: int) -> None:
        """Seal a store that carries no seal as it is: list its logs, seal each one's latest
        snapshot, and commit a sealed entry for the heads they stand at."""
        logs = self.originators() - {CommitLedger.ID}
        self._values.put(LOGS, wire.canonical(tuple(sorted(map(str, logs)))))
        for log_id in logs:
            snapshot = self._latest_snapshot_row(log_id)
            if snapshot is not None:
                self._values.put(
                    snapshot_value_name(log_id, snapshot.originator_version),
                    snapshot_seal(key, log_id, snapshot.originator_version, snapshot.state),
                )
        self._seal = StoreSeal(key, self._heads_of(logs), version)
        self._commit([])

    def _listed_logs(self) -> set[UUID] | None:
        """The store's list of logs (``store_seal.LOGS``); None if it is gone or does not read."""
        kept = self._values.get(LOGS)
        try:
            return None if kept is None else {UUID(text) for text in wire.decode(kept, tuple[str, ...])}
        except (wire.WireError, ValueError):
            return None

    def _heads_of(self, logs: set[UUID]) -> dict[UUID, LogHead]:
        """Where each of ``logs`` that has rows stands: its last row's version and link."""
        heads: dict[UUID, LogHead] = {}
        for log_id in logs:
            rows = self._app.recorder.select_events(log_id, desc=True, limit=1)
            if rows:
                last = self._row(rows[0])
                heads[log_id] = LogHead(log_id, last.originator_version, getattr(last, "link", b""))
        return heads

    def _last_entry(self) -> Any:
        rows = self._app.recorder.select_events(CommitLedger.ID, desc=True, limit=1)
        return self._row(rows[0]) if rows else None

    def _row(self, row: StoredEvent) -> Any:
        """The event a row holds, on a sealed store; a row that does not read is not the store's."""
        try:
            return self._app.mapper.to_domain_event(row)
        except ValueError as error:
            store_is_as_sealed(f"a row does not read: {error}")

    def _take_in_commits(self, version: int) -> None:
        """Bring the seal's heads up to the ledger's entry ``version``, from the entries
        other writers committed since it last looked."""
        assert self._seal is not None
        if self._seal.at < version:
            for row in self._app.recorder.select_events(CommitLedger.ID, gt=self._seal.at, lte=version):
                self._seal.take_in(self._row(row))

    def _latest_snapshot_row(self, log_id: UUID) -> StoredEvent | None:
        if self._app.snapshots is None:
            return None
        rows = self._app.snapshots.recorder.select_events(log_id, desc=True, limit=1)
        return rows[0] if rows else None

    def _checked(self, log_id: UUID, *, from_snapshot: bool = True) -> Any:
        """The log, on a sealed store, as ``_stored`` reads it, each row checked as it is
        read: its latest snapshot carries its own seal, the rows since follow the chain
        from it, and the last stands where the ledger's sealed heads say (read after the
        rows, so that a commit between the two reads makes the log read again)."""
        for _ in range(SEALED_READS):
            with young_collections_only():
                log, since = self._sealed_snapshot(log_id) if from_snapshot else (None, 0)
                events = [self._row(row) for row in self._app.recorder.select_events(log_id, gt=since)]
            store_is_as_sealed(_chain_problem(log_id, log, since, events))
            if events:
                stands = (events[-1].originator_version, getattr(events[-1], "link", b""))
            else:
                stands = (since, log.link) if log is not None else (0, b"")
            if stands == self._sealed_head(log_id):
                break
            self._ledger = None  # other writers may have committed since the seal's heads were read
            self._take_in_commits(self._ledger_head()[0])
            sealed = self._sealed_head(log_id)
            if stands == sealed:
                break
            if sealed[0] <= stands[0]:
                store_is_as_sealed("a log does not stand where the ledger's last sealed commit left it")
            # else another writer committed between the reads: read the log again
        else:
            store_is_as_sealed("a log's rows kept changing while it was read")
        if log is None and not events:
            return None
        try:
            with young_collections_only():
                return project_log(log, events)
        except EnvelopesUnread:
            return self._checked(log_id, from_snapshot=False)

    def _sealed_head(self, log_id: UUID) -> tuple[int, bytes]:
        """Where the seal says the log stands: (0, b"") for one it has no rows of."""
        assert self._seal is not None
        head = self._seal.heads.get(log_id)
        return (head.version, head.link) if head is not None else (0, b"")

    def _sealed_snapshot(self, log_id: UUID) -> tuple[Any, int]:
        """The log as its latest snapshot holds it, and the snapshot's version, if the
        snapshot carries its own seal (``PEER_E_INVALID_DATABASE`` if not); (None, 0) with
        no snapshot, or an earlier one no open starts from (``EarlierSnapshot``)."""
        assert self._seal is not None
        row = self._latest_snapshot_row(log_id)
        if row is None:
            return None, 0
        version = row.originator_version
        kept = self._values.get(snapshot_value_name(log_id, version))
        if kept is None or not snapshot_seal_holds(self._seal.key, log_id, version, row.state, kept):
            store_is_as_sealed(f"the snapshot of version {version} of a log carries no seal of its own")
        try:
            assert self._app.snapshots is not None
            snapshot: Any = self._app.snapshots.mapper.to_domain_event(row)
            return snapshot.mutate(None), version
        except EarlierSnapshot:
            return None, 0
        except ValueError as error:
            store_is_as_sealed(f"a snapshot does not read: {error}")
            raise

    def save(self, *logs: Aggregate) -> int | None:
        """Store the logs' new events and the ledger's entry for them in one transaction:
        all of them or none; then tell whoever listens for commits (an exception of theirs
        comes after the events are stored). The result is the entry's version (None when
        there was nothing to store)."""
        written = [log for log in logs if log.pending_events]
        if not written:
            return None
        return self._commit(written)

    def _commit(self, written: list[Aggregate]) -> int:
        """``save``'s commit of ``written`` (none: a sealing entry alone), sealed when the
        store is (``store_seal``): the list of logs names a log before its first commit."""
        ended = {
            _value_name(kind, log.id) for log in written for event in log.pending_events
            for kind in _values_ended(getattr(event, "payload", None))
        }
        with self._turn:
            version, previous = self._ledger_head()
            heads = tuple(LogHead(log.id, log.version, getattr(log, "link", b"")) for log in written)
            timestamp = CommitLedger.Recorded.create_timestamp()
            after: dict[UUID, LogHead] = {}
            if self._seal is None:
                entry = cast(Any, CommitLedger.Recorded)(  # built directly: the ledger has no aggregate object
                    originator_id=CommitLedger.ID, originator_version=version + 1, timestamp=timestamp, payload=heads,
                    link=chain_link(previous, version + 1, timestamp, heads),
                )
            else:
                self._take_in_commits(version)
                started = self._seal.new_logs(heads)
                if started:
                    self._values.put(LOGS, self._seal.logs(started))
                entry, after = self._seal.entry(version + 1, timestamp, heads, previous)
            try:
                self._app.save(*written, entry)
            except IntegrityError as error:
                self._ledger = None  # another writer committed: read the ledger's head again
                raise WriteConflict(str(error)) from error
            self._ledger = (entry.originator_version, entry.link)
            if self._seal is not None:
                self._seal.committed(entry.originator_version, after)
        self._snapshot([log for log in written if isinstance(log, ReplicaLog) and snapshot_due(log)])
        for name in sorted(ended):
            self._values.remove(name)
        for listener in list(self._listeners):
            listener()
        return version + 1

    def keep_ticket(self, identity: str, group: str, ticket: PasswordTicket) -> None:
        """Keep what a password joiner proves its password with until its first sync, outside
        the log (``local_values``): a save that records the replica's ``ReplicaSynchronized``
        or ``ReplicaDeleted`` removes it, so no copy outlives its use."""
        self._values.put(_value_name(TICKET, ReplicaLog.create_id(identity, group)), wire.canonical(ticket))

    def forget_ticket(self, identity: str, group: str) -> None:
        """Remove the replica's ticket: its join was not stored after all."""
        self._values.remove(_value_name(TICKET, ReplicaLog.create_id(identity, group)))

    def ticket(self, identity: str, group: str) -> PasswordTicket | None:
        """The replica's ticket, as ``keep_ticket`` kept it; None if there is none, or if
        what is there does not decode as one (an edit of the store: the join cannot sync)."""
        return self._value(_value_name(TICKET, ReplicaLog.create_id(identity, group)), PasswordTicket, MAX_TICKET_BYTES)

    def keep_wrong_passwords(self, identity: str, group: str, counted: WrongPasswords) -> None:
        """Replace the replica's throttle counters (``WrongPasswords``), outside its log: a
        save that starts the replica over or deletes it removes them."""
        self._values.put(_value_name(WRONG_PASSWORDS, ReplicaLog.create_id(identity, group)), wire.canonical(counted))

    def wrong_passwords(self, identity: str, group: str) -> WrongPasswords | None:
        """The replica's throttle counters as last kept; None if none were (the replica
        counts from what its log holds, ``replica.counted_before``), or if what is there does
        not decode as counters within their bound."""
        counted = self._value(_value_name(WRONG_PASSWORDS, ReplicaLog.create_id(identity, group)), WrongPasswords, MAX_WRONG_PASSWORDS_BYTES)
        if counted is None or max(len(counted.joiners), len(counted.addresses)) > MAX_THROTTLED_GUESSERS:
            return None
        return counted

    def _value(self, name: str, kind: type[_Value], max_bytes: int) -> _Value | None:
        """The value of type ``kind`` kept under ``name``, read as hostile bytes: None when
        there is none or it does not decode (``wire``, strictly, from at most ``max_bytes``)."""
        kept = self._values.get(name)
        try:
            return None if kept is None else wire.decode(kept, kind, max_bytes=max_bytes)
        except wire.WireError:
            return None

    def _snapshot(self, logs: list[ReplicaLog]) -> None:
        """Store a snapshot of each log as it now stands, after its events are committed: a
        snapshot lost to a crash costs only a longer open."""
        if not logs or self._app.snapshots is None:
            return
        for log in logs:
            log.snapshot_version = log.version
        with young_collections_only():  # the state's trees: as many containers as it holds values
            rows = [self._app.snapshots.mapper.to_stored_event(ReplicaLog.Snapshot.take(log)) for log in logs]
        if self._seal is not None:  # each row's seal first: a snapshot row without one is not the store's
            for log, row in zip(logs, rows):
                name = snapshot_value_name(log.id, row.originator_version)
                self._values.put(name, snapshot_seal(self._seal.key, log.id, row.originator_version, row.state))
        try:
            self._app.snapshots.recorder.insert_events(rows)
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
