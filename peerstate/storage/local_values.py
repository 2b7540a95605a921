"""Values a store keeps for itself, outside its logs: changed in place and removed whole.

The logs are immutable, which is what an audit trail needs and what a secret or a counter
must not have. A password joiner's stretched password is needed only until its first sync,
and then must be gone, not merely unread; the throttle's counters of wrong passwords must
stay bounded however many guesses come. Both live here, in one table of named values:
``stored_values`` beside a SQLite store's logs, ``peerstore_values`` in a PostgreSQL
store's schema, a dict for a store in memory. Nothing here is replicated or signed; what
reads a value treats it as hostile bytes (it decodes strictly, or is taken as absent).

A store written before this table existed has none: it reads as empty, and a writable open
makes it.
"""

from __future__ import annotations

from typing import Any, Final, Protocol

SQLITE_TABLE: Final = "stored_values"
POSTGRES_TABLE: Final = "peerstore_values"


class LocalValues(Protocol):
    """Named byte strings, each written and removed in a transaction of its own."""

    def get(self, name: str) -> bytes | None: ...
    def put(self, name: str, value: bytes) -> None: ...
    def remove(self, name: str) -> None: ...


class ValuesInMemory:
    """The values of a store in memory, which only its own process sees."""

    def __init__(self) -> None:
        self._values: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        return self._values.get(name)

    def put(self, name: str, value: bytes) -> None:
        self._values[name] = value

    def remove(self, name: str) -> None:
        self._values.pop(name, None)


class ValuesInSQLite:
    """The values of a SQLite store, over the connections of its event recorder
    (eventsourcing's ``SQLiteDatastore``). A store opened read-only makes no table, and
    one written before the table (``present`` false) reads as having no values."""

    def __init__(self, datastore: Any, *, present: bool) -> None:
        self._datastore = datastore
        self._present = present

    def make_table(self) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {SQLITE_TABLE} (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._present = True

    def get(self, name: str) -> bytes | None:
        if not self._present:
            return None
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT value FROM {SQLITE_TABLE} WHERE name = ?", (name,))
            row = cursor.fetchone()
        return _bytes(row[0]) if row is not None else None

    def put(self, name: str, value: bytes) -> None:
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(f"INSERT OR REPLACE INTO {SQLITE_TABLE} (name, value) VALUES (?, ?)", (name, value))

    def remove(self, name: str) -> None:
        """Remove the value, its bytes with it: SQLite's ``secure_delete`` zeroes them on
        their page, and a checkpoint moves that page from the write-ahead log into the file
        and empties the log, where an earlier copy of the page would stay until the log
        wraps round."""
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute(f"DELETE FROM {SQLITE_TABLE} WHERE name = ?", (name,))
        with self._datastore.get_connection(commit=True) as connection:
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")


class ValuesInPostgres:
    """The values of a PostgreSQL store, in its schema, over its recorder's pool
    (eventsourcing's ``PostgresDatastore``). The table is made where the store's other
    tables are (``opening``), under the lock that serializes making them."""

    def __init__(self, datastore: Any, *, present: bool) -> None:
        from psycopg import sql

        self._datastore = datastore
        self._present = present
        self._table = sql.SQL("{}.{}").format(sql.Identifier(datastore.schema), sql.Identifier(POSTGRES_TABLE))

    def make_table(self) -> None:
        from psycopg import sql

        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, value BYTEA NOT NULL)").format(self._table))
        self._present = True

    def get(self, name: str) -> bytes | None:
        from psycopg import sql

        if not self._present:
            return None
        with self._datastore.transaction(commit=False) as cursor:
            cursor.execute(sql.SQL("SELECT value FROM {} WHERE name = %s").format(self._table), (name,))
            row = cursor.fetchone()
        return _bytes(row["value"]) if row is not None else None

    def put(self, name: str, value: bytes) -> None:
        from psycopg import sql

        statement = sql.SQL("INSERT INTO {} (name, value) VALUES (%s, %s) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value")
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(statement.format(self._table), (name, value))

    def remove(self, name: str) -> None:
        from psycopg import sql

        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(sql.SQL("DELETE FROM {} WHERE name = %s").format(self._table), (name,))


def _bytes(column: object) -> bytes | None:
    """A value's column as bytes; one edited into another type reads as absent."""
    return bytes(column) if isinstance(column, (bytes, bytearray, memoryview)) else None
