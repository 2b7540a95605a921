"""``RecordWatch``: each look reports exactly what a look walking every record would, while
reading only what was published since and what the clock passed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st
from immutables import Map

from peerstate.constants import PeerRecordChangeType
from peerstate.domain.group_events import Record
from peerstate.domain.records import DELETED, LiveRecords, RecordVersion, record_changes, shown_versions, winner
from peerstate.calls.record_watch import RecordWatch

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
KIND = UUID(int=7)

publish = st.tuples(
    st.just("publish"), st.integers(0, 5), st.integers(1, 4), st.booleans(), st.integers(1, 40),
)
tick = st.tuples(st.just("tick"), st.integers(-5, 20))
toggle = st.tuples(st.just("toggle"))
reread = st.tuples(st.just("reread"))


def _version(record: int, version: int, deleted: bool, lifetime: int) -> RecordVersion:
    record_id = UUID(int=record)
    at = T0 + timedelta(seconds=version)
    return RecordVersion(
        Record(record_id, KIND, version, DELETED if deleted else 0, "a", "a", "", b"", T0, at, at + timedelta(seconds=lifetime)),
        f"{record}-{version}-{deleted}-{lifetime}".encode(),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(publish, tick, toggle, reread), max_size=40))
def test_each_look_reports_what_a_walk_over_every_record_would(steps: list[tuple[Any, ...]]) -> None:
    records: Map[UUID, RecordVersion] = Map()
    journal: list[UUID] = []
    watch = RecordWatch()
    now, expiring = T0, True
    shown = shown_versions(LiveRecords(records, now, expiring))
    assert watch.look(records, journal, now, expiring) == []
    for step in steps:
        if step[0] == "publish":
            _, record, version, deleted, lifetime = step
            held = _version(record, version, deleted, lifetime)
            records = records.set(held.record.id, winner(records.get(held.record.id), held))
            journal.append(held.record.id)
        elif step[0] == "tick":
            now += timedelta(seconds=step[1])
        elif step[0] == "toggle":
            expiring = not expiring
        else:
            journal = list(journal)  # the log read anew
        live = LiveRecords(records, now, expiring)
        assert watch.look(records, journal, now, expiring) == record_changes(shown, live)
        shown = shown_versions(live)


def test_a_look_after_the_first_reads_only_what_changed() -> None:
    """Walking every record would call ``LiveRecords.__iter__``; a look that has a journal
    and a heap must not."""
    records = Map({UUID(int=n): _version(n, 1, False, 1000) for n in range(50)})
    journal = list(records)
    watch = RecordWatch()
    watch.look(records, journal, T0, True)
    walked: list[bool] = []
    original = LiveRecords.__iter__

    def counting(self: LiveRecords) -> Iterator[UUID]:
        walked.append(True)
        return original(self)

    LiveRecords.__iter__ = counting  # type: ignore[method-assign]
    try:
        added = _version(99, 1, False, 1000)
        journal.append(added.record.id)
        changes = watch.look(records.set(added.record.id, added), journal, T0 + timedelta(seconds=1), True)
    finally:
        LiveRecords.__iter__ = original  # type: ignore[method-assign]
    assert [record_id for record_id, _ in changes] == [added.record.id]
    assert not walked


def test_records_of_a_replica_that_started_over_are_deleted_to_a_watch_that_showed_them() -> None:
    """A replica deleted (``PeerGroupDelete``) and made again under the same key holds none
    of the records a watch showed before: they are reported deleted, and the watch goes on."""
    shown = _version(1, 1, False, 1000)
    watch = RecordWatch()
    watch.look(Map({shown.record.id: shown}), [shown.record.id], T0, True)
    assert watch.look(Map(), [], T0, True) == [(shown.record.id, PeerRecordChangeType.PEER_RECORD_DELETED)]
    back = _version(1, 2, False, 1000)
    assert watch.look(Map({back.record.id: back}), [back.record.id], T0, True) == [(back.record.id, PeerRecordChangeType.PEER_RECORD_ADDED)]
