"""A load test on a PostgreSQL-backed peer, bounded in time and on loopback only: many
processes run many commands against one group of one peer at once, then the peer syncs with
another that joined before; it prints commands per second and the conflicts retried, and checks that
nothing was lost and that ``verify`` holds. It needs the server the contract tests use
(``PEERSTATE_TEST_POSTGRES``); without one it skips, unless ``PEERSTATE_REQUIRE_POSTGRES``. ``PEERSTATE_LOAD_PROCESSES`` and ``PEERSTATE_LOAD_COMMANDS``
make it larger.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from peerstate import Peer, PeerSettings, audit, network, open_store, views
from peerstate.locations import with_schema
from tests.test_concurrency import T0, race, tally

PROCESSES = int(os.environ.get("PEERSTATE_LOAD_PROCESSES", "6"))
COMMANDS_EACH = int(os.environ.get("PEERSTATE_LOAD_COMMANDS", "30"))


@pytest.fixture
def server() -> str:
    url = os.environ.get("PEERSTATE_TEST_POSTGRES")
    if not url:
        message = "no PostgreSQL server: set PEERSTATE_TEST_POSTGRES=postgresql://user@host:port/database"
        if os.environ.get("PEERSTATE_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def test_many_processes_on_one_postgres_peer_lose_nothing(server: str, tmp_path: Path) -> None:
    hub = with_schema(server, f"load_{uuid.uuid4().hex[:16]}")
    owner = Peer(open_store(hub), clock=lambda: T0, settings=PeerSettings(address="hub"))
    identity = owner.create_identity("hub")
    handle = owner.create_group(identity, "load")
    group = owner.group_properties(handle).group_peer_name
    other = Peer(open_store(tmp_path / "other"), clock=lambda: T0, settings=PeerSettings(address="other"))
    other_name = other.create_identity("other")
    other_handle = other.join(other_name, owner.create_invitation(handle, other.identity_xml(other_name)))
    other.connect(other_handle)
    owner.connect(handle)
    network.synchronize({"hub": owner, "other": other})

    started = time.monotonic()
    results = race(hub, [
        ("add", {"open": [[identity, group]], "count": COMMANDS_EACH, "tag": f"w{index}", "address": "hub"})
        for index in range(PROCESSES)
    ])
    elapsed = time.monotonic() - started
    conflicts, unexpected, errors = tally(results)
    written = {uuid.UUID(record) for result in results for record in result["succeeded"]}
    assert not [result["other"] for result in results if result["other"]]
    assert set(errors) <= {"E_UNEXPECTED"}, errors  # made again by the worker, as its message asks
    assert len(written) == PROCESSES * COMMANDS_EACH, errors

    fresh = Peer(open_store(hub), clock=lambda: T0, settings=PeerSettings(address="hub"))
    fresh_handle = fresh.open_group(identity, group)
    fresh.connect(fresh_handle)
    assert {held.record.id for held in fresh.records(fresh_handle)} == written
    network.synchronize({"hub": fresh, "other": other})
    assert {held.record.id for held in other.records(other_handle)} == written
    assert views.group_digest(fresh.sync_replica((identity, group)).state.group) == views.group_digest(
        other.sync_replica((other_name, group)).state.group
    )
    assert audit.verify_store(open_store(hub)).holds
    print(
        f"{PROCESSES} processes x {COMMANDS_EACH} records on one PostgreSQL peer in {elapsed:.1f} s: "
        f"{len(written) / elapsed:.0f} commands/s, {conflicts} conflicts retried, {unexpected} E_UNEXPECTED"
    )
