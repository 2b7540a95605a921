"""Compatibility: stores and encodings written by earlier code still open, verify and
replay to the state they held, with today's code.

Each directory under ``tests/compat/`` is a fixture set made once by
``tests/compat/make_fixtures.py`` from one commit (its docstring says how): five machines'
SQLite stores, a PostgreSQL dump of the same machines' stores, what each store derived to
then (``sqlite.json``, ``postgres.json``), and the canonical encoding of a real value of
every type the wire writes (``golden/``). Every change keeps these passing; a deliberate
change of a format adds a migration and a new set beside the old ones, never edits a set.

A store is copied (or the dump loaded under a schema of this test's) before it is opened:
opening a SQLite file writes to it. ``SHA256SUMS`` in each set shows that no fixture file
changed, before and after the tests.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from peerstate import Peer, PeerSettings, network, open_store, wire
from peerstate.peer import sync_port
from peerstate.sync import admission
from peerstate.audit import verify_store
from peerstate.domain.replica import WRONG_PASSWORD_RULE
from peerstate.storage.locations import SQLITE_FILE, Location, child, with_schema
from peerstate.names import ROLE_MEMBER
from peerstate.storage.logs import ReplicaLog

from backends import postgres_server
from compat.derived import (
    POSTGRES_SCHEMA,
    UNIONS,
    derived_state,
    identities_replayed,
    peer_view,
    replica_replayed,
    unions_of,
    wire_types,
)

COMPAT = Path(__file__).resolve().parent / "compat"
SETS = sorted(path for path in COMPAT.iterdir() if (path / "SHA256SUMS").is_file())
BACKENDS = ("sqlite", "postgres")
RETIRED_MESSAGES = {
    "Hello": "the sync hello, named by kind since issue 27 (MemberHello, PasswordHello, ExpiredMemberHello)",
}
"""Sync messages an earlier set pinned that the conversation no longer sends, each with why.
A message travels and is never stored, so no store holds one and no migration is owed; a
stored type may never be retired (``test_only_messages_are_retired``)."""
GOLDEN = [
    path for fixtures in SETS for path in sorted((fixtures / "golden").glob("*.json"))
    if path.name != "index.json" and path.stem not in RETIRED_MESSAGES
]
NOT_YET_PINNED = {
    **dict.fromkeys(
        ("MemberHello", "PasswordHello", "More", "End"),
        "a sync message of the state tables (issue 27), after v0.1.0-a578c78: pin it in the next set",
    ),
    "ExpiredMemberHello": "a sync message added by 2371bc6, after the set v0.1.0-a578c78 was made: pin it in the next set",
    **dict.fromkeys(
        ("RefusalsCounted", "RuleCount", "SenderRefusals"),
        "a replica's refusals counted per batch and per sender (issue 27), after v0.1.0-a578c78: pin it in the next set",
    ),
    "EnvelopeHeld": "an envelope that waits for data (issue 28), after v0.1.0-a578c78: pin it in the next set",
    "ForkDetected": "the evidence of a fork (issue 28), after v0.1.0-a578c78: pin it in the next set",
    "Seen": "a place an envelope's context cites (issue 29), after v0.1.0-a578c78: pin it in the next set",
    "Place": "where a credential was delivered, in a snapshot (issue 29), after v0.1.0-a578c78: pin it in the next set",
    "ActionsVoided": "envelopes a concurrent demotion voids (issue 29), after v0.1.0-a578c78: pin it in the next set",
}
"""Wire types known to have no golden encoding yet, each with why. The test holds the list
to exactly the types without one, so a type leaves it when a set pins it, and none joins
it unseen."""


def _recorded(fixtures: Path, backend: str) -> dict[str, Any]:
    """What the generator recorded of the set's stores on ``backend``."""
    recorded: dict[str, Any] = json.loads((fixtures / f"{backend}.json").read_text())
    return recorded


def _stores(*, passphrase_only: bool = False) -> list[Any]:
    """A parameter per store of every set on each backend."""
    cases = []
    for fixtures in SETS:
        for backend in BACKENDS:
            for machine, store in _recorded(fixtures, backend)["stores"].items():
                if passphrase_only and not store["passphrase"]:
                    continue
                cases.append(pytest.param(fixtures, backend, machine, id=f"{fixtures.name}-{backend}-{machine}"))
    return cases


def _sums(fixtures: Path) -> dict[str, str]:
    """Each file of the set, as its ``SHA256SUMS`` names it, by its hash now."""
    return {
        path.relative_to(fixtures).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(fixtures.rglob("*")) if path.is_file() and path.name != "SHA256SUMS"
    }


def _committed_sums(fixtures: Path) -> dict[str, str]:
    pairs = (line.split("  ", 1) for line in (fixtures / "SHA256SUMS").read_text().splitlines())
    return {name: digest for digest, name in pairs}


@pytest.fixture(scope="module", autouse=True)
def fixtures_left_as_committed() -> Iterator[None]:
    """No test here, and nothing before them, changes a fixture file."""
    for fixtures in SETS:
        assert _sums(fixtures) == _committed_sums(fixtures), f"{fixtures.name} is not as committed"
    yield
    for fixtures in SETS:
        assert _sums(fixtures) == _committed_sums(fixtures), f"a test changed {fixtures.name}"


def test_there_is_a_fixture_set() -> None:
    assert SETS, f"no fixture set under {COMPAT}"


def _plain(value: Any) -> Any:
    """``value`` as JSON reads it back: lists for tuples, string keys."""
    return json.loads(json.dumps(value))


def _settings(recorded: dict[str, Any], machine: str, passphrase: str | None = None) -> PeerSettings:
    """The machine's settings as the generator gave them."""
    return PeerSettings(
        passphrase=passphrase, address=machine, clock_offset=timedelta(microseconds=recorded["stores"][machine]["clock_offset"]),
    )


@contextlib.contextmanager
def _loaded_dump(fixtures: Path) -> Iterator[str]:
    """The set's PostgreSQL dump loaded under a new schema name on the test server (its
    stores are the schemas named after it); dropped at the end. pg_dump writes psql
    meta-commands (``\\restrict`` since 15.14), which psycopg does not run: they are left out."""
    import psycopg
    from psycopg import sql

    server = postgres_server()
    base = f"compat_{uuid.uuid4().hex[:12]}"
    dump = (fixtures / "postgres.sql").read_text()
    script = "\n".join(line for line in dump.splitlines() if not line.startswith("\\")).replace(POSTGRES_SCHEMA, base)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(script.encode())
    try:
        yield with_schema(server, base)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            schemas = [row[0] for row in connection.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s", (base + "\\_%",),
            )]
            for schema in schemas:
                connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(scope="module")
def read_only_dumps() -> Iterator[Callable[[Path], str]]:
    """Each set's dump loaded once, for the tests that only read it."""
    with contextlib.ExitStack() as loaded:
        bases: dict[Path, str] = {}

        def base(fixtures: Path) -> str:
            if fixtures not in bases:
                bases[fixtures] = loaded.enter_context(_loaded_dump(fixtures))
            return bases[fixtures]

        yield base


def _sqlite_copy(fixtures: Path, machine: str, tmp_path: Path) -> Path:
    """A copy of the machine's SQLite store: opening a store writes to its file."""
    copied = tmp_path / machine
    copied.mkdir()
    shutil.copyfile(fixtures / "sqlite" / machine / SQLITE_FILE, copied / SQLITE_FILE)
    return copied


def _read_only(fixtures: Path, backend: str, machine: str, tmp_path: Path, dumps: Callable[[Path], str]) -> Location:
    """Where a test that only reads opens the machine's store: a copy of its SQLite file,
    or its schema of the loaded dump."""
    return child(dumps(fixtures), machine) if backend == "postgres" else _sqlite_copy(fixtures, machine, tmp_path)


@pytest.mark.parametrize(("fixtures", "backend", "machine"), _stores())
def test_a_store_verifies(
    fixtures: Path, backend: str, machine: str, tmp_path: Path, read_only_dumps: Callable[[Path], str],
) -> None:
    """Every row reads as written, every chain and the ledger hold, every envelope is
    judged as it was, every snapshot is what its log gives; ``verify`` counts the envelopes
    written before envelopes cited a context (issue 29): all it accepted, then; and names
    the club among the groups whose password is still checked by a verifier members could
    join with (issue 30), where the store's replica of it has its properties."""
    store = open_store(_read_only(fixtures, backend, machine, tmp_path, read_only_dumps))
    try:
        verification = verify_store(store)
        assert verification.findings == ()
        assert 0 < verification.without_context <= verification.envelopes
        founded = {replica["group"] for replica in _recorded(fixtures, backend)["stores"][machine]["derived"]["replicas"] if replica["properties"]}
        clubs = {group for group in founded if group.endswith(".club")}
        assert clubs and set(verification.old_password_groups) == clubs
        assert verification.replicas == len(_recorded(fixtures, backend)["stores"][machine]["derived"]["replicas"])
    finally:
        store.close()


def _opened_anyhow(derived: dict[str, Any]) -> dict[str, Any]:
    """``derived`` without the snapshot each replica opened from when it was recorded: which
    snapshot an open starts from is the store's policy, free to change (a snapshot of an
    earlier form is not opened from), as long as the state is the same; that the snapshot
    is still there is checked apart."""
    return {**derived, "replicas": [
        {key: value for key, value in replica.items() if key != "opens_from_snapshot"} for replica in derived["replicas"]
    ]}


@pytest.mark.parametrize(("fixtures", "backend", "machine"), _stores())
def test_a_store_replays_to_what_it_held_and_a_peer_shows_it(
    fixtures: Path, backend: str, machine: str, tmp_path: Path, read_only_dumps: Callable[[Path], str],
) -> None:
    """Its logs replayed give the state recorded for it; opened through their snapshots,
    the same state; and a ``Peer`` over it shows what it showed then, writing nothing."""
    recorded = _recorded(fixtures, backend)
    expected = recorded["stores"][machine]
    at = datetime.fromisoformat(recorded["clock"])
    store = open_store(_read_only(fixtures, backend, machine, tmp_path, read_only_dumps))
    try:
        assert _opened_anyhow(_plain(derived_state(store, at))) == _opened_anyhow(expected["derived"])
        for replica in expected["derived"]["replicas"]:
            snapshots = store.stored_snapshots(ReplicaLog.create_id(replica["identity"], replica["group"]))
            assert replica["opens_from_snapshot"] in {0, *(snapshot.originator_version for snapshot in snapshots)}
        assert store.identity_log().state == identities_replayed(store)
        for replica in expected["derived"]["replicas"]:
            assert store.replica_log(replica["identity"], replica["group"]).state == replica_replayed(store, replica["identity"], replica["group"])
        head = store.head()
        peer = Peer(store, settings=_settings(recorded, machine), clock=lambda: at)
        assert _plain(peer_view(peer)) == expected["peer"]
        assert store.head() == head, "reading the store wrote to it"
    finally:
        store.close()


@pytest.mark.parametrize(("fixtures", "backend", "machine"), _stores(passphrase_only=True))
def test_a_stores_sealed_keys_unseal_with_its_passphrase(fixtures: Path, backend: str, machine: str, tmp_path: Path) -> None:
    """With its passphrase, each identity with a group adds a record to it (a signature)
    and exports its configuration (with the group's root key, for its creator); the
    record is there for the next process."""
    recorded = _recorded(fixtures, backend)
    at = datetime.fromisoformat(recorded["clock"])
    with contextlib.ExitStack() as stack:
        location: Location
        if backend == "postgres":
            location = child(stack.enter_context(_loaded_dump(fixtures)), machine)
        else:
            location = _sqlite_copy(fixtures, machine, tmp_path)
        store = stack.enter_context(contextlib.closing(open_store(location)))
        peer = Peer(store, settings=_settings(recorded, machine, recorded["passphrase"]), clock=lambda: at)
        assert not peer.keys_locked
        added: list[tuple[str, str, uuid.UUID]] = []
        for pair in peer.identities():
            for group in peer.groups(pair.peer_name):
                handle = peer.open_group(pair.peer_name, group.peer_name)
                record = peer.add_record(handle, uuid.UUID(recorded["record_type"]), at + timedelta(days=1), data=b"signed today")
                assert peer.export_config(handle, "a configuration password").startswith("<")
                added.append((pair.peer_name, group.peer_name, record))
        assert added
        again = Peer(stack.enter_context(contextlib.closing(open_store(location))), clock=lambda: at)
        for identity, group_name, record in added:
            assert again.get_record(again.open_group(identity, group_name), record).record.data == b"signed today"


FIXTURE_GROUP_PASSWORD = "compat-fixture-password"
"""The club's group password, as ``make_fixtures.py`` set it."""


@pytest.mark.parametrize(("password", "refuse_old", "joins"), [
    ("not the password", False, False), (FIXTURE_GROUP_PASSWORD, False, True), (FIXTURE_GROUP_PASSWORD, True, False),
])
def test_a_group_made_before_the_password_exchange_takes_its_password_still(
    tmp_path: Path, password: str, refuse_old: bool, joins: bool,
) -> None:
    """alice's club, made by v0.1.0, keeps the stretched password as its verifier, with no
    SRP verifier (issue 30): a joiner with the password still joins it, by the proof of
    then, and one with another password does not; a peer set to refuse such proofs
    (``refuse_old_password_proofs``) checks none, and counts no guess."""
    fixtures = SETS[0]
    recorded = _recorded(fixtures, "sqlite")
    at = datetime.fromisoformat(recorded["clock"])
    with contextlib.closing(open_store(_sqlite_copy(fixtures, "alice", tmp_path))) as store:
        settings = attrs.evolve(_settings(recorded, "alice", recorded["passphrase"]), refuse_old_password_proofs=refuse_old)
        alice = Peer(store, settings=settings, clock=lambda: at)
        (identity,) = [pair.peer_name for pair in alice.identities() if alice.groups(pair.peer_name)]
        (group,) = [group.peer_name for group in alice.groups(identity)]
        handle = alice.open_group(identity, group)
        properties = alice.group_properties(handle)
        assert properties.password is not None and not properties.password.augmented and properties.password.verifier
        alice.connect(handle)
        joiner = Peer(open_store(None), settings=PeerSettings(address="joiner"), clock=lambda: at)
        name = joiner.create_identity("joiner")
        joiner.connect(joiner.password_join(name, alice.create_password_invitation(handle), password).handle)
        network.synchronize({"alice": alice, "joiner": joiner})
        assert (sync_port(joiner).sync_replica((name, group)).state.group.credential_of(name, at) is not None) == joins
        counted = store.wrong_passwords(identity, group)
        assert (counted is not None and counted.of_joiner(name).count == 1) == (password != FIXTURE_GROUP_PASSWORD)


def test_an_edited_fixture_row_is_found(tmp_path: Path) -> None:
    """The checks above can fail: a record's data changed by one character in a copy of a
    store makes ``verify`` report it and the store derive to another state."""
    fixtures = SETS[0]
    recorded = _recorded(fixtures, "sqlite")
    copied = _sqlite_copy(fixtures, "alice", tmp_path)
    original = wire.plain(b"1. e4 e5").encode()
    with contextlib.closing(sqlite3.connect(copied / SQLITE_FILE)) as database:
        rowid, state = database.execute(
            "SELECT rowid, state FROM stored_events WHERE topic = 'peerstate.ReplicaLog.Recorded' AND instr(state, ?) LIMIT 1",
            (original,),
        ).fetchone()
        database.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (state.replace(original, wire.plain(b"1. d4 d5").encode()), rowid))
        database.commit()
    store = open_store(copied)
    try:
        assert {"chain_holds", "signature_verifies"} <= {finding.rule for finding in verify_store(store).findings}
        assert _plain(derived_state(store, datetime.fromisoformat(recorded["clock"]))) != recorded["stores"]["alice"]["derived"]
    finally:
        store.close()


def test_every_wire_type_has_a_golden_encoding() -> None:
    """A type added to an event, a payload or a message has no encoding pinned until a
    fixture set made by the code that has it holds one: make a new set."""
    pinned = {path.stem for path in GOLDEN}
    assert sorted(set(wire_types()) - pinned) == sorted(NOT_YET_PINNED)


def test_only_messages_are_retired() -> None:
    """A retired name is pinned by a set and is no wire type now, and what the set pinned
    of it is a hello's fields: a message of the conversation, not a stored value."""
    for name in RETIRED_MESSAGES:
        assert name not in wire_types()
        assert any((fixtures / "golden" / f"{name}.json").is_file() for fixtures in SETS)
        for fixtures in SETS:
            fields = json.loads((fixtures / "golden" / "index.json").read_text())
            assert name in fields and {"group", "identity", "card", "nonce", "peer_time"} <= set(fields[name])


@pytest.mark.parametrize("path", GOLDEN, ids=lambda path: f"{path.parents[1].name}-{path.stem}")
def test_a_golden_encoding_decodes_strictly_and_encodes_to_its_bytes(path: Path) -> None:
    """Decoded by the strict decoder as its type (and through each union it belongs to),
    the value has the fields it had, and encodes again, from a copy that carries no
    remembered tree, to the very same bytes."""
    types = wire_types()
    assert path.stem in types, f"{path.stem} is no longer a wire type: the set needs a migration"
    kind = types[path.stem]
    data = path.read_bytes()
    value: Any = wire.decode(data, kind)
    for union in unions_of(kind):
        assert wire.decode(data, UNIONS[union]) == value
    fields = json.loads((path.parent / "index.json").read_text())[path.stem]
    assert {name: wire.plain(getattr(value, name)) for name in fields} == fields
    again = copy.deepcopy(value)
    assert again == value and wire.canonical(again) == data


def _golden(fixtures: Path, name: str) -> Any:
    return wire.decode((fixtures / "golden" / f"{name}.json").read_bytes(), wire_types()[name])


@pytest.mark.parametrize("fixtures", SETS, ids=lambda fixtures: fixtures.name)
def test_golden_values_still_mean_what_they_meant(fixtures: Path) -> None:
    """A few decoded values checked for their sense, not only their fields: an envelope's
    id is still the digest of its encoding, the group's root still belongs to its name, a
    wrong password is still the rule it was."""
    accepted = _golden(fixtures, "EnvelopeAccepted")
    assert admission.envelope_id(accepted.envelope) == accepted.id
    created = _golden(fixtures, "GroupCreated")
    admission.root_is_the_groups(created.properties.group_peer_name, created.root, created.root_key)
    assert created.properties.password_role == ROLE_MEMBER and created.creator.chain_length == 1
    assert _golden(fixtures, "JoinRefused").rule == WRONG_PASSWORD_RULE
    assert _golden(fixtures, "Refusal").authentication
    assert _golden(fixtures, "PasswordTicket").sealed
    assert _golden(fixtures, "Record").data
