"""The commands that read stores: ``verify`` judges every replica log again from its rows;
``log`` prints each replica's history; ``identities``, ``groups`` and ``members`` show what
the stores hold, ``groups`` and ``members`` as of a time (``--at``) or an event (``--event``).

Each store at ``--store`` is opened read-only and closed in turn (``_opened``): these
commands never write a store, and a location that holds none is a usage error, left as it
was.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from peerstate.audit import stores_under, verify_store
from peerstate.cli.output import Progress, UsageError, opening, painter, safe, shown
from peerstate.domain.records import LiveRecords
from peerstate.domain.replica import ReplicaState
from peerstate.history import Entry, history
from peerstate.storage.opening import open_store
from peerstate.storage.peer_store import PeerStore
from peerstate.views import group_digest, member_lines, replica_as_of


def _store_paths(location: Path | str) -> list[Path | str]:
    """The stores at ``--store``; none is nothing to work on."""
    with opening(location):
        stores = list(stores_under(location))
    if not stores:
        raise UsageError(f"no store at {safe(shown(location))}")
    return stores


def _opened(paths: Iterable[Path | str], identity: str | None) -> Iterator[tuple[str, PeerStore]]:
    """Each store, opened read-only and closed in turn, with its name as output shows it
    (``shown``: without a PostgreSQL password). With ``--identity``, a store that does not
    hold that identity is another's (swapped in for its owner's): a usage error, before
    anything of it is shown."""
    for path in paths:
        with opening(path):
            store = open_store(path, read_only=True)
        try:
            if identity is not None and identity not in store.identity_log().state.identities:
                raise UsageError(f"the store at {safe(shown(path))} holds no identity {safe(identity)}: it is another's")
            yield shown(path), store
        finally:
            store.close()


def run_verify(arguments: argparse.Namespace) -> int:
    """``peerstate verify``: 0 when everything holds, 1 for a finding."""
    paths = _store_paths(arguments.store)
    paint = painter(arguments)
    progress = Progress(len(paths), "stores")
    replicas = envelopes = without_context = findings = 0
    old_password_groups: set[str] = set()
    with progress.interruptible():
        for path, store in _opened(paths, arguments.identity):
            with progress.showing(path):
                verification = verify_store(store)
            with progress.reporting():
                for finding in verification.findings:
                    if arguments.json:
                        print(json.dumps({"store": path, **attrs.asdict(finding)}), flush=True)
                    else:
                        print(paint(f"{safe(path)}: {safe(str(finding))}", False), flush=True)
                replicas += verification.replicas
                envelopes += verification.envelopes
                without_context += verification.without_context
                old_password_groups.update(verification.old_password_groups)
                findings += len(verification.findings)
    older = f" ({without_context} written before envelopes cited a context)" if without_context else ""
    passwords = (
        f"; {len(old_password_groups)} group(s) still check their password by a verifier members could join with: "
        "their creator should set the password again" if old_password_groups else ""
    )
    progress.summary(
        arguments, paint, {
            "replicas": replicas, "envelopes": envelopes, "without_context": without_context, "findings": findings,
            "old_password_groups": len(old_password_groups),
        },
        f"{progress.done} store(s), {replicas} replica(s), {envelopes} envelope(s){older}: {findings} finding(s){passwords}", not findings,
    )
    return 1 if findings else 0


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _entry_line(position: int, entry: Entry) -> str:
    who = f"{safe(entry.author)} #{entry.seq}" if entry.author else f"[{safe(entry.identity)}'s replica]"
    refused = f"  REFUSED {safe(entry.refused)}" if entry.refused else ""
    return f"[{position}] {_when(entry.at)}  {who}  {entry.event}: {safe(entry.effect)}{refused}"


def _print(arguments: argparse.Namespace, record: dict[str, Any], line: str) -> None:
    print(json.dumps(record, default=str) if arguments.json else line, flush=True)


def run_identities(arguments: argparse.Namespace) -> int:
    """``peerstate identities``: a line (a JSON object) per identity of each store."""
    for path, store in _opened(_store_paths(arguments.store), arguments.identity):
        for record in store.identity_log().state.identities.values():
            state = f"deleted {_when(record.deleted_at)}" if record.deleted_at else "live"
            groups = ", ".join(map(safe, record.groups)) or "none"
            _print(arguments, {
                "store": path, "peer_name": record.peer_name, "friendly_name": record.friendly_name,
                "origin": record.origin, "created_at": record.created_at, "deleted_at": record.deleted_at,
                "groups": list(record.groups),
            }, f"{safe(path)}: {safe(record.peer_name)} ({safe(record.friendly_name)}), {record.origin} "
               f"{_when(record.created_at)}, {state}; groups: {groups}")
    return 0


def _no_replica(arguments: argparse.Namespace, why: str = "") -> UsageError:
    """The error for a ``--group``, ``--event`` or ``--at`` that leaves no replica to show."""
    of = f" of the group {safe(arguments.group)}" if arguments.group is not None else ""
    return UsageError(f"no replica{of} in the stores at {safe(shown(arguments.store))}{why}")


def _replicas(arguments: argparse.Namespace) -> Iterator[tuple[str, PeerStore, str, str]]:
    """Each replica of ``--group`` (of every group without it) in the stores at ``--store``,
    in its store, which is open while it is worked on; a ``--group`` that no store holds is
    a usage error, not an empty output."""
    found = False
    for path, store in _opened(_store_paths(arguments.store), arguments.identity):
        for identity, group in store.replica_keys():
            if arguments.group in (None, group):
                found = True
                yield path, store, identity, group
    if arguments.group is not None and not found:
        raise _no_replica(arguments)


def _replicas_as_of(arguments: argparse.Namespace) -> Iterator[tuple[str, str, ReplicaState, datetime]]:
    """Each replica as of ``--at`` / ``--event``, with the time it stood at. A replica made
    after ``--at``, or whose log is shorter than ``--event``, had no such moment and is left
    out; all of them left out is a usage error that says how far the logs go."""
    longest, first, any_shown = 0, None, False
    for path, store, identity, group in _replicas(arguments):
        events = store.replica_events(identity, group)
        state, last = replica_as_of(group, events, event=arguments.event, at=arguments.at)
        if events:
            longest, first = max(longest, len(events)), min(first or events[0].at, events[0].at)
        if last is None or len(events) < (arguments.event or 0):
            continue
        any_shown = True
        yield path, identity, state, arguments.at or last
    if first is not None and not any_shown:
        if arguments.event is not None:
            raise _no_replica(arguments, f" has an event {arguments.event}: the longest log has {longest}")
        raise _no_replica(arguments, f" existed at {_when(arguments.at)}: the first began at {_when(first)}")


def run_groups(arguments: argparse.Namespace) -> int:
    """``peerstate groups``: a line (a JSON object) per replica, as of ``--at`` / ``--event``."""
    for path, identity, state, at in _replicas_as_of(arguments):
        group = state.group
        live = len(LiveRecords(group.records, at))
        password = group.properties.password if group.properties is not None else None
        scheme = None if password is None else "exchange" if password.augmented else "verifier"
        _print(arguments, {
            "store": path, "identity": identity, "group": group.group_peer_name, "at": at,
            "friendly_name": state.friendly_name, "phase": state.phase, "members": len(group.members),
            "records": live, "refused": state.refused, "digest": group_digest(group), "password": scheme,
        }, f"{safe(path)}: {safe(group.group_peer_name)} ({safe(state.friendly_name)}) as {safe(identity)}'s replica "
           f"at {_when(at)}: {state.phase}, {len(group.members)} member(s), {live} record(s), {state.refused} refused, "
           f"digest {group_digest(group)[:16]}"
           + ("; its password is checked by a verifier members could join with: set it again" if scheme == "verifier" else ""))
    return 0


def run_members(arguments: argparse.Namespace) -> int:
    """``peerstate members``: each replica's members, as of ``--at`` / ``--event``."""
    for path, identity, state, at in _replicas_as_of(arguments):
        if not arguments.json:
            print(f"== {safe(state.group.group_peer_name)}, as {safe(identity)}'s replica in {safe(path)} knew it at {_when(at)}")
        for line in member_lines(state.group, at):
            standing = ("in force" if line.in_force else "not in force") + (", present" if line.present else "") + (", deleted" if line.deleted else "")
            validity = f"{_when(line.valid_from)} to {_when(line.valid_until)}" if line.valid_from and line.valid_until else "no credential"
            _print(arguments, {"store": path, "replica": identity, "group": state.group.group_peer_name, "at": at, **attrs.asdict(line)},
                   f"{safe(line.identity)} ({safe(line.friendly_name)})  {', '.join(line.roles) or 'no role'}  {validity}  {standing}")
    return 0


def run_log(arguments: argparse.Namespace) -> int:
    """``peerstate log``: each replica's history, an entry a line, numbered from 1."""
    for path, store, identity, group in _replicas(arguments):
        if not arguments.json:
            print(f"== {safe(group)}, as {safe(identity)}'s replica in {safe(path)} sees it")
        for position, entry in enumerate(history(identity, group, store.replica_events(identity, group)), 1):
            if arguments.json:
                print(json.dumps({"store": path, "position": position, **attrs.asdict(entry), "at": entry.at.isoformat()}), flush=True)
            else:
                print(_entry_line(position, entry), flush=True)
    return 0
