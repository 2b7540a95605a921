"""Opening a store: from a location (``locations``) to the eventsourcing settings of its
backend (in memory, a SQLite file, a PostgreSQL schema), and from those to a ``PeerStore``
whose writers take turns across processes.

Everything that knows a backend is here, so that the store object does not: making a
SQLite store's directory, or a PostgreSQL schema and its tables once however many processes
open it at the same time; opening a store read-only, which makes nothing and changes not a
byte (``NotAStore`` where no store is); the lock each backend's writers take
(``writer_turns``); and listing the stores under a PostgreSQL URL.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any, Final, cast

from eventsourcing.utils import get_topic

from peerstate.registry import Refusal, rule
from peerstate.storage.local_values import (
    POSTGRES_TABLE,
    SQLITE_TABLE,
    LocalValues,
    ValuesInMemory,
    ValuesInPostgres,
    ValuesInSQLite,
)
from peerstate.storage.locations import FROM_ENVIRONMENT, POOL, SQLITE_FILE, Location, is_postgres, postgres_environment, with_schema
from peerstate.storage.peer_store import PeerApplication, PeerStore
from peerstate.storage.sqlite_reads import LogRowsRecorder
from peerstate.storage.writer_turns import AdvisoryLock, LockFile, ProcessLock, WriterTurn

_SQLITE_READS: Final = {"APPLICATION_RECORDER_TOPIC": get_topic(LogRowsRecorder)}
"""A SQLite store's logs are read by ``LogRowsRecorder``, unless the environment names another recorder."""


class NotAStore(Exception):
    """A read-only open found no peerstate store where it looked: reading a location must
    neither make a store there nor change what is there, so it stops instead."""


def open_store(location: Location, *, read_only: bool = False) -> PeerStore:
    """The store at ``location`` (``locations``): a directory, made if missing, holding one
    SQLite file; a schema of a PostgreSQL database, made if missing; or, for None, a new
    store in memory.

    ``read_only`` is for reading a store that is already there (the commands that show and
    verify stores): nothing is made, no directory, schema or table, and a SQLite file is
    opened read-only, so that not a byte of it changes; ``NotAStore`` when the location
    holds no peerstate tables. Such a store is for reading only: on PostgreSQL nothing but
    the caller keeps it from being written."""
    settings = _read_only(_settings(location, make=False)) if read_only else _settings(location)
    writable_postgres = is_postgres_settings(settings) and not read_only
    app, values = _open_postgres(settings) if writable_postgres else _open(settings, read_only)
    return PeerStore(app, WriterTurn(None if read_only else _process_lock(settings)), values)


def _open(settings: dict[str, str], read_only: bool) -> tuple[PeerApplication, LocalValues]:
    """The application and its values (``local_values``) on any backend but a writable
    PostgreSQL schema: a writable SQLite store makes its values' table if missing."""
    app = PeerApplication(env=settings)
    module = settings["PERSISTENCE_MODULE"]
    if module == "eventsourcing.sqlite":
        sqlite = ValuesInSQLite(_datastore(app), present=not read_only or SQLITE_TABLE in _sqlite_tables(settings["SQLITE_DBNAME"]))
        if not read_only:
            sqlite.make_table()
        return app, sqlite
    if is_postgres_settings(settings):
        return app, ValuesInPostgres(_datastore(app), present=POSTGRES_TABLE in _postgres_tables(settings))
    return app, ValuesInMemory()


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


def _environment_settings() -> dict[str, str]:
    """The settings eventsourcing's environment variables give; on PostgreSQL, with
    peerstate's small pool and its schema made, unless the environment says otherwise."""
    given = {
        key: value for key, value in os.environ.items()
        if key.startswith(("PERSISTENCE_", "SQLITE_", "POSTGRES_")) or key == "APPLICATION_RECORDER_TOPIC"
    }
    environment_names_a_store(given)
    if given["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        return {**_SQLITE_READS, **given}
    if given["PERSISTENCE_MODULE"] != "eventsourcing.postgres":
        return given
    defaults = {"POSTGRES_HOST": "localhost", "POSTGRES_PORT": "5432", "POSTGRES_USER": "", "POSTGRES_PASSWORD": "", "POSTGRES_SCHEMA": "public"}
    return {**defaults, "CREATE_TABLE": "y", **POOL, **given}


@rule("E_INVALIDARG")
def environment_names_a_store(given: Mapping[str, str]) -> None:
    """``env:`` is a store only where eventsourcing's environment names one: its
    ``PERSISTENCE_MODULE`` is set (``E_INVALIDARG``)."""
    if "PERSISTENCE_MODULE" not in given:
        raise Refusal(f"{FROM_ENVIRONMENT} names the store eventsourcing's environment describes, and PERSISTENCE_MODULE is not set")


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


def _store_tables(settings: dict[str, str]) -> tuple[str, str]:
    """The tables of a store's events and snapshots, as eventsourcing names them: after the
    application on PostgreSQL (``peerstore_events``), ``stored_`` on SQLite."""
    prefix = PeerApplication.name.lower() if is_postgres_settings(settings) else "stored"
    return f"{prefix}_events", f"{prefix}_snapshots"


def is_postgres_settings(settings: dict[str, str]) -> bool:
    return settings["PERSISTENCE_MODULE"] == "eventsourcing.postgres"


def _datastore(app: PeerApplication) -> Any:
    """The connections of the application's recorder (eventsourcing's SQLite or PostgreSQL
    datastore), which the store's values share."""
    return cast(Any, app.recorder).datastore


def _open_postgres(env: dict[str, str]) -> tuple[PeerApplication, LocalValues]:
    """The application and its values on a PostgreSQL schema, made with its tables if missing. Two processes
    making one schema's tables at once make PostgreSQL fail ("tuple concurrently updated"),
    so the making is serialized by an advisory lock named after the schema."""
    from psycopg import sql

    lock = int.from_bytes(hashlib.sha256(env["POSTGRES_SCHEMA"].encode()).digest()[:8], "big", signed=True)
    with _connect(env) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (lock,))
        try:
            connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(env["POSTGRES_SCHEMA"])))
            app = PeerApplication(env=env)
            values = ValuesInPostgres(_datastore(app), present=True)
            values.make_table()
            return app, values
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (lock,))


def _process_lock(settings: dict[str, str]) -> ProcessLock | None:
    """The lock the store's writers take across processes: none for a store only one
    process can see (in memory)."""
    if is_postgres_settings(settings):
        return AdvisoryLock(lambda: _connect(settings), settings["POSTGRES_SCHEMA"])
    database = settings.get("SQLITE_DBNAME", "")
    if settings["PERSISTENCE_MODULE"] == "eventsourcing.sqlite" and database and "memory" not in database:
        return LockFile(f"{database}.lock")
    return None


def _connect(env: dict[str, str]) -> Any:
    import psycopg  # only a PostgreSQL store needs it: the ``postgres`` extra

    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"] or None, password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
    )


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
