"""Where a peer's store lives: in memory, in a SQLite file under a directory, or in a schema
of a PostgreSQL database; and the places of several peers' stores under one location.

A location is None (memory), a path (a directory holding ``peer.sqlite3``), a URL
``postgresql://user:password@host:port/database?schema=name`` (the schema defaults to
``peerstate``), or ``env:``, the store eventsourcing's environment variables describe. Many peers share one PostgreSQL database each in a schema of its own, so no
peer ever sees another's rows; "under" a URL means schemas named after it, as "under" a
directory means subdirectories.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

from peerstate.bounds import MAX_SCHEMA_CHARS
from peerstate.registry import Refusal, rule

Location = str | Path | None
FROM_ENVIRONMENT: Final = "env:"
"""The store that eventsourcing's own environment variables describe (``PERSISTENCE_MODULE``,
``SQLITE_DBNAME``, ``POSTGRES_DBNAME`` and the other ``POSTGRES_*``): one store, for a
deployment configured that way."""
SQLITE_FILE: Final = "peer.sqlite3"
DEFAULT_SCHEMA: Final = "peerstate"
_SCHEMA: Final = re.compile(r"[a-z_][a-z0-9_]*")


def is_postgres(location: Location) -> bool:
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def parse_location(text: str) -> Path | str:
    """A location as a command line or a configuration gives it: a PostgreSQL URL or
    ``env:`` as it is, anything else a directory."""
    return text if is_postgres(text) or text == FROM_ENVIRONMENT else Path(text)


def schema_of(location: str) -> str:
    """The schema a PostgreSQL URL names (``E_INVALIDARG`` for one that is not a plain name)."""
    return schema_is_a_plain_name(parse_qs(urlsplit(location).query).get("schema", [DEFAULT_SCHEMA])[0])


@rule("E_INVALIDARG")
def schema_is_a_plain_name(schema: str) -> str:
    """A store's PostgreSQL schema is a lower-case name of letters, digits and ``_`` of at
    most 63 characters, so it is never quoted nor cut (``E_INVALIDARG``): the schema."""
    if not _SCHEMA.fullmatch(schema) or len(schema) > MAX_SCHEMA_CHARS:
        raise Refusal(f"the schema {schema!r} is not a lower-case name of at most {MAX_SCHEMA_CHARS} characters")
    return schema


def with_schema(location: str, schema: str) -> str:
    parts = urlsplit(location)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()} | {"schema": schema}
    return urlunsplit(parts._replace(query=urlencode(query)))


POOL: Final = {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "2"}
"""One connection a store, three at most: a server holds many peers' stores, and each peer
makes one call at a time."""


def postgres_environment(location: str) -> dict[str, str]:
    """eventsourcing's settings for the store at a PostgreSQL URL."""
    parts = urlsplit(location)
    database = url_names_a_database(location)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or ""),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema_of(location),
        "CREATE_TABLE": "y",
        **POOL,
    }


@rule("E_INVALIDARG")
def url_names_a_database(location: str) -> str:
    """A PostgreSQL URL names its database in its path (``E_INVALIDARG``): the database."""
    database = unquote(urlsplit(location).path.lstrip("/"))
    if not database:
        raise Refusal(f"{location!r} names no database")
    return database


def child(location: Path | str, name: str) -> Path | str:
    """The location of the store called ``name`` under ``location``: a subdirectory, or a
    schema named after the parent's and ``name`` (shortened with a hash when too long)."""
    if not is_postgres(location):
        return Path(location) / name
    assert isinstance(location, str)
    wanted = f"{schema_of(location)}_{re.sub(r'[^a-z0-9_]', '_', name.lower())}"
    if len(wanted) > MAX_SCHEMA_CHARS:
        wanted = f"{wanted[:MAX_SCHEMA_CHARS - 13]}_{hashlib.sha256(wanted.encode()).hexdigest()[:12]}"
    return with_schema(location, wanted)
