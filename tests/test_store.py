"""The transcoder keeps every type the events carry, a log replays to the state it had, and
snapshots are written in today's form and read, and verified, in earlier ones."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from immutables import Map

from peerstate import Peer, audit
from peerstate.domain.events import IdentityCreated, IdentityDeleted
from peerstate.storage.locations import SQLITE_FILE
from peerstate.storage.logs import SNAPSHOT_EVERY, EarlierSnapshot, IdentityLog, ReplicaLog, snapshot_due  # the rule itself: conftest replaces it in peer_store
from peerstate.storage.opening import open_store
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)
)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.binary() | times,
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(values)
def test_the_transcoder_round_trips_every_value_type(value: object) -> None:
    transcoder = open_store(None)._app.mapper.transcoder
    assert transcoder.decode(transcoder.encode({"v": value})) == {"v": value}


@given(st.lists(st.tuples(st.text(max_size=8), st.binary(max_size=8), st.booleans()), max_size=6))
def test_a_log_replays_to_the_state_it_had(entries: list[tuple[str, bytes, bool]]) -> None:
    store = open_store(None)
    log = store.identity_log()
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for index, (name, key, delete) in enumerate(entries):
        log.record(IdentityCreated(f"0.{name}", name, name, key, key, False, "created", at + timedelta(seconds=index)))
        if delete:
            log.record(IdentityDeleted(f"0.{name}", at))
    store.save(log)
    replayed = store.identity_log()
    assert replayed.state == log.state
    assert isinstance(replayed, IdentityLog) and replayed.version == log.version


def _snapshots_taken(events: int, envelope_every: int, first_sync: int = 0) -> tuple[list[int], int]:
    """The versions at which ``snapshot_due`` snapshots a log of ``events`` events, one in
    ``envelope_every`` an envelope (the others the replica's own, which leave its state as
    it was), the first ``first_sync`` of them written by a joiner's first sync, and the most
    events an open of it would have replayed on the way."""
    log = SimpleNamespace(version=0, snapshot_version=0, known=set(), state=SimpleNamespace(phase="synchronized"))
    taken, longest = [], 0
    for version in range(1, events + 1):
        log.version = version
        log.state.phase = "joined" if version <= first_sync else "synchronized"
        if version % envelope_every == 0:
            log.known.add(version)
        longest = max(longest, version - log.snapshot_version)
        if snapshot_due(cast(Any, log)):
            taken.append(version)
            log.snapshot_version = version
    return taken, longest


def test_a_log_of_envelopes_only_is_snapshotted_each_time_it_doubles() -> None:
    taken, longest = _snapshots_taken(100_000, envelope_every=1)
    assert taken[0] == SNAPSHOT_EVERY and all(later >= 2 * earlier - 2 for earlier, later in zip(taken, taken[1:]))
    assert sum(taken) <= 2 * 100_000  # each snapshot holds a state of `version` envelopes: twice the log's length in all
    assert longest <= 50_000  # an open replays at most half as many events as the state holds


def test_a_long_log_with_a_small_state_is_snapshotted_at_the_least_interval() -> None:
    taken, longest = _snapshots_taken(100_000, envelope_every=1000)
    assert taken == list(range(SNAPSHOT_EVERY, 100_001, SNAPSHOT_EVERY)) and longest == SNAPSHOT_EVERY


def test_a_joiner_is_snapshotted_once_its_first_sync_is_done_not_as_it_goes() -> None:
    taken, _ = _snapshots_taken(100_000, envelope_every=1, first_sync=30_000)
    assert taken[0] == 30_001 and all(later >= 2 * earlier - 2 for earlier, later in zip(taken, taken[1:]))


KIND = UUID("11111111-2222-3333-4444-555555555555")


def _club(location: Path) -> tuple[PeerStore, ReplicaLog]:
    """A group with records, and its replica log as a new store opens it."""
    writer = Peer(open_store(location), clock=lambda: T0)
    identity = writer.create_identity("alice")
    handle = writer.create_group(identity, "club")
    record = writer.add_record(handle, KIND, T0 + timedelta(days=1), data=b"first")
    writer.update_record(handle, record, KIND, 0, T0 + timedelta(days=2), data=b"second")
    for index in range(3):
        writer.add_record(handle, KIND, T0 + timedelta(days=1), data=bytes([index]))
    store = open_store(location)
    return store, store.replica_log(identity, writer.group_properties(handle).group_peer_name)


def _group_state_fields(state: bytes) -> dict[str, Any]:
    """The fields of the ``GroupState`` a snapshot row holds, as JSON."""
    replica = json.loads(state)["state"]["state"]
    assert replica["_type_"] == "ReplicaState"
    group = replica["_data_"]["group"]
    assert group["_type_"] == "GroupState"
    return cast(dict[str, Any], group["_data_"])


def test_a_snapshot_lists_a_group_s_records_as_their_winning_versions(tmp_path: Path) -> None:
    store, log = _club(tmp_path / "store")
    row = store._app.mapper.to_stored_event(ReplicaLog.Snapshot.take(log))
    records = _group_state_fields(row.state)["records"]
    assert records["_type_"] == "records"
    assert [version["record"]["id"] for version in records["_data_"]] == [str(key) for key in log.state.group.records]
    assert [version["record"]["data"] for version in records["_data_"]].count(base64.b64encode(b"second").decode()) == 1
    assert store._app.mapper.to_domain_event(row).mutate(None).state == log.state


def test_a_snapshot_written_before_records_were_listed_opens_verifies_and_its_edit_is_found(tmp_path: Path) -> None:
    """Snapshots written before held a group's records as a map's tagged pairs: an open
    reads them, and the audit finds them exactly as peerstate wrote them then."""
    store, log = _club(tmp_path / "store")
    log.snapshot_version = log.version  # as a snapshot taken now records it
    earlier = store._app.earlier_snapshots.to_stored_event(ReplicaLog.Snapshot.take(log))
    assert _group_state_fields(earlier.state)["records"]["_type_"] == "map"
    assert store._app.snapshots is not None
    store._app.snapshots.recorder.insert_events([earlier])
    opened = open_store(tmp_path / "store").replica_log(log.identity, log.group)
    assert opened.snapshot_version == log.version and opened.state == log.state
    assert audit.verify_store(open_store(tmp_path / "store")).holds

    edited = dataclasses.replace(earlier, state=earlier.state.replace(base64.b64encode(b"second"), base64.b64encode(b"forged")))
    assert edited.state != earlier.state
    with sqlite3.connect(tmp_path / "store" / SQLITE_FILE) as database:
        database.execute("update stored_snapshots set state = ? where originator_version = ?", (edited.state, earlier.originator_version))
    found = audit.verify_store(open_store(tmp_path / "store"))
    assert [finding.rule for finding in found.findings] == ["snapshot_matches_log"]


def _maps_reversed(tree: Any) -> Any:
    """A snapshot's JSON with every map's pairs in the reverse order: as a process whose
    string hashes differ may have listed them before snapshots put maps in key order."""
    if isinstance(tree, list):
        return [_maps_reversed(item) for item in tree]
    if isinstance(tree, dict):
        if tree.get("_type_") == "map":
            return {**tree, "_data_": [_maps_reversed(pair) for pair in reversed(tree["_data_"])]}
        return {key: _maps_reversed(value) for key, value in tree.items()}
    return tree


def test_a_snapshot_lists_each_map_in_key_order() -> None:
    transcoder = open_store(None)._app.mapper.transcoder
    keys = [f"key-{index}" for index in range(50)]
    for order in (keys, keys[::-1]):
        written = json.loads(transcoder.encode({"m": Map((key, 1) for key in order)}))
        assert [pair[0] for pair in written["m"]["_data_"]] == sorted(keys)


def test_a_snapshot_written_by_another_process_verifies(tmp_path: Path) -> None:
    """A snapshot lists its maps in key order; one that a process listed in its own hash order
    before that verifies too, and an edit of one of its pairs is still found."""
    writer = Peer(open_store(tmp_path / "store"), clock=lambda: T0)
    handle = writer.create_group(writer.create_identity("alice"), "club")
    for name in ("bob", "carol", "dave"):  # each credential issued is a pair of the group's credentials map
        writer.create_invitation(handle, writer.identity_xml(writer.create_identity(name)))
    store = open_store(tmp_path / "store")
    log = store.replica_log(writer.identities()[0].peer_name, writer.group_properties(handle).group_peer_name)
    log.snapshot_version = log.version
    row = store._app.mapper.to_stored_event(ReplicaLog.Snapshot.take(log))
    shuffled = json.dumps(_maps_reversed(json.loads(row.state)), separators=(",", ":"), sort_keys=True).encode()
    assert shuffled != row.state and json.loads(shuffled) != json.loads(row.state)
    with sqlite3.connect(tmp_path / "store" / SQLITE_FILE) as database:  # in place of the one taken at this version, if any
        database.execute("delete from stored_snapshots where originator_version = ?", (row.originator_version,))
    assert store._app.snapshots is not None
    store._app.snapshots.recorder.insert_events([dataclasses.replace(row, state=shuffled)])
    assert audit.verify_store(open_store(tmp_path / "store")).holds

    identity = log.identity.encode()
    edited = shuffled.replace(identity, identity[:-1] + (b"x" if identity[-1:] != b"x" else b"y"), 1)
    assert edited != shuffled
    with sqlite3.connect(tmp_path / "store" / SQLITE_FILE) as database:
        database.execute("update stored_snapshots set state = ? where originator_version = ?", (edited, row.originator_version))
    assert not audit.verify_store(open_store(tmp_path / "store")).holds


def test_a_store_written_under_one_hash_seed_verifies_under_another(tmp_path: Path) -> None:
    """String and bytes hashes differ between processes: a snapshot must not depend on them."""
    write = (
        "import sys; from datetime import datetime, timedelta, timezone; from pathlib import Path;"
        "from peerstate import Peer, open_store;"
        "t = datetime(2026, 1, 1, tzinfo=timezone.utc);"
        "peer = Peer(open_store(Path(sys.argv[1])), clock=lambda: t);"
        "h = peer.create_group(peer.create_identity('alice'), 'club');"
        "[peer.create_invitation(h, peer.identity_xml(peer.create_identity(f'm{i}'))) for i in range(8)];"
        "[peer.add_record(h, __import__('uuid').UUID(int=7), t + timedelta(days=1), data=i.to_bytes(2, 'big')) for i in range(600)]"
    )
    verify = "import sys; from pathlib import Path; from peerstate import audit, open_store; sys.exit(0 if audit.verify_store(open_store(Path(sys.argv[1]))).holds else 1)"
    location = tmp_path / "store"
    run = lambda code, seed: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code, str(location)], env={**os.environ, "PYTHONHASHSEED": seed}, check=False,
    ).returncode
    assert run(write, "1") == 0
    assert store_has_snapshot(location)
    assert run(verify, "1") == 0
    assert run(verify, "2") == 0


def store_has_snapshot(location: Path) -> bool:
    with sqlite3.connect(location / SQLITE_FILE) as database:
        return bool(database.execute("select count(*) from stored_snapshots").fetchone()[0])


def test_a_snapshot_written_before_member_data_was_kept_is_not_opened_from(tmp_path: Path) -> None:
    """A snapshot without the group state's member data cannot say what it is: an open
    replays the log from its events instead, and verify reads the snapshot as a row only.
    The next write takes a snapshot of today's form, so that later opens start from it
    again rather than replaying the whole log until the policy's interval has passed."""
    writer = Peer(open_store(tmp_path / "store"), clock=lambda: T0)
    handle = writer.create_group(writer.create_identity("alice"), "club")
    for name in ("bob", "carol"):
        writer.create_invitation(handle, writer.identity_xml(writer.create_identity(name)))
    store = open_store(tmp_path / "store")
    log = store.replica_log(writer.identities()[0].peer_name, writer.group_properties(handle).group_peer_name)
    assert log.state.group.member_data  # the creator's, by its acts
    log.snapshot_version = log.version
    row = store._app.mapper.to_stored_event(ReplicaLog.Snapshot.take(log))
    tree = json.loads(row.state)
    del tree["state"]["state"]["_data_"]["group"]["_data_"]["member_data"]
    earlier = dataclasses.replace(row, state=json.dumps(tree, separators=(",", ":"), sort_keys=True).encode())
    with sqlite3.connect(tmp_path / "store" / SQLITE_FILE) as database:  # in place of the one taken at this version, if any
        database.execute("delete from stored_snapshots where originator_version = ?", (row.originator_version,))
    assert store._app.snapshots is not None
    store._app.snapshots.recorder.insert_events([earlier])

    opened = open_store(tmp_path / "store").replica_log(log.identity, log.group)
    assert opened.state == log.state == open_store(tmp_path / "store").replayed(log.id).state
    assert opened.snapshot_version == 0  # no snapshot to open from: the next write takes one
    with pytest.raises(EarlierSnapshot):
        store.stored_snapshots(log.id)[-1].mutate(None)
    assert audit.verify_store(open_store(tmp_path / "store")).holds
    edited = earlier.state.replace(b'"_type_":"GroupState"', b'"_type_":"GroupStat"')
    with sqlite3.connect(tmp_path / "store" / SQLITE_FILE) as database:
        database.execute("update stored_snapshots set state = ? where originator_version = ?", (edited, row.originator_version))
    assert [finding.rule for finding in audit.verify_store(open_store(tmp_path / "store")).findings] == ["snapshot_decodes"]


def test_the_first_write_after_a_snapshot_of_an_earlier_form_takes_one_of_today_s(tmp_path: Path) -> None:
    writer = Peer(open_store(tmp_path / "store"), clock=lambda: T0)
    handle = writer.create_group(writer.create_identity("alice"), "club")
    store = open_store(tmp_path / "store")
    log = store.replica_log(writer.identities()[0].peer_name, writer.group_properties(handle).group_peer_name)
    with sqlite3.connect(tmp_path / "store" / SQLITE_FILE) as database:
        database.execute("delete from stored_snapshots")
    row = store._app.mapper.to_stored_event(ReplicaLog.Snapshot.take(log))
    tree = json.loads(row.state)
    del tree["state"]["state"]["_data_"]["group"]["_data_"]["member_data"]
    assert store._app.snapshots is not None
    store._app.snapshots.recorder.insert_events([dataclasses.replace(row, state=json.dumps(tree, separators=(",", ":"), sort_keys=True).encode())])

    later = Peer(open_store(tmp_path / "store"), clock=lambda: T0)
    later.add_record(later.open_group(log.identity, log.group), KIND, T0 + timedelta(days=1), data=b"after")
    reopened = open_store(tmp_path / "store").replica_log(log.identity, log.group)
    assert reopened.snapshot_version == reopened.version > log.version  # opened from the new snapshot
