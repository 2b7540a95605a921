"""The ``peerstate`` command.

``peerstate replay PATH... [--store DIR] [--json]`` replays scenario files: one line per step,
then ``N passed, M failed``. Exit status 0 when every step passed, 1 when a step failed, 2
when a file is invalid; the valid files still run, so one bad file hides no other result.

``peerstate log --store DIR [--group NAME] [--json]`` prints the history of every replica of
the stores at DIR (of one group with ``--group``): time, author, event, effect, and for a
refused envelope the rule and why; a table by default, JSON lines with ``--json``.

``peerstate identities|groups|members --store DIR [--group NAME] [--at TIME | --event N] [--json]``
show the derived state: the identities of each store; each replica's group; each group's
members. ``--at`` and ``--event`` show a replica as it stood at a time (what it had recorded
by then) or after its N-th event (the ``[N]`` of ``peerstate log``).

``peerstate verify --store DIR [--json]`` judges every replica log of the stores at DIR again:
a line per finding (group, author, sequence number, rule, why), then a summary. Exit status 0
when everything holds, 1 when something does not, 2 when DIR holds no store.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from peerstate.audit import stores_under, verify_store
from peerstate.domain.records import live_records
from peerstate.history import Entry, history
from peerstate.scenario.values import parse_time
from peerstate.views import group_digest, member_lines, replica_as_of
from peerstate.scenario import ScenarioFileError, StepResult, load_scenario, replay, scenario_files
from peerstate.scenario.problems import format_path
from peerstate.domain.replica import ReplicaState
from peerstate.locations import FROM_ENVIRONMENT, child, is_postgres
from peerstate.store import PeerStore, open_store


def _location(text: str) -> Path | str:
    """A ``--store``: a directory, a PostgreSQL URL (``postgresql://...?schema=name``), or
    ``env:``, the store eventsourcing's environment variables describe."""
    return text if is_postgres(text) or text == FROM_ENVIRONMENT else Path(text)


def _result_json(result: StepResult) -> str:
    return json.dumps({**attrs.asdict(result), "file": str(result.file)})


def _invalid_json(error: ScenarioFileError) -> str:
    path = format_path(error.path)
    return json.dumps(
        {"file": str(error.file), "invalid": True, "path": path, "message": error.message}
    )


def _replay(arguments: argparse.Namespace) -> int:
    files = scenario_files(arguments.paths)
    results: list[StepResult] = []
    invalid = 0
    for file in files:
        store_root: Path | str | None = arguments.store
        if store_root is not None and len(files) > 1:
            store_root = child(store_root, file.stem)
        try:
            steps = replay(load_scenario(file), store_root=store_root)
        except ScenarioFileError as error:
            invalid += 1
            if arguments.json:
                print(_invalid_json(error), flush=True)
            else:
                print(f"invalid: {error}", file=sys.stderr, flush=True)
            continue
        for result in steps:
            print(_result_json(result) if arguments.json else result, flush=True)
        results.extend(steps)
    failed = sum(not result.passed for result in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 2 if invalid else 1 if failed else 0


def _verify(arguments: argparse.Namespace) -> int:
    stores = list(stores_under(arguments.store))
    if not stores:
        print(f"no store at {arguments.store}", file=sys.stderr)
        return 2
    replicas = envelopes = findings = 0
    for path in stores:
        store = open_store(path)
        try:
            verification = verify_store(store)
        finally:
            store.close()
        for finding in verification.findings:
            if arguments.json:
                print(json.dumps({"store": str(path), **attrs.asdict(finding)}), flush=True)
            else:
                print(f"{path}: {finding}", flush=True)
        replicas += verification.replicas
        envelopes += verification.envelopes
        findings += len(verification.findings)
    print(f"{len(stores)} store(s), {replicas} replica(s), {envelopes} envelope(s): {findings} finding(s)")
    return 1 if findings else 0


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _entry_line(position: int, entry: Entry) -> str:
    who = f"{entry.author} #{entry.seq}" if entry.author else f"[{entry.identity}'s replica]"
    refused = f"  REFUSED {entry.refused}" if entry.refused else ""
    return f"[{position}] {_when(entry.at)}  {who}  {entry.event}: {entry.effect}{refused}"


def _stores(arguments: argparse.Namespace) -> Iterator[tuple[Path | str, PeerStore]]:
    """Each store at ``--store``, opened and closed in turn."""
    for path in stores_under(arguments.store):
        store = open_store(path)
        try:
            yield path, store
        finally:
            store.close()


def _print(arguments: argparse.Namespace, record: dict[str, Any], line: str) -> None:
    print(json.dumps(record, default=str) if arguments.json else line, flush=True)


def _identities(arguments: argparse.Namespace) -> int:
    for path, store in _stores(arguments):
        for record in store.identity_log().state.identities.values():
            state = f"deleted {_when(record.deleted_at)}" if record.deleted_at else "live"
            _print(arguments, {
                "store": str(path), "peer_name": record.peer_name, "friendly_name": record.friendly_name,
                "origin": record.origin, "created_at": record.created_at, "deleted_at": record.deleted_at,
                "groups": list(record.groups),
            }, f"{path}: {record.peer_name} ({record.friendly_name}), {record.origin} {_when(record.created_at)}, {state}; "
               f"groups: {', '.join(record.groups) or 'none'}")
    return 0


def _replicas_as_of(arguments: argparse.Namespace) -> Iterator[tuple[Path | str, str, ReplicaState, datetime]]:
    """Each replica (of ``--group``) as of ``--at`` / ``--event``, with the time it stood at."""
    at = parse_time(arguments.at) if arguments.at else None
    for path, store in _stores(arguments):
        for identity, group in store.replica_keys():
            if arguments.group in (None, group):
                state, last = replica_as_of(group, store.replica_events(identity, group), event=arguments.event, at=at)
                moment = at if at is not None else last
                if moment is not None:
                    yield path, identity, state, moment


def _groups(arguments: argparse.Namespace) -> int:
    for path, identity, state, at in _replicas_as_of(arguments):
        group = state.group
        shown = len(live_records(group.records, at))
        _print(arguments, {
            "store": str(path), "identity": identity, "group": group.group_peer_name, "at": at,
            "friendly_name": state.friendly_name, "phase": state.phase, "members": len(group.members),
            "records": shown, "refused": state.refused, "digest": group_digest(group),
        }, f"{path}: {group.group_peer_name} ({state.friendly_name}) as {identity}'s replica at {_when(at)}: "
           f"{state.phase}, {len(group.members)} member(s), {shown} record(s), {state.refused} refused, "
           f"digest {group_digest(group)[:16]}")
    return 0


def _members(arguments: argparse.Namespace) -> int:
    for path, identity, state, at in _replicas_as_of(arguments):
        if not arguments.json:
            print(f"== {state.group.group_peer_name}, as {identity}'s replica in {path} knew it at {_when(at)}")
        for line in member_lines(state.group, at):
            standing = ("in force" if line.in_force else "not in force") + (", present" if line.present else "") + (", deleted" if line.deleted else "")
            validity = f"{_when(line.valid_from)} to {_when(line.valid_until)}" if line.valid_from and line.valid_until else "no credential"
            _print(arguments, {"store": str(path), "replica": identity, "group": state.group.group_peer_name, "at": at, **attrs.asdict(line)},
                   f"{line.identity} ({line.friendly_name})  {', '.join(line.roles) or 'no role'}  {validity}  {standing}")
    return 0


def _log(arguments: argparse.Namespace) -> int:
    stores = list(stores_under(arguments.store))
    if not stores:
        print(f"no store at {arguments.store}", file=sys.stderr)
        return 2
    for path in stores:
        store = open_store(path)
        try:
            for identity, group in store.replica_keys():
                if arguments.group not in (None, group):
                    continue
                if not arguments.json:
                    print(f"== {group}, as {identity}'s replica in {path} sees it")
                for position, entry in enumerate(history(identity, group, store.replica_events(identity, group)), 1):
                    if arguments.json:
                        print(json.dumps({"store": str(path), "position": position, **attrs.asdict(entry), "at": entry.at.isoformat()}), flush=True)
                    else:
                        print(_entry_line(position, entry), flush=True)
        finally:
            store.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peerstate",
        description="The Windows Peer Grouping and Identity Manager semantics, event-sourced.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    replay_command = commands.add_parser(
        "replay", help="replay scenario files",
        description="Replay scenario files (shared/SCENARIOS.md): a line per step, then "
        "'N passed, M failed'. Exit status 0: all passed; 1: a step failed; 2: a file is invalid.",
    )
    replay_command.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH",
        help="a scenario file, or a directory: every *.json file under it",
    )
    replay_command.add_argument(
        "--store", type=_location, metavar="DIR",
        help="keep each peer's store in DIR/<peer> (DIR/<file stem>/<peer> for several files); "
        "default: in memory",
    )
    replay_command.add_argument("--json", action="store_true", help="print JSON lines")
    replay_command.set_defaults(run=_replay)
    log_command = commands.add_parser(
        "log", help="print the history of a store's replicas",
        description="Print the history of every replica of the stores at DIR: time, author (with "
        "the friendly name the group knew), event, effect, and why an envelope was refused.",
    )
    log_command.add_argument("--store", type=_location, metavar="DIR", required=True, help="a store, or a directory of stores")
    log_command.add_argument("--group", metavar="NAME", help="only this group (its group peer name)")
    log_command.add_argument("--json", action="store_true", help="print JSON lines")
    log_command.set_defaults(run=_log)
    for name, run, summary in (
        ("identities", _identities, "the identities of each store, deleted ones too"),
        ("groups", _groups, "each replica's group: phase, members, records, digest"),
        ("members", _members, "each group's members: roles, validity, presence"),
    ):
        command = commands.add_parser(name, help=summary, description=f"Show {summary}.")
        command.add_argument("--store", type=_location, metavar="DIR", required=True, help="a store, or a directory of stores")
        if name != "identities":
            command.add_argument("--group", metavar="NAME", help="only this group (its group peer name)")
            as_of = command.add_mutually_exclusive_group()
            as_of.add_argument("--at", metavar="TIME", help="as the replica stood at this ISO-8601 UTC time")
            as_of.add_argument("--event", type=int, metavar="N", help="as the replica stood after its N-th event")
        command.add_argument("--json", action="store_true", help="print JSON lines")
        command.set_defaults(run=run)
    verify_command = commands.add_parser(
        "verify", help="verify stores offline",
        description="Judge every replica log of the stores at DIR again, from their rows: every "
        "envelope's signature, its author's credential and role at its time, each author's chain "
        "(no gap, fork or reordering), and every refusal. Exit status 0: all holds; 1: a finding; "
        "2: no store at DIR.",
    )
    verify_command.add_argument(
        "--store", type=_location, metavar="DIR", required=True,
        help="a store, or a directory of stores (as replay --store leaves them)",
    )
    verify_command.add_argument("--json", action="store_true", help="print findings as JSON lines")
    verify_command.set_defaults(run=_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    arguments = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = arguments.run
    try:
        return run(arguments)
    except BrokenPipeError:  # the reader (``| head``) has all it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  # so that the interpreter's final flush is quiet
        return 0
