"""Reading a log's rows from SQLite at the cost of the rows alone.

eventsourcing's SQLite recorder makes each row's ``StoredEvent`` from an ``sqlite3.Row`` by
column name and parses the row's originator id, as text, into a new ``UUID``: every row of
a log names the same log, and on a 10k-event log those two cost 1.8 µs a row, a tenth of
an open without a snapshot. And each connection reads the file through SQLite's page
cache, 2 MB by default: a log longer than that is read page by page with a system call
each, which on a new connection cost more than the rest of the reading. ``LogRowsRecorder``
reads the same rows, with the id it was asked for, its connections mapping the file into
memory (``PRAGMA mmap_size``): a speed trick, kept here.

Where it is used: eventsourcing's ``APPLICATION_RECORDER_TOPIC`` setting chooses it, and
the store sets that for every SQLite store it opens (``_SQLITE_READS``, in ``storage/``)
unless the environment names another recorder; so every read of a log from SQLite (an
open, a replay, the audit) goes through it.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any, Final
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnection, SQLiteDatastore
from eventsourcing.utils import register_topic

MAPPED_BYTES: Final = 1 << 30
"""How much of the file a connection maps: address space only, and SQLite reads anything
beyond it as before."""


class LogRowsRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, its ``select_events`` giving every
    row the one originator id it selected them by, through connections that map the file."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        self._mapping: weakref.WeakSet[SQLiteConnection] = weakref.WeakSet()
        """The pool's connections this recorder has had map the file: once each."""

    def select_events(
        self, originator_id: UUID | str, *, gt: int | None = None, lte: int | None = None, desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        the_id: UUID | str
        if isinstance(originator_id, UUID):
            the_id, column = originator_id, originator_id.hex
        else:
            the_id, column = self.convert_originator_id(originator_id), originator_id
        statement = f"SELECT originator_version, topic, state FROM {self.events_table_name} WHERE originator_id=? "
        params: list[Any] = [column]
        for clause, value in (("AND originator_version>? ", gt), ("AND originator_version<=? ", lte)):
            if value is not None:
                statement += clause
                params.append(value)
        statement += "ORDER BY originator_version " + ("DESC " if desc else "ASC ")
        if limit is not None:
            statement += "LIMIT ? "
            params.append(limit)
        with self.datastore.get_connection(commit=False) as connection, connection.transaction(commit=False) as cursor:
            if connection not in self._mapping:
                cursor.execute(f"PRAGMA mmap_size={MAPPED_BYTES}")
                self._mapping.add(connection)
            cursor.execute(statement, params)
            return [StoredEvent(the_id, version, topic, state) for version, topic, state in cursor.fetchall()]


register_topic("peerstate.sqlite_reads:LogRowsRecorder", LogRowsRecorder)
"""Its topic before it moved into ``storage/``: an ``env:`` store's environment may name it
in ``APPLICATION_RECORDER_TOPIC``, and a topic once valid stays so."""
