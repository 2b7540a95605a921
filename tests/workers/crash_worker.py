"""A peer process for ``tests/test_crash_safety.py`` to be killed (SIGKILL) at a random point.

It writes to SQLite stores without end (or until its job is done) and acknowledges on stdout,
one flushed line at a time, only what a call has returned, so every acknowledged line names
something that must survive the kill.

Usage:

- ``crash_worker.py burst STORE_DIR IDENTITY GROUP SEED``: add records to the group replica
  in a loop (random sizes, some with attributes), and every ``GROUP_EVERY``-th call create
  a new group (one transaction over the identity log, a new replica log and the ledger).
  Prints ``ready``, then ``record <id> <data length>`` or ``group <group peer name>`` after
  each call returned.
- ``crash_worker.py sync SOURCE_DIR JOINER_DIR SOURCE JOINER GROUP BATCH_BYTES``: open both
  peers' stores, connect both replicas and run ``network.synchronize`` with batches of
  ``BATCH_BYTES``, so the group data travels in many batches, each a transaction on each
  store (``network.synchronize`` again while it moves the joiner on). Prints ``ready``, then ``accepted <store> <position> <record id>`` for every record
  envelope a store has committed (``changes.subscribe`` delivers after the commit), and
  ``head <store> <position>`` after each commit, and ``synced`` at the end.
"""

from __future__ import annotations

import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final

from peerstate.peer import sync_port
from peerstate import Peer, PeerSettings, network, open_store
from peerstate.sync import batches
from peerstate.changes import StoreChange, subscribe
from peerstate.domain.group_events import EnvelopeAccepted, RecordPublished
from peerstate.storage.locations import parse_location
from peerstate.storage.peer_store import PeerStore

T0: Final = datetime(2026, 1, 1, tzinfo=timezone.utc)
KIND: Final = uuid.UUID("11111111-2222-3333-4444-555555555555")
GROUP_EVERY: Final = 25
MAX_SYNCS: Final = 20
ATTRIBUTES: Final = "<attributes><attribute name='n' type='int'>{n}</attribute></attributes>"


def say(line: str) -> None:
    print(line, flush=True)


def burst(location: str, identity: str, group: str, seed: str) -> None:
    chance = random.Random(int(seed))
    peer = Peer(open_store(parse_location(location)), clock=lambda: T0)
    handle = peer.open_group(identity, group)
    say("ready")
    for call in range(1, 1_000_000):
        if call % GROUP_EVERY == 0:
            created = peer.create_group(identity, f"g{call}")
            say(f"group {peer.group_properties(created).group_peer_name}")
            continue
        data = chance.randbytes(chance.choice((0, 16, 700, 5000)))
        attributes = ATTRIBUTES.format(n=call) if call % 3 == 0 else None
        record_id = peer.add_record(handle, KIND, T0 + timedelta(days=1), data=data, attributes=attributes)
        say(f"record {record_id} {len(data)}")


def _acknowledging(store: PeerStore, name: str) -> None:
    """Print what ``store`` has committed, as ``changes.subscribe`` delivers it after each commit."""

    def listener(change: StoreChange) -> None:
        event = change.event
        if isinstance(event, EnvelopeAccepted) and isinstance(event.envelope.payload, RecordPublished):
            say(f"accepted {name} {change.position} {event.envelope.payload.record.id}")

    subscribe(store, listener)
    store.on_commit(lambda: say(f"head {name} {store.head()}"))


def sync_job(source_dir: str, joiner_dir: str, source: str, joiner: str, group: str, batch: str) -> None:
    setattr(batches, "BATCH_BYTES", int(batch))  # small batches: a long sync of many messages
    stores = {"source": open_store(Path(source_dir)), "joiner": open_store(Path(joiner_dir))}
    peers = {
        name: Peer(store, clock=lambda: T0, settings=PeerSettings(address=name)) for name, store in stores.items()
    }
    for name, store in stores.items():
        _acknowledging(store, name)
    for name, identity in (("source", source), ("joiner", joiner)):
        peers[name].connect(peers[name].open_group(identity, group))
    say("ready")
    key = (joiner, group)
    for _ in range(MAX_SYNCS):  # each call runs at most network.MAX_ROUNDS rounds
        before = stores["joiner"].head()
        network.synchronize(peers)
        if sync_port(peers["joiner"]).sync_replica(key).state.synchronized and stores["joiner"].head() == before:
            break
    say("synced")


def main() -> None:
    job, *args = sys.argv[1:]
    if job == "burst":
        burst(*args)
    elif job == "sync":
        sync_job(*args)
    else:
        raise SystemExit(f"unknown job {job!r}")


if __name__ == "__main__":
    main()
