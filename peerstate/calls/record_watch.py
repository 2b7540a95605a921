"""What one process last showed a replica's event registrations of its records, so that
``PEER_GROUP_EVENT_RECORD_CHANGED`` reports what changed since, at a cost that follows the
changes and not the number of records.

A look after the first needs only the records published since (the log's journal of
published record ids) and those whose expiration the clock has passed (a heap of the shown
records by expiration). It walks every record only when it cannot know what changed: the
first look, a log read anew (another journal), expiry turned on or off
(``PEER_DEFER_EXPIRATION``), or peer time set back by a sync.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

from peerstate.domain.records import LiveRecords, RecordChange, RecordVersion, change_of, in_change_order, record_changes, shown_versions


class RecordWatch:
    """One replica's records as this process last showed them."""

    def __init__(self) -> None:
        self._shown: dict[UUID, bytes] = {}
        self._expiring: list[tuple[datetime, UUID]] = []
        """The shown records by expiration; an entry may be stale (re-checked when due)."""
        self._journal: Sequence[UUID] | None = None
        self._read = 0
        self._now: datetime | None = None
        self._expiry = True

    def look(
        self, records: Mapping[UUID, RecordVersion], journal: Sequence[UUID], now: datetime, expiring: bool,
        before: Mapping[UUID, RecordVersion] | None = None,
    ) -> list[RecordChange]:
        """How the records shown changed since the last look (at the first, since the
        records ``before``, if given, else none); the watch then holds them as shown."""
        live = LiveRecords(records, now, expiring)
        if self._journal is None:
            self._shown = shown_versions(LiveRecords(before, now, expiring) if before is not None else live)
        if self._journal is not journal or expiring != self._expiry or self._now is None or now < self._now:
            changes = record_changes(self._shown, live)
            self._shown = shown_versions(live)
            self._expiring = [(held.record.expiration, record_id) for record_id, held in live.items()]
            heapq.heapify(self._expiring)
        else:
            changes = self._changes_since(live, journal)
        self._journal, self._read, self._now, self._expiry = journal, len(journal), now, expiring
        return changes

    def _changes_since(self, live: LiveRecords, journal: Sequence[UUID]) -> list[RecordChange]:
        due: set[UUID] = set()
        while live.expiring and self._expiring and self._expiring[0][0] <= live.now:
            due.add(heapq.heappop(self._expiring)[1])
        changes: list[RecordChange] = []
        for record_id in due.union(journal[self._read:]):
            held = live.records.get(record_id)
            before = self._shown.get(record_id)
            change = change_of(before, held, live)
            if change is not None:
                changes.append((record_id, change))
            if held is not None and live.shows(held):
                self._shown[record_id] = held.security
                if change is not None or record_id in due:
                    heapq.heappush(self._expiring, (held.record.expiration, record_id))
            else:
                self._shown.pop(record_id, None)
        return in_change_order(changes)
