"""The tamper corpus: named mutations of a valid store, each of which ``peerstate verify`` must
report, and the forged envelopes among them a peer must refuse at sync.

The stores come from replaying ``scenarios/records/ready-and-roles.json`` (alice the
administrator, bob and carol members) once on each backend: in SQLite files, and in
PostgreSQL schemas (``tests/backends.py`` names the server). Each test edits a copy of its own
of one peer's store (a directory, or a uuid-named schema) as someone with the database would,
by SQL on eventsourcing's events table, one statement for both backends: a bit here or there,
rows dropped, doubled or swapped, or an envelope forged and re-signed. The strongest forger
also recomputes the log's hash chain after its edit ("relinked"), since the chain is a hash,
not a signature: those forgeries must still fail the envelope rules. Replayed with a
passphrase, the stores are sealed (issue 31): a normal open with it refuses every mutation
but the one ``NOT_READ_AT_OPEN`` names.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import attrs
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from psycopg.sql import SQL, Identifier

from peerstate import Peer, PeerError, PeerSettings, audit, crypto, open_store
from peerstate.peer import sync_port
from peerstate.sync import admission
from peerstate.crypto import credentials
from peerstate.domain.group_events import (
    CredentialIssued,
    CredentialTaken,
    Envelope,
    EnvelopeAccepted,
    MembershipPublished,
    RecordPublished,
    ReplicaConnected,
)
from peerstate.domain.events import IdentityCreated
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.names import ROLE_ADMIN
from peerstate.scenario import load_scenario, replay
from peerstate.storage.locations import SQLITE_FILE, child, postgres_environment, schema_of, with_schema
from peerstate.storage.logs import CommitLedger, IdentityLog, ReplicaLog, chain_link, chain_start
from peerstate.storage.opening import _connect, postgres_stores

from tests.backends import postgres_server
from tests.conftest import T0

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "records" / "ready-and-roles.json"
PASSPHRASE: Final = "the peers' passphrase"


class Rows(ABC):
    """One store, open, and its rows in eventsourcing's events table (``originator_id``,
    ``originator_version``, ``topic``, ``state``), edited by SQL as a forger with the database
    would. Events are written back through the store's own encoding, so that what changes is
    only what the mutation says. A statement names the table ``self.table`` and marks its
    parameters ``?``; a UUID parameter is a log's id, spelled as the backend stores it.

    The store stays open while its rows are edited: it caches no row, so it reads every edit,
    and opening a PostgreSQL store (a schema, a pool, eventsourcing's tables checked) costs
    more than verifying it. ``passphrase`` is the stores' own, when they have one: the
    forgers that re-sign are given a member's key, as one who had stolen it."""

    passphrase: str | None = None

    def __init__(self, location: Path | str, root: Path | str) -> None:
        self.location = location
        self.root = root
        """Where the scenario's pristine stores are, the other peers' among them."""
        self.store = open_store(location)  # on PostgreSQL, this makes a copy's schema and table as peerstate does
        # eventsourcing's: each backend's recorder names its table, the abstract recorder does not
        self.table: str = self.store._app.recorder.events_table_name  # type: ignore[attr-defined]
        self._db = self._connection()

    @classmethod
    def copy(cls, root: Path | str, peer: str) -> Rows:
        """A copy of ``peer``'s pristine store under ``root``, the caller's own: a store of its
        own name under ``root``, so that it goes when the pristine stores go."""
        return cls._copied(child(root, peer), child(root, f"{peer}_copy_{uuid.uuid4().hex[:16]}"), root)

    @classmethod
    @abstractmethod
    def _copied(cls, source: Path | str, target: Path | str, root: Path | str) -> Rows:
        """The rows of a new store at ``target`` holding exactly the rows of ``source``."""

    @abstractmethod
    def sql(self, statement: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """Run ``statement`` on the store's rows, committed at once; the rows it selects."""

    def can_store(self, value: object) -> bool:
        """Whether a column of the backend can hold ``value`` at all: a forger cannot write
        what the database refuses."""
        return True

    @abstractmethod
    def _connection(self) -> Any:
        """A connection of the test's own to the store's rows, committing each statement."""

    def close(self) -> None:
        self._db.close()
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None) -> None:
        self.close()

    def log(self, originator: Any) -> list[Any]:
        return self.store.stored_log(originator)

    def write(self, events: list[Any]) -> None:
        for row in map(self.store._app.mapper.to_stored_event, events):
            self.sql(
                f"update {self.table} set state = ? where originator_id = ? and originator_version = ?",
                row.state, row.originator_id, row.originator_version,
            )

    def replace(self, originator: Any, version: int, change: Callable[[Any], Any], *, relink: bool) -> None:
        """Replace the event at ``version`` by ``change(event)``; with ``relink``, recompute
        the hash chain from there on, as a forger who knows the scheme would."""
        events = self.log(originator)
        events[version - 1] = change(events[version - 1])
        if relink:
            previous = events[version - 2].link if version > 2 else chain_start(originator, events[0].timestamp)
            for index in range(version - 1, len(events)):
                event = events[index]
                link = chain_link(previous, event.originator_version, event.timestamp, event.payload)
                events[index] = dataclasses.replace(event, link=link)
                previous = link
        self.write(events[version - 1:])


class SqliteRows(Rows):
    """The rows of a store's SQLite file, where a log's id is its UUID's 32 hex digits."""

    def _connection(self) -> sqlite3.Connection:
        return sqlite3.connect(Path(self.location) / SQLITE_FILE, isolation_level=None)

    @classmethod
    def _copied(cls, source: Path | str, target: Path | str, root: Path | str) -> Rows:
        shutil.copytree(source, target)
        return cls(target, root)

    def sql(self, statement: str, *parameters: Any) -> list[tuple[Any, ...]]:
        adapted = [value.hex if isinstance(value, uuid.UUID) else value for value in parameters]
        selected: list[tuple[Any, ...]] = self._db.execute(statement, adapted).fetchall()
        return selected


class PostgresRows(Rows):
    """The rows of a store's PostgreSQL schema. eventsourcing names the table after the
    application (``peerstore_events``, not SQLite's ``stored_events``), numbers rows by a
    ``notification_id`` sequence, and puts both in the schema the URL names, which this
    connection searches first."""

    def _connection(self) -> Any:
        db = _connect(postgres_environment(str(self.location)))
        db.execute("select set_config('search_path', %s, false)", (schema_of(str(self.location)),))
        return db

    @classmethod
    def _copied(cls, source: Path | str, target: Path | str, root: Path | str) -> Rows:
        """A schema cannot be copied as a directory is: each table of the new store (the
        events', and any other eventsourcing makes, such as snapshots') is filled with the
        source's rows, and the events' sequence set past them, so that a row added later is
        numbered as it would be in the source."""
        rows = cls(target, root)
        schema = schema_of(str(source))
        for (table,) in rows.sql("select table_name from information_schema.tables where table_schema = ?", schema):
            rows.sql(f"insert into {table} select * from {schema}.{table}")
        rows.sql(f"select setval(pg_get_serial_sequence(?, 'notification_id'), max(notification_id)) from {rows.table}", rows.table)
        return rows

    def sql(self, statement: str, *parameters: Any) -> list[tuple[Any, ...]]:
        """psycopg marks parameters ``%s`` where sqlite3 takes ``?`` (the statements hold no
        other ``?`` and no ``%``)."""
        cursor = self._db.execute(statement.replace("?", "%s"), parameters)
        return cursor.fetchall() if cursor.description else []

    def can_store(self, value: object) -> bool:
        """PostgreSQL's text holds no NUL character."""
        return not (isinstance(value, str) and "\x00" in value)


def _drop_stores_under(root: str) -> None:
    """Drop the replay's schemas and the copies', all named after the root's: the database is
    shared, and they would pile up there run after run."""
    with _connect(postgres_environment(root)) as db:
        for store in postgres_stores(root):
            db.execute(SQL("drop schema {} cascade").format(Identifier(schema_of(store))))


class SealedSqliteRows(SqliteRows):
    passphrase = PASSPHRASE


class SealedPostgresRows(PostgresRows):
    passphrase = PASSPHRASE


def _copies(kind: type[Rows], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Rows]]:
    """Copies, each the caller's own, of the peers' stores as the scenario's replay left them
    on ``kind``'s backend, under ``kind``'s passphrase. The replay runs once a module:
    copying one store costs a small part of it."""
    root: Path | str = (
        tmp_path_factory.mktemp("pristine") if issubclass(kind, SqliteRows)
        else with_schema(postgres_server(), f"tamper_{uuid.uuid4().hex[:12]}")
    )
    scenario = SCENARIO
    if kind.passphrase is not None:
        document = json.loads(SCENARIO.read_text(encoding="utf-8"))
        document["peers"] = {peer: {"passphrase": kind.passphrase} for peer in ("alice", "bob", "carol")}
        scenario = tmp_path_factory.mktemp("sealed") / SCENARIO.name
        scenario.write_text(json.dumps(document), encoding="utf-8")
    try:
        assert all(result.passed for result in replay(load_scenario(scenario), store_root=root))
        yield functools.partial(kind.copy, root)
    finally:
        if isinstance(root, str):
            _drop_stores_under(root)


@pytest.fixture(scope="module", params=[SqliteRows, PostgresRows], ids=["sqlite", "postgres"])
def copy_of(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Rows]]:
    """A copy of a peer's store as the scenario's replay left it, on each backend."""
    yield from _copies(request.param, tmp_path_factory)


@pytest.fixture(scope="module", params=[SealedSqliteRows, SealedPostgresRows], ids=["sqlite", "postgres"])
def sealed_copy_of(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Rows]]:
    """The same, the peers' stores protected by a passphrase, and so sealed (``store_seal``)."""
    yield from _copies(request.param, tmp_path_factory)


def _replica(rows: Rows) -> Any:
    return ReplicaLog.create_id(*rows.store.replica_keys()[0])


def _where(rows: Rows, wanted: Callable[[Any], bool]) -> int:
    """The version of the first replica-log event whose payload ``wanted`` picks."""
    version: int = next(event.originator_version for event in rows.log(_replica(rows)) if wanted(getattr(event, "payload", None)))
    return version


def _accepted(kind: type, author_suffix: str = "") -> Callable[[Any], bool]:
    return lambda payload: (
        isinstance(payload, EnvelopeAccepted) and isinstance(payload.envelope.payload, kind)
        and payload.envelope.author.endswith(author_suffix)
    )


def _edit_envelope(change: Callable[[Envelope], Envelope]) -> Callable[[Any], Any]:
    def edit(event: Any) -> Any:
        accepted = event.payload
        return dataclasses.replace(event, payload=attrs.evolve(accepted, envelope=change(accepted.envelope)))
    return edit


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def _signed_by(key: crypto.PrivateKey, envelope: Envelope) -> Envelope:
    unsigned = attrs.evolve(envelope, signature=b"")
    return attrs.evolve(unsigned, signature=credentials.sign(key, admission.signed_part(unsigned)))


def _key_of(location: Path | str, passphrase: str | None = None) -> crypto.PrivateKey:
    """The private key of the one identity a scenario peer's store holds."""
    with closing(open_store(location)) as store:
        peer = Peer(store, settings=PeerSettings(passphrase=passphrase), clock=lambda: T0)
        record = next(iter(peer._runtime.state.identities.values()))
        return peer._runtime.identity_key(record)


# The mutations -----------------------------------------------------------------------------


def signature_bit(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    rows.replace(_replica(rows), version, _edit_envelope(lambda e: attrs.evolve(e, signature=_flip(e.signature))), relink=False)


def payload_bit(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    change = _edit_envelope(lambda e: attrs.evolve(e, payload=RecordPublished(attrs.evolve(e.payload.record, data=_flip(e.payload.record.data or b"\x00")))))  # type: ignore[union-attr]
    rows.replace(_replica(rows), version, change, relink=False)


def previous_hash_bit(rows: Rows) -> None:
    version = _where(rows, lambda p: isinstance(p, EnvelopeAccepted) and p.envelope.seq > 1)
    rows.replace(_replica(rows), version, _edit_envelope(lambda e: attrs.evolve(e, prev=_flip(e.prev))), relink=False)


def own_event_time(rows: Rows) -> None:
    version = _where(rows, lambda p: isinstance(p, ReplicaConnected))
    rows.replace(_replica(rows), version, lambda e: dataclasses.replace(e, payload=attrs.evolve(e.payload, at=e.payload.at + timedelta(seconds=1))), relink=False)


def identity_renamed(rows: Rows) -> None:
    originator = IdentityLog.create_id("identities")
    version = next(e.originator_version for e in rows.log(originator) if isinstance(getattr(e, "payload", None), IdentityCreated))
    rows.replace(originator, version, lambda e: dataclasses.replace(e, payload=attrs.evolve(e.payload, friendly_name="Mallory")), relink=False)


def row_timestamp(rows: Rows) -> None:
    version = _where(rows, lambda p: isinstance(p, ReplicaConnected))
    rows.replace(_replica(rows), version, lambda e: dataclasses.replace(e, timestamp=e.timestamp + timedelta(seconds=1)), relink=False)


def dropped(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    rows.sql(f"delete from {rows.table} where originator_id = ? and originator_version = ?", _replica(rows), version)


def duplicated(rows: Rows) -> None:
    originator = _replica(rows)
    events = rows.log(originator)
    version = _where(rows, _accepted(RecordPublished))
    rows.sql(
        f"insert into {rows.table} (originator_id, originator_version, topic, state) "
        f"select originator_id, ?, topic, state from {rows.table} where originator_id = ? and originator_version = ?",
        len(events) + 1, originator, version,
    )


def swapped(rows: Rows) -> None:
    originator = _replica(rows)
    first = _where(rows, _accepted(RecordPublished))
    rows.sql(
        f"update {rows.table} set state = case originator_version when ? then (select state from {rows.table} where originator_id = ? and originator_version = ?) "
        f"else (select state from {rows.table} where originator_id = ? and originator_version = ?) end "
        "where originator_id = ? and originator_version in (?, ?)",
        first, originator, first + 1, originator, first, originator, first, first + 1,
    )


def cut_short(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    rows.sql(f"update {rows.table} set state = substr(state, 1, length(state) - 9) where originator_id = ? and originator_version = ?", _replica(rows), version)


def last_rows_deleted(rows: Rows) -> None:
    last = len(rows.log(_replica(rows)))
    rows.sql(f"delete from {rows.table} where originator_id = ? and originator_version > ?", _replica(rows), last - 2)


def identity_log_tail_deleted(rows: Rows) -> None:
    originator = IdentityLog.create_id("identities")
    rows.sql(f"delete from {rows.table} where originator_id = ? and originator_version = ?", originator, len(rows.log(originator)))


def ledger_entry_edited(rows: Rows) -> None:
    entries = rows.log(CommitLedger.ID)
    rows.write([dataclasses.replace(entries[len(entries) // 2], payload=entries[len(entries) // 2].payload[:-1] or entries[0].payload)])


def tag_renamed(rows: Rows) -> None:
    """A nested value's type tag misspelt: the row still parses as JSON, and no longer
    decodes to the value its field's type asks for."""
    version = _where(rows, _accepted(RecordPublished))
    ((state,),) = rows.sql(f"select state from {rows.table} where originator_id = ? and originator_version = ?", _replica(rows), version)
    edited = bytes(state).replace(b'{"@type":"Record"', b'{"^type":"Record"', 1)
    assert edited != bytes(state)
    rows.sql(f"update {rows.table} set state = ? where originator_id = ? and originator_version = ?", edited, _replica(rows), version)


def resigned_by_a_stranger(rows: Rows) -> None:
    stranger = crypto.generate_identity_key()
    version = _where(rows, _accepted(RecordPublished))
    rows.replace(_replica(rows), version, _edit_envelope(lambda e: _signed_by(stranger, attrs.evolve(e, payload=RecordPublished(attrs.evolve(e.payload.record, data=b"forged"))))), relink=True)  # type: ignore[union-attr]


def member_makes_an_administrator(rows: Rows) -> None:
    """bob, a member, turns his membership publication into an administrator's credential
    for himself, signed with his own key."""
    bob_key = _key_of(child(rows.root, "bob"), rows.passphrase)
    originator = _replica(rows)
    version = _where(rows, _accepted(MembershipPublished, ".bob"))
    group = _group_at(rows, version)

    def forge(envelope: Envelope) -> Envelope:
        own = group.credentials[envelope.credential]
        der = credentials.issue_membership(
            bob_key, own.der, group_peer_name=envelope.group, subject=own.subject,
            subject_friendly_name=own.subject_friendly_name, subject_public_key=own.public_key, roles=[ROLE_ADMIN],
            not_before=own.not_before, not_after=own.not_after,
        )
        parsed = credentials.read_membership(der)
        issued = attrs.evolve(own, fingerprint=parsed.fingerprint, der=der, roles=(ROLE_ADMIN,), issuer=own.fingerprint, chain_length=own.chain_length + 1)
        return _signed_by(bob_key, attrs.evolve(envelope, payload=CredentialIssued(issued, "stored")))

    rows.replace(originator, version, _edit_envelope(forge), relink=True)


def gmc_link_replaced(rows: Rows) -> None:
    """bob's taking-up of his credential presents carol's GMC in place of his own, re-signed by bob."""
    bob_key = _key_of(child(rows.root, "bob"), rows.passphrase)
    version = _where(rows, _accepted(CredentialTaken, ".bob"))
    carols = next(
        e.payload.envelope.payload.chain[-1] for e in rows.log(_replica(rows))
        if _accepted(CredentialTaken, ".carol")(getattr(e, "payload", None))
    )

    def forge(envelope: Envelope) -> Envelope:
        chain = envelope.payload.chain  # type: ignore[union-attr]
        leaf = attrs.evolve(chain[-1], der=carols.der)
        return _signed_by(bob_key, attrs.evolve(envelope, payload=CredentialTaken((*chain[:-1], leaf))))

    rows.replace(_replica(rows), version, _edit_envelope(forge), relink=True)


def _group_at(rows: Rows, version: int) -> GroupState:
    """The group as alice's replica held it just before the event at ``version``."""
    events = rows.log(_replica(rows))
    _, group_name = rows.store.replica_keys()[0]
    group = GroupState(group_name)
    for event in events[1:version - 1]:
        if isinstance(event.payload, EnvelopeAccepted):
            group = apply_envelope(group, event.payload.envelope, event.payload.id)
    return group


MUTATIONS: dict[str, tuple[Callable[[Rows], None], set[str]]] = {
    "a signature bit flipped": (signature_bit, {"chain_holds", "signature_verifies"}),
    "a payload bit flipped": (payload_bit, {"chain_holds", "signature_verifies"}),
    "a previous-hash bit flipped": (previous_hash_bit, {"chain_holds", "author_chain_continues"}),
    "a replica's own event edited": (own_event_time, {"chain_holds"}),
    "an identity renamed in the identity log": (identity_renamed, {"chain_holds"}),
    "a row's timestamp edited": (row_timestamp, {"chain_holds"}),
    "an event dropped": (dropped, {"log_is_contiguous", "chain_holds"}),
    "an event duplicated": (duplicated, {"chain_holds"}),
    "two events swapped": (swapped, {"chain_holds"}),
    "a row cut short": (cut_short, {"row_decodes"}),
    "a type tag renamed": (tag_renamed, {"row_decodes", "rows_read"}),
    "a log's last rows deleted": (last_rows_deleted, {"ledger_matches"}),
    "the identity log's last row deleted": (identity_log_tail_deleted, {"ledger_matches"}),
    "a ledger entry edited": (ledger_entry_edited, {"chain_holds"}),
    "re-signed by a non-member, chain relinked": (resigned_by_a_stranger, {"signature_verifies"}),
    "a member's key for an administrator's act, chain relinked": (member_makes_an_administrator, {"may_grant_roles"}),
    "a GMC link replaced, chain relinked": (gmc_link_replaced, {"credential_matches_certificate"}),
}


@pytest.mark.parametrize("mutation", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_verify_reports_every_mutation(copy_of: Callable[[str], Rows], mutation: tuple[Callable[[Rows], None], set[str]]) -> None:
    mutate, rules = mutation
    with copy_of("alice") as rows:
        assert audit.verify_store(rows.store).holds
        mutate(rows)
        found = {finding.rule for finding in audit.verify_store(rows.store).findings}
    assert found & rules, found


NOT_READ_AT_OPEN: Final = {
    "a ledger entry edited": "an entry in the middle of the ledger, which no open reads: the open's cost would grow "
    "with the store's commits (issue 31); verify reads it",
}
"""The mutations a normal open with the passphrase does not notice, and why."""


@pytest.mark.parametrize(
    "mutation", [mutation for name, mutation in MUTATIONS.items() if name not in NOT_READ_AT_OPEN],
    ids=[name for name in MUTATIONS if name not in NOT_READ_AT_OPEN],
)
def test_a_normal_open_with_the_passphrase_notices_every_mutation(
    sealed_copy_of: Callable[[str], Rows], mutation: tuple[Callable[[Rows], None], set[str]],
) -> None:
    """alice's store protected, edited by someone without its passphrase: her peer, opened
    as usual with it, refuses to serve it before any of her replicas is read
    (``PEER_E_INVALID_DATABASE``), where verify would have been needed before."""
    mutate, _ = mutation
    with sealed_copy_of("alice") as rows:
        mutate(rows)
        location, keys, head = rows.location, rows.store.replica_keys(), rows.store.head()
    with pytest.raises(PeerError) as refused:
        peer = Peer(open_store(location), settings=PeerSettings(passphrase=PASSPHRASE), clock=lambda: T0)
        for key in keys:
            sync_port(peer).sync_replica(key)
    assert refused.value.name == "PEER_E_INVALID_DATABASE"
    with closing(open_store(location, read_only=True)) as store:
        assert store.head() == head  # the refused open stored nothing


def test_an_unedited_sealed_store_opens(sealed_copy_of: Callable[[str], Rows]) -> None:
    with sealed_copy_of("alice") as rows:
        location, keys = rows.location, rows.store.replica_keys()
    peer = Peer(open_store(location), settings=PeerSettings(passphrase=PASSPHRASE), clock=lambda: T0)
    assert all(sync_port(peer).sync_replica(key).state.synchronized for key in keys) and not peer.sealed_on_open


def test_a_middle_ledger_entry_edited_is_for_verify(sealed_copy_of: Callable[[str], Rows]) -> None:
    """What ``NOT_READ_AT_OPEN`` says: the open serves the store, and verify finds the edit."""
    mutate, rules = MUTATIONS["a ledger entry edited"]
    with sealed_copy_of("alice") as rows:
        mutate(rows)
        location, keys = rows.location, rows.store.replica_keys()
        assert {finding.rule for finding in audit.verify_store(rows.store).findings} & rules
    peer = Peer(open_store(location), settings=PeerSettings(passphrase=PASSPHRASE), clock=lambda: T0)
    assert all(sync_port(peer).sync_replica(key).state.synchronized for key in keys)


FORGERIES = {name: MUTATIONS[name] for name in MUTATIONS if "relinked" in name}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_envelope_is_refused_by_the_admission_sync_uses(
    copy_of: Callable[[str], Rows], forgery: tuple[Callable[[Rows], None], set[str]],
) -> None:
    """Offered by sync to a replica that holds everything before it, the forged envelope is
    refused by the rule the mutation breaks, not merely as a second envelope of its number."""
    forge, rules = forgery
    with copy_of("alice") as rows:
        before = rows.log(_replica(rows))
        forge(rows)
        after = rows.log(_replica(rows))
        changed = [
            (index, event.payload.envelope) for index, (event, original) in enumerate(zip(after, before))
            if isinstance(getattr(event, "payload", None), EnvelopeAccepted) and event.payload != original.payload
        ]
        assert len(changed) == 1
        index, forged = changed[0]
        with pytest.raises(admission.Refused) as caught:
            admission.admit(_group_at(rows, index + 1), forged)
    assert caught.value.rule in rules


def _altered(value: bytes | str | uuid.UUID, offset: int, mask: int) -> bytes | str | uuid.UUID:
    """``value`` with one byte altered: a blob's; a text's UTF-8, read back as Latin-1 so
    that any byte is a character; or one of a PostgreSQL ``uuid``'s 16, which hold nothing
    else."""
    data = bytearray(value.bytes if isinstance(value, uuid.UUID) else value if isinstance(value, bytes) else value.encode())
    data[offset % len(data)] ^= mask
    if isinstance(value, uuid.UUID):
        return uuid.UUID(bytes=bytes(data))
    return bytes(data) if isinstance(value, bytes) else bytes(data).decode("latin-1")


@pytest.fixture(scope="module")
def bob(copy_of: Callable[[str], Rows]) -> Iterator[Rows]:
    """One copy of bob's store for every example of the property, each undoing its edit:
    a copy an example would double the property's time on PostgreSQL."""
    with copy_of("bob") as rows:
        yield rows


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0), st.integers(1, 255), st.sampled_from(["state", "topic", "originator_id"]))
def test_any_single_altered_byte_of_any_row_is_reported(bob: Rows, row: int, offset: int, mask: int, column: str) -> None:
    column_of_every_row = f"select originator_id, originator_version, {column} from {bob.table} order by originator_id, originator_version"
    edit = f"update {bob.table} set {column} = ? where originator_id = ? and originator_version = ?"
    pristine = bob.sql(column_of_every_row)
    originator, version, value = pristine[row % len(pristine)]
    altered = _altered(value, offset, mask)
    assume(bob.can_store(altered))
    bob.sql(edit, altered, originator, version)
    try:
        assert not audit.verify_store(bob.store).holds
    finally:
        bob.sql(edit, value, altered if column == "originator_id" else originator, version)
    assert bob.sql(column_of_every_row) == pristine, "the edit was not undone"
