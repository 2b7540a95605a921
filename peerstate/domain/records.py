"""The group database's records: which version of a record wins, which records a replica
shows at a given moment, and when a record is due to be refreshed.

Every replica keeps, per record id, the version that wins by Windows' precedence rule
(MS-PPGRH 3.1.7.32), so replicas holding the same versions hold the same records whatever
order the versions came in. Time enters only as an argument: the fold keeps expired records
and tombstones, and a read asks what is live *now*.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

import attrs

from peerstate.bounds import MAX_DWORD
from peerstate.constants import PeerRecordChangeType, PeerRecordFlags
from peerstate.domain.group_events import Record

RESERVED_RECORD_TYPES: Final = frozenset(
    UUID(text) for text in (
        "01000000-0000-0000-0000-000000000000",  # Membership (MS-PPSEC 2.2.3)
        "02000000-0000-0000-0000-000000000000",  # Security Properties
        "00000100-0000-0000-0000-000000000000",  # Graph Info (MS-PPGRH 2.2.1.9)
        "00000200-0000-0000-0000-000000000000",  # Signature
        "00000300-0000-0000-0000-000000000000",  # Contact
        "00000400-0000-0000-0000-000000000000",  # Presence
    )
)
REFRESH_WINDOW: Final = timedelta(seconds=20)
"""An autorefresh record is republished once its expiration is this close (MS-PPGRH 3.1.7.22)."""
DEFAULT_REFRESH_LIFETIME: Final = timedelta(seconds=300)
AUTOREFRESH: Final = int(PeerRecordFlags.PEER_RECORD_FLAG_AUTOREFRESH)
DELETED: Final = int(PeerRecordFlags.PEER_RECORD_FLAG_DELETED)
CREATOR_TAG_BYTES: Final = 8


@attrs.frozen
class RecordVersion:
    """A record as a replica holds it, with its envelope's signature: Windows' security
    data, which breaks the last tie between two versions."""

    record: Record
    security: bytes

    @property
    def deleted(self) -> bool:
        return bool(self.record.flags & DELETED)


def precedence(held: RecordVersion) -> tuple[int, bool, str, datetime, int, bytes]:
    """The order in which versions of one record win: higher version, then an updated
    record over a never-updated one, then the higher modifier name, then the later
    modification, then the larger and the higher security data. Total, so the winner is
    the same on every replica."""
    record = held.record
    return (
        record.version, record.modified != record.created, record.modified_by, record.modified,
        len(held.security), held.security,
    )


def winner(current: RecordVersion | None, arrived: RecordVersion) -> RecordVersion:
    return arrived if current is None or precedence(arrived) > precedence(current) else current


def creator_tag(creator: str) -> bytes:
    """The part of a record id bound to its creator, as Windows binds it to a hash of the
    creator's id: no one else can publish a version claiming another member's record."""
    return hashlib.sha256(creator.encode()).digest()[:CREATOR_TAG_BYTES]


class LiveRecords(Mapping[UUID, RecordVersion]):
    """The records a read shows at ``now`` (peer time): neither deleted nor expired. With
    ``expiring`` False (``PEER_DEFER_EXPIRATION`` while disconnected) nothing expires. A
    view, not a copy: finding one record costs one lookup, and only listing walks them all."""

    def __init__(self, records: Mapping[UUID, RecordVersion], now: datetime, expiring: bool = True) -> None:
        self.records = records
        self.now = now
        self.expiring = expiring

    def shows(self, held: RecordVersion) -> bool:
        return not held.deleted and (not self.expiring or self.now < held.record.expiration)

    def __getitem__(self, record_id: UUID) -> RecordVersion:
        held = self.records[record_id]
        if not self.shows(held):
            raise KeyError(record_id)
        return held

    def __iter__(self) -> Iterator[UUID]:
        return (record_id for record_id, held in self.records.items() if self.shows(held))

    def __len__(self) -> int:
        return sum(1 for _ in self)



def refresh_due(held: RecordVersion, identity: str, now: datetime) -> bool:
    """Whether ``identity`` republishes this record now: it created it, asked for
    autorefresh, and the record is live but within the refresh window of expiring. A record
    at the last version a ``DWORD`` holds takes no other, a refresh's included: it expires."""
    record = held.record
    return (
        record.creator == identity and bool(record.flags & AUTOREFRESH) and not held.deleted
        and record.version < MAX_DWORD and now < record.expiration <= now + REFRESH_WINDOW
    )


def refreshed_expiration(record: Record, now: datetime) -> datetime:
    """A refresh keeps the record's lifetime (its expiration less its last modification),
    or 300 seconds when that is not positive."""
    lifetime = record.expiration - record.modified
    return now + (lifetime if lifetime > timedelta(0) else DEFAULT_REFRESH_LIFETIME)


def record_size(attributes: str, data: bytes) -> int:
    """The data's bytes plus two bytes per UTF-16 unit of the attributes."""
    return len(data) + len(attributes.encode("utf-16-le"))


def shown_versions(live: Mapping[UUID, RecordVersion]) -> dict[UUID, bytes]:
    """What a reader remembers of the records it was shown: each id with its version's
    security data, which tells apart even two versions of one number."""
    return {record_id: held.security for record_id, held in live.items()}


RecordChange = tuple[UUID, PeerRecordChangeType]


def change_of(before: bytes | None, held: RecordVersion | None, live: LiveRecords) -> PeerRecordChangeType | None:
    """How one record changed for a reader shown the version with security data ``before``
    (None: not shown): added, updated, deleted or, if its winning version is not a deletion,
    expired; None if it did not. A record shown once stays in the replica (deletions leave
    tombstones) unless the replica's local data was deleted (``PeerGroupDelete``), and it
    started over: to a reader that saw it before, that record was deleted."""
    if held is not None and live.shows(held):
        if before == held.security:
            return None
        return PeerRecordChangeType.PEER_RECORD_ADDED if before is None else PeerRecordChangeType.PEER_RECORD_UPDATED
    if before is None:
        return None
    return PeerRecordChangeType.PEER_RECORD_DELETED if held is None or held.deleted else PeerRecordChangeType.PEER_RECORD_EXPIRED


def in_change_order(changes: Iterable[RecordChange]) -> list[RecordChange]:
    """In change-type order, then by id (the order of the ids' text, which is their
    numbers' order: the text is the number in hex, of one width): the same on every replica."""
    return sorted(changes, key=lambda change: (change[1], change[0].int))


def record_changes(shown: Mapping[UUID, bytes], live: LiveRecords) -> list[RecordChange]:
    """How the records a reader sees changed since it was shown ``shown``, walking them all."""
    changes = (
        (record_id, change_of(shown.get(record_id), live.records.get(record_id), live))
        for record_id in {*shown, *live}
    )
    return in_change_order((record_id, change) for record_id, change in changes if change is not None)
