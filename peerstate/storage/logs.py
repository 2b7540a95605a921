"""A peer's logs as eventsourcing aggregates: the identity log, each replica's log with its
snapshot, and the store's commit ledger; the hash chain each recorded event extends; how
stored events fold back into a log; and when a replica log is snapshotted.

Each log's events wrap a domain event payload, and applying one is ``domain.state.evolve``
(``domain.replica`` for a replica), so a log holds no rules of its own. What is here is the
shape of what a store holds, kept apart from the store object that reads and writes it
(``peer_store``) and from where a store lives (``opening``): the event classes' ``TOPIC``
strings are what the rows name, so they never change. Logs are folded by ``project_log``,
without eventsourcing's per-event protocol assertion, which costs two thirds of replay time
(``reference/eventsourcing.md`` 7.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast
from uuid import NAMESPACE_URL, UUID, uuid5

import attrs
from eventsourcing.domain import Aggregate, OriginatorIDError, OriginatorVersionError
from eventsourcing.domain import Snapshot as AggregateSnapshot
from eventsourcing.utils import register_topic

from peerstate import wire
from peerstate.domain.events import IdentityEvent
from peerstate.domain.group_events import (
    ActionsVoided,
    Envelope,
    EnvelopeAccepted,
    EnvelopeRefused,
    ForkDetected,
    ReplicaCreated,
    ReplicaEvent,
    ReplicaJoined,
    RecordPublished,
)
from peerstate.domain.forks import after_verdict
from peerstate.domain.peer_time import held_offset
from peerstate.domain.replica import accept_envelopes, evolve_replica, new_replica
from peerstate.domain.state import IdentityStoreState, evolve
from peerstate.domain.values import evolved
from peerstate.storage.store_format import NO_MEMBER_DATA, NO_PLACES, NO_SENDER_REFUSALS, places_of_delivered


def chain_start(originator_id: UUID, created_on: datetime) -> bytes:
    """Where a log's hash chain starts: the log's id and the moment it was made."""
    return wire.digest(["peerstate log", str(originator_id), created_on])


def chain_link(previous: bytes, version: int, timestamp: datetime, payload: Any) -> bytes:
    """The link each recorded event stores: a hash of the link before, its place in the
    log, its timestamp and its payload, so an edit of any byte of any row breaks the chain
    from there on (``audit`` walks it)."""
    return wire.digest([previous, version, timestamp, payload])


def broken_links(previous: bytes, events: Iterable[Any]) -> Iterator[int]:
    """The versions of ``events`` whose link is not the hash of the link before and their
    own content (``chain_link``), walking from ``previous``: where rows were edited, added
    or taken out (the audit, and an open of a sealed store, walk a log this way)."""
    for event in events:
        link = getattr(event, "link", b"")
        if link != chain_link(previous, event.originator_version, event.timestamp, getattr(event, "payload", None)):
            yield event.originator_version
        previous = link


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
        read as the events. Refused envelopes are never in it: the state counts them, and
        the events keep the few kept whole. The envelopes that wait are, in the state,
        within their bounds (``bounds.MAX_HELD_BYTES``)."""

        TOPIC = "peerstate.ReplicaLog.Snapshot"

        @classmethod
        def take(cls, aggregate: Any) -> Any:
            snapshot = super().take(aggregate)
            del snapshot.state["accepted"]
            return snapshot

        def mutate(self, _: None) -> Any:
            """The log as the snapshot holds it; ``EarlierSnapshot`` for a snapshot written
            before the group state kept member data, which cannot give the log. One written
            before the replica state counted refusals per sender gives it with none counted
            (``NO_SENDER_REFUSALS``) and without the list of every refused envelope it
            held then, which no log keeps any more."""
            log: Any = super().mutate(None)
            if log.state.group.member_data is NO_MEMBER_DATA:
                raise EarlierSnapshot(self.originator_version)
            if log.state.group.places is NO_PLACES or log.state.group.delivered_to is NO_PLACES:
                log.state = evolved(log.state, group=places_of_delivered(log.state.group))
            if log.state.sender_refusals is NO_SENDER_REFUSALS:
                log.state = evolved(log.state, sender_refusals={})
                del log.refusals
            held = held_offset(log.state.peer_time_offset // timedelta(microseconds=1))
            if held != log.state.peer_time_offset:
                log.state = evolved(log.state, peer_time_offset=held)
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
        """Ids of every envelope accepted or kept whole when refused: a batch offered again
        is skipped. Not those that wait (``ReplicaState.held``), which are judged again."""
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
        elif isinstance(payload, ForkDetected) or (isinstance(payload, ActionsVoided) and not self.known.isdisjoint(payload.ids)):
            if isinstance(payload, ForkDetected):
                self.known.add(payload.second_id)
            if self.accepted is None:
                raise EnvelopesUnread(self.version)
            self.state = after_verdict(self.state, payload, [(envelope, wire.digest(envelope)) for envelope in self.accepted])
            self.published = [*self.published]  # a new journal: the record watch compares every record again

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


class EnvelopesUnread(Exception):
    """A fork (``ForkDetected``) met by a log opened from a snapshot, which does not hold
    the accepted envelopes the fork's verdict, or a demotion's, folds again (``domain.forks``): such a log is
    replayed from its events instead (``PeerStore``). Only the events between a snapshot
    and the next one cost this; the snapshot after a fork holds its verdict."""

    def __init__(self, version: int) -> None:
        super().__init__(f"a fork met at version {version} of a log opened from a snapshot")


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

    class Sealed(Recorded):
        """An entry of a sealed store (``storage.store_seal``): ``seal`` is a MAC, under a
        key only the passphrase gives, of the entry's place, link and the heads it names,
        and of the head of every log of the store after this commit."""

        TOPIC = "peerstate.CommitLedger.Sealed"
        seal: bytes = b""


LEDGER_START: Final = wire.digest(["peerstate ledger", str(CommitLedger.ID)])


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
