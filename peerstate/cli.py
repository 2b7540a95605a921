"""The ``peerstate`` command. Subcommands so that more (inspecting, verifying stores) fit later.

``peerstate replay PATH... [--store DIR] [--json]`` replays scenario files: one line per step,
then ``N passed, M failed``. Exit status 0 when every step passed, 1 when a step failed, 2
when a file is invalid; the valid files still run, so one bad file hides no other result.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from peerstate.scenario import ScenarioFileError, StepResult, load_scenario, replay, scenario_files
from peerstate.scenario.problems import format_path


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    arguments = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = arguments.run
    return run(arguments)
