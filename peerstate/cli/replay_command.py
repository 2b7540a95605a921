"""``peerstate replay``: scenario files replayed, a line per step, then how many passed,
failed and were invalid.

An invalid file is reported (a JSON line, or a line on stderr) and the valid ones still
run; with ``--store``, each file's peers keep their stores where ``stores_of_file`` puts
them, so that ``peerstate log``, ``verify`` and ``members`` can read them afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs

from peerstate.cli.output import Paint, Progress, UsageError, opening, painter, safe
from peerstate.scenario import ScenarioFileError, StepResult, load_scenario, replay, scenario_files, stores_of_file
from peerstate.scenario.problems import format_path


def _result_json(result: StepResult) -> str:
    return json.dumps({**attrs.asdict(result), "file": str(result.file)})


def _result_line(result: StepResult, paint: Paint) -> str:
    """The step's line with its verdict painted: ``StepResult``'s line ends with PASS, or
    with FAIL, ': ' and the difference, which holds what the peers returned (``safe``)."""
    difference = safe(result.difference)
    line = str(attrs.evolve(result, difference=difference))
    tail = "" if result.passed else f": {difference}"
    head, _, verdict = line[: len(line) - len(tail)].rpartition(" ")
    return f"{head} {paint(verdict, result.passed)}{tail}"


def _report_invalid(arguments: argparse.Namespace, error: ScenarioFileError) -> None:
    """An invalid file: a JSON line with ``--json``, else a line on stderr, as it is no result."""
    if arguments.json:
        print(json.dumps({"file": str(error.file), "invalid": True, "path": format_path(error.path), "message": error.message}), flush=True)
    else:
        print(f"invalid: {error}", file=sys.stderr, flush=True)


def _file_stores(store: Path | str | None, files: Sequence[Path]) -> Callable[[Path], Path | str | None]:
    """Where each file's peers keep their stores: in memory without ``--store``; for one
    file, right under it; for several, each under a location of its own named after its
    path below the folder all of them are in (``stores_of_file``, as the pytest plugin
    names them), so that two files of one name in different folders never share one."""
    if store is None or len(files) == 1:
        return lambda file: store
    top = Path(os.path.commonpath([os.path.abspath(file.parent) for file in files]))
    return lambda file: stores_of_file(store, Path(os.path.abspath(file)), top)


def _replayed(progress: Progress, file: Path, store: Path | str | None) -> list[StepResult] | ScenarioFileError:
    """The results of replaying ``file``, or why it is invalid."""
    try:
        with progress.showing(file), opening(store):
            return replay(load_scenario(file), store_root=store)
    except ScenarioFileError as error:
        return error


def run_replay(arguments: argparse.Namespace) -> int:
    """``peerstate replay``: 0 when every step passed, 1 when one failed, 2 when a file is invalid."""
    files = scenario_files(arguments.paths)
    if not files:
        raise UsageError(f"no scenario files in {', '.join(map(str, arguments.paths))}")
    if isinstance(arguments.store, Path):  # made now: a path that cannot hold stores fails once, not every step
        try:
            arguments.store.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"cannot make the store directory {arguments.store}: {error.strerror}") from error
    paint = painter(arguments)
    progress = Progress(len(files), "files")
    stores = _file_stores(arguments.store, files)
    passed = failed = invalid = 0
    with progress.interruptible():
        for file in files:
            outcome = _replayed(progress, file, stores(file))
            with progress.reporting():
                if isinstance(outcome, ScenarioFileError):
                    invalid += 1
                    _report_invalid(arguments, outcome)
                else:
                    for result in outcome:
                        print(_result_json(result) if arguments.json else _result_line(result, paint), flush=True)
                    passed += sum(result.passed for result in outcome)
                    failed += sum(not result.passed for result in outcome)
    progress.summary(
        arguments, paint, {"passed": passed, "failed": failed, "invalid": invalid},
        f"{passed} passed, {failed} failed, {invalid} invalid", not failed and not invalid,
    )
    return 2 if invalid else 1 if failed else 0
