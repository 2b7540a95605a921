"""A peer process for ``tests/test_concurrency.py``: it opens the store at a directory and
the group handles it needs (so it has read the logs, as a long-running process has), prints
``ready``, waits for a line on stdin (so that every worker starts at once), runs one job and
prints one JSON line with what happened.

Usage: ``race_worker.py JOB STORE JSON_ARGS``, where ``STORE`` is a directory or a PostgreSQL URL. Every job takes ``open``, a list of
``[identity, group]`` replicas to open first, and ``at``, the seconds after ``T0`` at which
its clock stands still (0 by default). Jobs:

- ``add``: add ``count`` records to the first replica opened.
- ``update``: read one record and update it, ``count`` times.
- ``call``: after ``delay`` seconds, one call (``delete_identity``, ``create_group``,
  ``join``, ``issue_credentials``), then, with ``sync``, connect every opened replica and
  run ``network.synchronize``.
- ``sync``: connect every opened replica, open the store at ``with`` (a second peer, at
  address ``other``) and its replicas ``with_open``, connected too, and synchronize the two
  ``rounds`` times, ``interval`` seconds apart, while the other workers write.

The result line lists what succeeded, counts the ``PeerError`` names of the calls that
failed, how many calls were made again because another process committed first
(``Peer.races_lost``), and any other exception (which no call should let out).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from peerstate.peer import sync_port
from peerstate import Peer, PeerError, PeerSettings, network, open_store
from peerstate import CredentialRequest
from peerstate.storage.locations import parse_location


T0: Final = datetime(2026, 1, 1, tzinfo=timezone.utc)
KIND: Final = uuid.UUID("11111111-2222-3333-4444-555555555555")
STORE_CREDENTIALS: Final = 0x1
"""``PEER_GROUP_STORE_CREDENTIALS``: the group log delivers the new credential."""


class Outcome:
    """What a worker saw, as the JSON line it prints."""

    def __init__(self) -> None:
        self.succeeded: list[str] = []
        self.errors: Counter[str] = Counter()
        self.conflicts = 0
        self.other: list[str] = []

    def failed(self, error: PeerError) -> None:
        self.errors[error.name] += 1

    def as_json(self) -> str:
        return json.dumps({
            "succeeded": self.succeeded, "errors": dict(self.errors), "conflicts": self.conflicts,
            "other": self.other,
        })


Handles = dict[tuple[str, str], str]


def add(peer: Peer, handles: Handles, args: dict[str, Any], outcome: Outcome) -> None:
    handle = next(iter(handles.values()))
    for index in range(args["count"]):
        try:
            record_id = peer.add_record(handle, KIND, T0 + timedelta(days=1), data=f"{args['tag']}-{index}".encode())
        except PeerError as error:
            outcome.failed(error)
            continue
        outcome.succeeded.append(str(record_id))


def update(peer: Peer, handles: Handles, args: dict[str, Any], outcome: Outcome) -> None:
    handle = next(iter(handles.values()))
    record_id = uuid.UUID(args["record"])
    for index in range(args["count"]):
        data = f"{args['tag']}-{index}"
        try:
            held = peer.get_record(handle, record_id)
            peer.update_record(
                handle, record_id, KIND, 0, held.record.expiration + timedelta(minutes=1), data=data.encode(),
            )
        except PeerError as error:
            outcome.failed(error)
            continue
        outcome.succeeded.append(data)


def call(peer: Peer, handles: Handles, args: dict[str, Any], outcome: Outcome) -> None:
    name = args["call"]
    time.sleep(args.get("delay", 0))
    try:
        if name == "delete_identity":
            peer.delete_identity(args["identity"])
        elif name == "create_group":
            peer.create_group(args["identity"], "raced")
        elif name == "join":
            peer.join(args["identity"], args["invitation"])
        elif name == "issue_credentials":
            handle = handles[(args["identity"], args["group"])]
            peer.issue_credentials(handle, args["subject"], _request(peer, args), STORE_CREDENTIALS)
        else:
            raise SystemExit(f"unknown call {name}")
    except PeerError as error:
        outcome.failed(error)
    else:
        outcome.succeeded.append(name)
    if args.get("sync"):
        for handle in handles.values():
            peer.connect(handle)
        network.synchronize({"peer": peer})


def sync(peer: Peer, handles: Handles, args: dict[str, Any], outcome: Outcome) -> None:
    now = T0 + timedelta(seconds=args.get("at", 0))
    other = Peer(open_store(parse_location(args["with"])), clock=lambda: now, settings=PeerSettings(address="other"))
    for handle in handles.values():
        peer.connect(handle)
    for identity, group in args["with_open"]:
        other.connect(other.open_group(identity, group))
    for round_ in range(args["rounds"]):
        network.synchronize({peer.settings.address: peer, "other": other})
        outcome.succeeded.append(f"round {round_}")
        time.sleep(args.get("interval", 0.05))


def _request(peer: Peer, args: dict[str, Any]) -> CredentialRequest:
    """A ``PEER_CREDENTIAL_INFO`` with ``roles`` for the subject's key, as the issuer's replica knows it."""
    latest = sync_port(peer).sync_replica((args["identity"], args["group"])).state.group.latest_credential(args["subject"])
    assert latest is not None
    return CredentialRequest(latest.public_key, tuple(args["roles"]))


JOBS: Final[dict[str, Callable[[Peer, Handles, dict[str, Any], Outcome], None]]] = {
    "add": add, "update": update, "call": call, "sync": sync,
}


def main() -> None:
    job, directory, raw = sys.argv[1:4]
    args: dict[str, Any] = json.loads(raw)
    outcome = Outcome()
    store = open_store(parse_location(directory))
    now = T0 + timedelta(seconds=args.get("at", 0))  # one fixed clock, shared by every worker of a race
    peer = Peer(store, clock=lambda: now, settings=PeerSettings(address=args.get("address", "::1")))
    handles: Handles = {(identity, group): peer.open_group(identity, group) for identity, group in args.get("open", [])}
    for handle in handles.values():
        peer.group_status(handle)
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        JOBS[job](peer, handles, args, outcome)
    except Exception:  # anything but a PeerError out of a call is a finding: report it
        outcome.other.append(traceback.format_exc())
    outcome.conflicts = peer.races_lost
    print(outcome.as_json(), flush=True)


if __name__ == "__main__":
    main()
