"""Crash safety: a peer process killed (SIGKILL) at a random point loses nothing it
acknowledged, and leaves nothing half-written.

Two kinds of writer are killed, each many times at random moments (``tests/workers/crash_worker.py``):

- a burst of record calls on a group replica (with a new group now and then: one
  transaction over the identity log, a new replica log and the commit ledger), which
  prints each record id or group name only after its call returned;
- a long sync between two peers whose stores are on disk, in small batches so the group
  data travels in many rounds, each a transaction on each store, which prints what each
  store committed (``changes.subscribe`` delivers it after the commit).

After each kill the stores are opened again and checked: ``verify_store`` holds (rows,
hash chains, the ledger, every envelope judged again); every acknowledged record is
readable by a new ``Peer`` (``get_record``), with its data; at most the one call in flight
went through unacknowledged; every log replays (eventsourcing's projector and the pure
fold give the same state); the identity log and the replica logs agree (a group attached
to an identity has a replica, and no replica lacks its identity's attachment); every
record a replica holds is an accepted envelope's; the store takes new writes; and an
interrupted sync resumes and converges.

``PEERSTATE_CRASH_ITERATIONS=N`` runs N kills of each kind (default 16 bursts and 8
syncs, about 30 s); ``PEERSTATE_CRASH_SEED`` replays one run's kill points.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final

import attrs
import pytest

from peerstate.peer import sync_port
from peerstate import Peer, PeerSettings, network, open_store, views
from peerstate.audit import verify_store
from peerstate.storage.locations import Location, with_schema
from peerstate.storage.peer_store import PeerStore

from workers.checks import sound
from backends import postgres_server

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("SIGKILL is POSIX", allow_module_level=True)

ROOT: Final = Path(__file__).resolve().parent.parent
WORKER: Final = ROOT / "tests" / "workers" / "crash_worker.py"
T0: Final = datetime(2026, 1, 1, tzinfo=timezone.utc)
KIND: Final = uuid.UUID("11111111-2222-3333-4444-555555555555")
ITERATIONS: Final = int(os.environ.get("PEERSTATE_CRASH_ITERATIONS", "0"))
BURST_KILLS: Final = ITERATIONS or 16
SYNC_KILLS: Final = ITERATIONS or 8
SEED: Final = int(os.environ.get("PEERSTATE_CRASH_SEED", str(random.SystemRandom().randrange(2**32))))
SOURCE_RECORDS: Final = 240
SYNC_BATCH_BYTES: Final = 3000
"""About two envelopes a batch: the sync takes over a hundred rounds, each a commit on the joiner."""
STARTUP_KILL_EVERY: Final = 5
"""Every fifth kill comes at a random moment from the start, so some fall while the worker
imports and opens its store; the others fall while it writes."""


@attrs.frozen
class Run:
    """What a killed worker printed (complete lines only) and how it ended."""

    lines: tuple[str, ...]
    returncode: int
    stderr: str
    working: float
    """Seconds from ``ready`` to the end (the kill, or the worker's own exit)."""

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL


def run_and_kill(args: list[str], delay: float, *, after_ready: bool) -> Run:
    """Start the worker, wait for its ``ready`` (unless ``after_ready`` is False), give it
    ``delay`` seconds more and SIGKILL it if it is still running. Its stdout is read all
    along, so it never blocks on a full pipe while the kill is due."""
    process = subprocess.Popen(
        [sys.executable, str(WORKER), *args], cwd=ROOT, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None and process.stderr is not None
    lines: list[str] = []
    ready = threading.Event()
    ready_at = [time.monotonic()]

    def read(stream: Iterator[str]) -> None:
        for line in stream:
            if line.endswith("\n"):  # a line cut by the kill acknowledges nothing
                lines.append(line.rstrip("\n"))
                if line == "ready\n":
                    ready_at[0] = time.monotonic()
                    ready.set()
        ready.set()

    reader = threading.Thread(target=read, args=(process.stdout,), daemon=True)
    reader.start()
    if after_ready:
        ready.wait(timeout=60)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    ended = time.monotonic()
    reader.join(timeout=60)
    stderr = process.stderr.read()
    process.stdout.close()
    process.stderr.close()
    return Run(tuple(lines), process.returncode, stderr, ended - ready_at[0])


# A burst of record calls ---------------------------------------------------------------------


@attrs.frozen
class BurstTemplate:
    location: Location
    identity: str
    group: str
    records: frozenset[uuid.UUID]


def make_burst_template(location: Location) -> BurstTemplate:
    """A store at ``location`` with one identity, one group and one record in it."""
    store = open_store(location)
    peer = Peer(store, clock=lambda: T0)
    identity = peer.create_identity("writer", "Writer")
    handle = peer.create_group(identity, "burst")
    first = peer.add_record(handle, KIND, T0 + timedelta(days=1), data=b"before the burst")
    group = peer.group_properties(handle).group_peer_name
    store.close()
    return BurstTemplate(location, identity, group, frozenset({first}))


@pytest.fixture(scope="module")
def burst_template(tmp_path_factory: pytest.TempPathFactory) -> BurstTemplate:
    return make_burst_template(tmp_path_factory.mktemp("burst-template"))


@pytest.fixture(params=["sqlite", "postgres"])
def burst_store(request: pytest.FixtureRequest, burst_template: BurstTemplate, tmp_path: Path) -> Callable[[int], BurstTemplate]:
    """Where each kill of a burst writes: a copy of the SQLite template, or a PostgreSQL
    schema made anew the same way (on the server ``PEERSTATE_TEST_POSTGRES`` names)."""
    if request.param == "sqlite":
        def copied(iteration: int) -> BurstTemplate:
            assert isinstance(burst_template.location, Path)
            shutil.copytree(burst_template.location, tmp_path / f"burst-{iteration}")
            return attrs.evolve(burst_template, location=tmp_path / f"burst-{iteration}")
        return copied
    server = postgres_server()
    return lambda iteration: make_burst_template(with_schema(server, f"burst_{uuid.uuid4().hex[:16]}"))


def check_burst(template: BurstTemplate, run: Run) -> tuple[int, int]:
    """The checks after a burst was killed; the number of acknowledged records and groups."""
    records = {uuid.UUID(line.split()[1]): int(line.split()[2]) for line in run.lines if line.startswith("record ")}
    groups = {line.split()[1] for line in run.lines if line.startswith("group ")}
    store = open_store(template.location)
    sound(store)
    peer = Peer(store, clock=lambda: T0)
    handle = peer.open_group(template.identity, template.group)
    for record_id, length in records.items():
        assert len(peer.get_record(handle, record_id).record.data) == length
    shown = {held.record.id for held in peer.records(handle)}
    assert template.records <= shown
    have = {pair.peer_name for pair in peer.groups(template.identity)} - {template.group}
    assert groups <= have
    for group in have:  # every group made, acknowledged or in flight, opens whole
        assert peer.group_properties(peer.open_group(template.identity, group)).group_peer_name == group
    unacknowledged = (shown - records.keys() - template.records) | (have - groups)
    assert len(unacknowledged) <= 1, f"more went through than the one call in flight: {unacknowledged}"
    after = peer.add_record(handle, KIND, T0 + timedelta(days=1), data=b"after the crash")  # the store takes writes
    assert peer.get_record(handle, after).record.data == b"after the crash"
    assert verify_store(store).holds
    store.close()
    return len(records), len(groups)


def test_a_burst_of_writes_killed_at_random_points_keeps_what_it_acknowledged(
    burst_store: Callable[[int], BurstTemplate],
) -> None:
    chance = random.Random(SEED)
    kills = acknowledged = groups = 0
    for iteration in range(BURST_KILLS):
        template = burst_store(iteration)
        at_startup = iteration % STARTUP_KILL_EVERY == STARTUP_KILL_EVERY - 1
        delay = chance.uniform(0, 0.6) if at_startup else chance.uniform(0, 0.5)
        run = run_and_kill(
            ["burst", str(template.location), template.identity, template.group, str(chance.randrange(2**32))],
            delay, after_ready=not at_startup,
        )
        context = f"seed {SEED}, kill {iteration} after {delay:.3f} s; worker stderr:\n{run.stderr}"
        assert run.killed, context
        kills += 1
        try:
            records, made = check_burst(template, run)
        except AssertionError as error:
            raise AssertionError(f"{context}\n{error}") from error
        acknowledged += records
        groups += made
    print(f"burst: {kills} kills, {acknowledged} acknowledged records and {groups} groups all kept (seed {SEED})")
    assert kills == BURST_KILLS


# A long sync between two stores --------------------------------------------------------------


@attrs.frozen
class SyncTemplate:
    source_dir: Path
    joiner_dir: Path
    source: str
    joiner: str
    group: str
    records: frozenset[uuid.UUID]
    duration: float
    """How long the whole sync takes once the worker is ready: kills fall inside it."""


def sync_args(source_dir: Path, joiner_dir: Path, names: tuple[str, str, str]) -> list[str]:
    return ["sync", str(source_dir), str(joiner_dir), *names, str(SYNC_BATCH_BYTES)]


def resume(source_dir: Path, joiner_dir: Path, source: str, joiner: str, group: str) -> tuple[Peer, Peer, PeerStore, PeerStore]:
    """Open both stores again, connect both replicas and synchronize until the joiner holds
    everything the source holds."""
    stores = open_store(source_dir), open_store(joiner_dir)
    peers = {
        name: Peer(store, clock=lambda: T0, settings=PeerSettings(address=name))
        for name, store in zip(("source", "joiner"), stores)
    }
    peers["source"].connect(peers["source"].open_group(source, group))
    peers["joiner"].connect(peers["joiner"].open_group(joiner, group))
    for _ in range(10):
        network.synchronize(peers)
        if views.group_digest(sync_port(peers["source"]).sync_replica((source, group)).state.group) == views.group_digest(
            sync_port(peers["joiner"]).sync_replica((joiner, group)).state.group
        ):
            break
    return peers["source"], peers["joiner"], *stores


@pytest.fixture(scope="module")
def sync_template(tmp_path_factory: pytest.TempPathFactory) -> SyncTemplate:
    base = tmp_path_factory.mktemp("sync-template")
    stores = open_store(base / "source"), open_store(base / "joiner")
    source_peer = Peer(stores[0], clock=lambda: T0, settings=PeerSettings(address="source"))
    joiner_peer = Peer(stores[1], clock=lambda: T0, settings=PeerSettings(address="joiner"))
    source = source_peer.create_identity("source", "Source")
    joiner = joiner_peer.create_identity("joiner", "Joiner")
    handle = source_peer.create_group(source, "library")
    group = source_peer.group_properties(handle).group_peer_name
    records = frozenset(
        source_peer.add_record(handle, KIND, T0 + timedelta(days=1), data=bytes([index % 256]) * 300)
        for index in range(SOURCE_RECORDS)
    )
    joiner_peer.join(joiner, source_peer.create_invitation(handle, joiner_peer.identity_xml(joiner)))
    for store in stores:
        store.close()
    # One whole sync, unkilled: how long it takes, and that it converges at all.
    trial = tmp_path_factory.mktemp("sync-trial")
    shutil.copytree(base / "source", trial / "source")
    shutil.copytree(base / "joiner", trial / "joiner")
    run = run_and_kill(sync_args(trial / "source", trial / "joiner", (source, joiner, group)), 120, after_ready=True)
    assert run.returncode == 0 and run.lines[-1] == "synced", run.stderr
    accepted = {line.split()[3] for line in run.lines if line.startswith("accepted joiner ")}
    assert accepted == {str(record) for record in records}
    return SyncTemplate(base / "source", base / "joiner", source, joiner, group, records, run.working)


def check_sync(source_dir: Path, joiner_dir: Path, template: SyncTemplate, run: Run) -> int:
    """The checks after a sync was killed; the number of record envelopes the joiner had
    acknowledged."""
    heads: dict[str, int] = {}
    accepted: dict[str, set[uuid.UUID]] = {"source": set(), "joiner": set()}
    for line in run.lines:
        words = line.split()
        if words[0] == "head":
            heads[words[1]] = max(heads.get(words[1], 0), int(words[2]))
        elif words[0] == "accepted":
            accepted[words[1]].add(uuid.UUID(words[3]))
    for name, directory, identity in (
        ("source", source_dir, template.source), ("joiner", joiner_dir, template.joiner),
    ):
        store = open_store(directory)
        sound(store)
        assert store.head() >= heads.get(name, 0), f"{name}'s store lost commits it had made"
        held = store.replica_log(identity, template.group).state.group.records
        assert accepted[name] <= set(held), f"{name} lost records it had committed"
        store.close()
    source_peer, joiner_peer, *stores = resume(source_dir, joiner_dir, template.source, template.joiner, template.group)
    handle = joiner_peer.open_group(template.joiner, template.group)
    assert {held.record.id for held in joiner_peer.records(handle)} == template.records
    for record_id in accepted["joiner"]:
        joiner_peer.get_record(handle, record_id)
    for store in stores:
        sound(store)
        store.close()
    return len(accepted["joiner"])


def test_a_long_sync_killed_at_random_points_keeps_what_it_committed_and_resumes(
    sync_template: SyncTemplate, tmp_path: Path,
) -> None:
    chance = random.Random(SEED + 1)
    kills = acknowledged = 0
    names = (sync_template.source, sync_template.joiner, sync_template.group)
    for iteration in range(SYNC_KILLS):
        source_dir, joiner_dir = tmp_path / f"sync-{iteration}" / "source", tmp_path / f"sync-{iteration}" / "joiner"
        shutil.copytree(sync_template.source_dir, source_dir)
        shutil.copytree(sync_template.joiner_dir, joiner_dir)
        at_startup = iteration % STARTUP_KILL_EVERY == STARTUP_KILL_EVERY - 1
        delay = chance.uniform(0, sync_template.duration * (1.0 if at_startup else 0.8))
        run = run_and_kill(sync_args(source_dir, joiner_dir, names), delay, after_ready=not at_startup)
        context = f"seed {SEED}, kill {iteration} after {delay:.3f} s; worker stderr:\n{run.stderr}"
        assert run.killed or (run.returncode == 0 and run.lines[-1:] == ("synced",)), context
        kills += run.killed
        try:
            acknowledged += check_sync(source_dir, joiner_dir, sync_template, run)
        except AssertionError as error:
            raise AssertionError(f"{context}\n{error}") from error
    print(f"sync: {kills} kills of {SYNC_KILLS} runs, {acknowledged} acknowledged record envelopes all kept (seed {SEED})")
    assert kills >= SYNC_KILLS // 2, "most kills should fall inside the sync"
