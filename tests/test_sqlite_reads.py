"""A SQLite store reads a log's rows through ``LogRowsRecorder``: the same rows as
eventsourcing's own recorder gives, for every way a log is read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder
from hypothesis import given, settings
from hypothesis import strategies as st

from peerstate.storage.locations import FROM_ENVIRONMENT
from peerstate.storage.sqlite_reads import MAPPED_BYTES, LogRowsRecorder
from peerstate.storage.opening import open_store

LOGS = (uuid.UUID(int=1), uuid.UUID(int=2))
EVENTS = 9
versions = st.none() | st.integers(0, EVENTS + 1)


@pytest.fixture(scope="module")
def recorders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SQLiteApplicationRecorder, LogRowsRecorder]]:
    """Both recorders over one SQLite file holding two logs of ``EVENTS`` rows each."""
    directory: Path = tmp_path_factory.mktemp("rows")
    store = open_store(directory)
    ours = store._app.recorder
    assert type(ours) is LogRowsRecorder
    ours.insert_events([
        StoredEvent(log, version, f"topic.{version}", f"{log.int}:{version}".encode())
        for version in range(1, EVENTS + 1) for log in LOGS
    ])
    yield SQLiteApplicationRecorder(ours.datastore), ours
    store.close()


@settings(max_examples=200)
@given(st.sampled_from(LOGS), st.booleans(), versions, versions, st.booleans(), versions)
def test_a_log_s_rows_are_the_ones_eventsourcing_s_recorder_reads(
    recorders: tuple[SQLiteApplicationRecorder, LogRowsRecorder], log: uuid.UUID, as_text: bool, gt: int | None,
    lte: int | None, desc: bool, limit: int | None,
) -> None:
    theirs, ours = recorders
    asked: uuid.UUID | str = log.hex if as_text else log
    expected = theirs.select_events(asked, gt=gt, lte=lte, desc=desc, limit=limit)
    assert ours.select_events(asked, gt=gt, lte=lte, desc=desc, limit=limit) == expected


def test_every_row_names_its_log_by_one_uuid(recorders: tuple[SQLiteApplicationRecorder, LogRowsRecorder]) -> None:
    _, ours = recorders
    rows = ours.select_events(LOGS[1].hex)
    assert len(rows) == EVENTS and {row.originator_id for row in rows} == {LOGS[1]}
    assert all(type(row.originator_id) is uuid.UUID for row in rows)


def test_the_connections_it_reads_through_map_the_file(recorders: tuple[SQLiteApplicationRecorder, LogRowsRecorder]) -> None:
    _, ours = recorders
    ours.select_events(LOGS[0], limit=1)
    with ours.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA mmap_size")
        assert cursor.fetchone()[0] == MAPPED_BYTES


def test_a_sqlite_store_from_the_environment_reads_so_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.sqlite")
    monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "peer.sqlite3"))
    for topic, recorder in (
        (None, LogRowsRecorder), ("eventsourcing.sqlite:SQLiteApplicationRecorder", SQLiteApplicationRecorder),
        ("peerstate.sqlite_reads:LogRowsRecorder", LogRowsRecorder),  # its topic before it moved into storage/
    ):
        if topic is not None:
            monkeypatch.setenv("APPLICATION_RECORDER_TOPIC", topic)
        store = open_store(FROM_ENVIRONMENT)
        assert type(store._app.recorder) is recorder
        store.close()

