"""One set of contract tests for every store backend: in memory, SQLite, PostgreSQL.

What the rest of peerstate assumes of a store, it must keep on each: logs replay to the
state they had, a lost race is a ``WriteConflict``, two writers lose nothing, the store's
turn lets one writer in at a time, a peer reads what another writer committed, the commit
ledger and ``verify`` hold, replicas are listed, events come back in commit order, and a
scenario replays. PostgreSQL needs a server (``tests/backends.py``); each test gets a
schema of its own. ``test_crash_safety`` and ``test_load`` run on PostgreSQL too.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from peerstate import Peer, audit, open_store
from peerstate.changes import changes
from peerstate.domain.events import IdentityCreated
from peerstate.domain.group_events import PasswordTicket
from peerstate.errors import InvalidArgument
from peerstate.storage.locations import FROM_ENVIRONMENT, Location, child, postgres_environment, with_schema
from peerstate.scenario import load_scenario, replay
from peerstate.storage.logs import ReplicaLog, project_log
from peerstate.storage.peer_store import WriteConflict

from backends import postgres_server

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "records" / "ready-and-roles.json"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
KIND = uuid.UUID("11111111-2222-3333-4444-555555555555")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return tmp_path / "store"
    server = postgres_server()
    return with_schema(server, f"contract_{uuid.uuid4().hex[:16]}")


def test_a_log_replays_to_the_state_it_had(location: Location) -> None:
    store = open_store(location)
    log = store.identity_log()
    log.record(IdentityCreated("0.a", "a", "A", b"cert", b"key", False, "created", T0))
    store.save(log)
    again = store if location is None else open_store(location)
    assert again.identity_log().state == log.state


def test_the_second_writer_of_a_log_loses_the_race(location: Location) -> None:
    store = open_store(location)
    first, second = store.identity_log(), store.identity_log()
    first.record(IdentityCreated("0.a", "a", "A", b"cert", b"key", False, "created", T0))
    second.record(IdentityCreated("0.b", "b", "B", b"cert", b"key", False, "created", T0))
    store.save(first)
    with pytest.raises(WriteConflict):
        (store if location is None else open_store(location)).save(second)
    assert set(store.identity_log().state.identities) == {"0.a"}


def test_two_writers_racing_on_one_store_lose_nothing(location: Location) -> None:
    owner = Peer(open_store(location), clock=lambda: T0)
    identity = owner.create_identity("alice")
    group = owner.group_properties(owner.create_group(identity, "club")).group_peer_name
    shared = owner._runtime.store if location is None else None  # one in-memory store, or two connections to one
    written: list[uuid.UUID] = []

    def writer(index: int) -> None:
        peer = Peer(shared or open_store(location), clock=lambda: T0)
        handle = peer.open_group(identity, group)
        for record in range(10):
            written.append(peer.add_record(handle, KIND, T0 + timedelta(days=1), data=f"{index}-{record}".encode()))

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reader = Peer(shared or open_store(location), clock=lambda: T0)
    assert {held.record.id for held in reader.records(reader.open_group(identity, group))} == set(written)
    assert len(written) == 20
    assert audit.verify_store(reader._runtime.store).holds


def test_a_value_outside_the_logs_is_kept_replaced_and_removed(location: Location) -> None:
    """A password ticket lives in the store's values (``local_values``), not its logs: another
    open of the store reads it, read-only too, a second one replaces it, and once removed no
    open finds it."""
    store = open_store(location)
    assert store.ticket("0.a", "0.club") is None
    store.keep_ticket("0.a", "0.club", PasswordTicket(b"first", False))
    store.keep_ticket("0.a", "0.club", PasswordTicket(b"second", True))
    again = [store] if location is None else [open_store(location), open_store(location, read_only=True)]
    assert [other.ticket("0.a", "0.club") for other in again] == [PasswordTicket(b"second", True)] * len(again)
    assert store.ticket("0.b", "0.club") is None
    store.forget_ticket("0.a", "0.club")
    assert [other.ticket("0.a", "0.club") for other in [store, *again]] == [None] * (1 + len(again))


def test_a_scenario_replays_and_its_stores_verify_list_their_replicas_and_their_events(location: Location) -> None:
    results = replay(load_scenario(SCENARIO), store_root=location)
    assert [result.difference for result in results if not result.passed] == []
    if location is None:
        return  # the replay's in-memory stores end with it
    for peer in ("alice", "bob", "carol"):
        store = open_store(child(location, peer))
        assert audit.verify_store(store).holds
        assert len(store.replica_keys()) == 1
        positions = [change.position for change in changes(store)]
        assert positions == sorted(positions) and len(positions) > 10


def test_a_store_described_by_eventsourcings_environment_variables(
    location: Location, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """``env:`` is the store that ``PERSISTENCE_MODULE`` and its backend's variables name."""
    if location is None:
        monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.popo")
    elif isinstance(location, Path):
        monkeypatch.setenv("PERSISTENCE_MODULE", "eventsourcing.sqlite")
        monkeypatch.setenv("SQLITE_DBNAME", str(tmp_path / "env.sqlite3"))
    else:
        for key, value in postgres_environment(location).items():
            if key.startswith("POSTGRES_") or key == "PERSISTENCE_MODULE":
                monkeypatch.setenv(key, value)
    peer = Peer(open_store(FROM_ENVIRONMENT), clock=lambda: T0)
    name = peer.create_identity("alice")
    again = peer._runtime.store if location is None else open_store(FROM_ENVIRONMENT)
    assert [pair.peer_name for pair in Peer(again, clock=lambda: T0).identities()] == [name]
    assert list(audit.stores_under(FROM_ENVIRONMENT)) == [FROM_ENVIRONMENT]


def test_the_environment_without_persistence_module_is_no_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a store in memory: everything written to it would be gone at exit."""
    monkeypatch.delenv("PERSISTENCE_MODULE", raising=False)
    with pytest.raises(InvalidArgument, match="PERSISTENCE_MODULE is not set"):
        open_store(FROM_ENVIRONMENT)


def test_a_stores_turn_lets_one_writer_in_at_a_time(location: Location) -> None:
    """Two store objects on one location (two processes, for SQLite and PostgreSQL; one
    object in memory, shared by threads): while one holds the turn the other waits."""
    first = open_store(location)
    second = first if location is None else open_store(location)
    inside, waited = threading.Event(), threading.Event()
    order: list[str] = []

    def other_writer() -> None:
        inside.wait()
        with second.turn():
            order.append("second")
        waited.set()

    thread = threading.Thread(target=other_writer)
    thread.start()
    with first.turn():
        inside.set()
        assert not waited.wait(0.3), "the second writer came in while the first held the turn"
        order.append("first")
    assert waited.wait(10)
    thread.join()
    assert order == ["first", "second"]


def test_a_peer_reads_what_another_writer_committed_since(location: Location) -> None:
    writer = Peer(open_store(location), clock=lambda: T0)
    identity = writer.create_identity("alice")
    handle = writer.create_group(identity, "club")
    group = writer.group_properties(handle).group_peer_name
    reader = Peer(writer._runtime.store if location is None else open_store(location), clock=lambda: T0)
    read = reader.open_group(identity, group)
    assert reader.records(read) == []
    added = writer.add_record(handle, KIND, T0 + timedelta(days=1), data=b"later")
    assert [held.record.id for held in reader.records(read)] == [added]
    assert reader.races_lost == 0


def test_a_log_opened_from_its_snapshot_is_the_log_its_events_give(location: Location) -> None:
    writer = Peer(open_store(location), clock=lambda: T0)
    identity = writer.create_identity("alice")
    handle = writer.create_group(identity, "club")
    group = writer.group_properties(handle).group_peer_name
    for index in range(10):
        writer.add_record(handle, KIND, T0 + timedelta(days=1), data=f"{index}".encode())
    store = writer._runtime.store if location is None else open_store(location)
    log_id = ReplicaLog.create_id(identity, group)
    assert store.stored_snapshots(log_id), "no snapshot was taken"
    opened = store.replica_log(identity, group)
    assert 0 < opened.snapshot_version <= opened.version
    replayed = project_log(None, store.stored_log(log_id))
    kept_apart = ("_pending_events", "snapshot_version", "accepted")  # the envelopes are read when asked for
    assert {name: value for name, value in vars(opened).items() if name not in kept_apart} == {
        name: value for name, value in vars(replayed).items() if name not in kept_apart
    }
    assert opened.accepted is None
    assert store.accepted_envelopes(opened) == replayed.accepted and len(replayed.accepted) > 10
    assert audit.verify_store(store).holds
    if location is not None:  # a new process resolves the snapshot's class from its stored topic
        program = (
            "import sys; from peerstate.storage.locations import parse_location; from peerstate.storage.opening import open_store; "
            "log = open_store(parse_location(sys.argv[1])).replica_log(sys.argv[2], sys.argv[3]); "
            "print(log.snapshot_version, log.version)"
        )
        opened_elsewhere = subprocess.run(
            [sys.executable, "-c", program, str(location), identity, group], capture_output=True, text=True, check=True,
        )
        assert opened_elsewhere.stdout.split() == [str(opened.snapshot_version), str(opened.version)]
