"""The ``peerstate`` command.

``peerstate replay PATH... [--store DIR] [--json]`` replays scenario files: one line per step,
then ``N passed, M failed``. Exit status 0 when every step passed, 1 when a step failed, 2
when a file is invalid; the valid files still run, so one bad file hides no other result.

``peerstate log --store DIR [--group NAME] [--json]`` prints the history of every replica of
the stores at DIR (of one group with ``--group``): time, author, event, effect, and for a
refused envelope the rule and why; a table by default, JSON lines with ``--json``.

``peerstate verify --store DIR [--json]`` judges every replica log of the stores at DIR again:
a line per finding (group, author, sequence number, rule, why), then a summary. Exit status 0
when everything holds, 1 when something does not, 2 when DIR holds no store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from peerstate.audit import stores_under, verify_store
from peerstate.history import Entry, history
from peerstate.scenario import ScenarioFileError, StepResult, load_scenario, replay, scenario_files
from peerstate.scenario.problems import format_path
from peerstate.store import open_store


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
        store_root: Path | None = arguments.store
        if store_root is not None and len(files) > 1:
            store_root = store_root / file.stem
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


def _entry_line(entry: Entry) -> str:
    when = entry.at.isoformat().replace("+00:00", "Z")
    who = f"{entry.author} #{entry.seq}" if entry.author else f"[{entry.identity}'s replica]"
    refused = f"  REFUSED {entry.refused}" if entry.refused else ""
    return f"{when}  {who}  {entry.event}: {entry.effect}{refused}"


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
                for entry in history(identity, group, store.replica_events(identity, group)):
                    if arguments.json:
                        print(json.dumps({"store": str(path), **attrs.asdict(entry), "at": entry.at.isoformat()}), flush=True)
                    else:
                        print(_entry_line(entry), flush=True)
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
        "--store", type=Path, metavar="DIR",
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
    log_command.add_argument("--store", type=Path, metavar="DIR", required=True, help="a store, or a directory of stores")
    log_command.add_argument("--group", metavar="NAME", help="only this group (its group peer name)")
    log_command.add_argument("--json", action="store_true", help="print JSON lines")
    log_command.set_defaults(run=_log)
    verify_command = commands.add_parser(
        "verify", help="verify stores offline",
        description="Judge every replica log of the stores at DIR again, from their rows: every "
        "envelope's signature, its author's credential and role at its time, each author's chain "
        "(no gap, fork or reordering), and every refusal. Exit status 0: all holds; 1: a finding; "
        "2: no store at DIR.",
    )
    verify_command.add_argument(
        "--store", type=Path, metavar="DIR", required=True,
        help="a store, or a directory of stores (as replay --store leaves them)",
    )
    verify_command.add_argument("--json", action="store_true", help="print findings as JSON lines")
    verify_command.set_defaults(run=_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    arguments = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = arguments.run
    return run(arguments)
