"""A load test on a PostgreSQL-backed peer, bounded in time and on loopback only: many
processes run many commands against one group of one peer at once, while one more process
syncs that peer with another that joined before. It prints commands per second, the calls
made again because another process committed first, and the syncs made meanwhile; it
checks that nothing was lost (the other peer has every record after one last sync), that
no call gave up (``E_UNEXPECTED``) and that ``verify`` holds. It needs the server the
contract tests use (``tests/backends.py``). ``PEERSTATE_LOAD_PROCESSES`` and
``PEERSTATE_LOAD_COMMANDS`` make it larger.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from peerstate.peer import sync_port
from peerstate import Peer, PeerSettings, audit, network, open_store, views
from peerstate.storage.locations import with_schema
from tests.test_concurrency import T0, race, tally

from backends import postgres_server

PROCESSES = int(os.environ.get("PEERSTATE_LOAD_PROCESSES", "6"))
COMMANDS_EACH = int(os.environ.get("PEERSTATE_LOAD_COMMANDS", "30"))
SYNC_ROUNDS = 5


@pytest.fixture
def server() -> str:
    return postgres_server()


def test_many_processes_on_one_postgres_peer_lose_nothing(server: str, tmp_path: Path) -> None:
    hub = with_schema(server, f"load_{uuid.uuid4().hex[:16]}")
    owner = Peer(open_store(hub), clock=lambda: T0, settings=PeerSettings(address="hub"))
    identity = owner.create_identity("hub")
    handle = owner.create_group(identity, "load")
    group = owner.group_properties(handle).group_peer_name
    other_store = open_store(tmp_path / "other")
    other = Peer(other_store, clock=lambda: T0, settings=PeerSettings(address="other"))
    other_name = other.create_identity("other")
    other_handle = other.join(other_name, owner.create_invitation(handle, other.identity_xml(other_name)))
    other.connect(other_handle)
    owner.connect(handle)
    network.synchronize({"hub": owner, "other": other})
    other_store.close()  # the sync worker is its writer during the load

    started = time.monotonic()
    results = race(hub, [
        *(("add", {"open": [[identity, group]], "count": COMMANDS_EACH, "tag": f"w{index}", "address": "hub"})
          for index in range(PROCESSES)),
        ("sync", {"open": [[identity, group]], "address": "hub", "with": str(tmp_path / "other"),
                  "with_open": [[other_name, group]], "rounds": SYNC_ROUNDS}),
    ])
    elapsed = time.monotonic() - started
    conflicts, errors = tally(results)
    written = {uuid.UUID(record) for result in results[:-1] for record in result["succeeded"]}
    assert not [result["other"] for result in results if result["other"]]
    assert not errors, errors
    assert len(written) == PROCESSES * COMMANDS_EACH
    assert len(results[-1]["succeeded"]) == SYNC_ROUNDS

    other = Peer(open_store(tmp_path / "other"), clock=lambda: T0, settings=PeerSettings(address="other"))
    other_handle = other.open_group(other_name, group)
    other.connect(other_handle)

    fresh = Peer(open_store(hub), clock=lambda: T0, settings=PeerSettings(address="hub"))
    fresh_handle = fresh.open_group(identity, group)
    fresh.connect(fresh_handle)
    assert {held.record.id for held in fresh.records(fresh_handle)} == written
    network.synchronize({"hub": fresh, "other": other})
    assert {held.record.id for held in other.records(other_handle)} == written
    assert views.group_digest(sync_port(fresh).sync_replica((identity, group)).state.group) == views.group_digest(
        sync_port(other).sync_replica((other_name, group)).state.group
    )
    assert audit.verify_store(open_store(hub)).holds
    print(
        f"{PROCESSES} processes x {COMMANDS_EACH} records on one PostgreSQL peer in {elapsed:.1f} s: "
        f"{len(written) / elapsed:.0f} commands/s, {conflicts} calls made again, {SYNC_ROUNDS} syncs with another peer meanwhile"
    )
