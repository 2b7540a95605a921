"""Mutation testing of the rules: does every check admission and the calls make have a
test that fails when the check is broken?

Run it from a checkout: best a fresh ``git worktree`` of the commit to measure, so that
nobody's work in progress is measured (the checkout is only read, never written)::

    git worktree add --detach /tmp/measured main && cd /tmp/measured
    /work/main/.venv/bin/python tests/mutation.py        # every mutant, 2 at a time
    /work/main/.venv/bin/python tests/mutation.py --only rules.py:170 --only admission.py
    git worktree remove /tmp/measured

(from the main checkout itself: ``.venv/bin/python tests/mutation.py``).

It makes mutants of ``peerstate/domain/rules.py``, ``peerstate/domain/record_rules.py``,
``peerstate/sync/admission.py``, and what decides an envelope's context and whether a
demotion voids it (``peerstate/domain/context.py``, ``peerstate/domain/authority.py``)
from their syntax trees, one change each: an ``if``
condition (or a conditional expression's) negated; one comparison operator moved across
its boundary (``<`` and ``<=``, ``>`` and ``>=``, ``==`` and ``!=``, ``in`` and
``not in``, ``is`` and ``is not``); ``and`` and ``or`` swapped; a ``raise`` replaced by
``pass``; a ``return x`` replaced by ``return None``. Each mutant runs ``TESTS`` (the
admission attacks, the rule tests, the sync tests, the scenarios) with ``-x`` and a
timeout, in a copy of the checkout under the temporary directory (the checkout itself is
never written), at most two at a time: the machine has two cores and shares them. A mutant
is killed when the tests fail, or time out; the script prints the score and every
surviving mutant (file, line, what was mutated: the expression an operator's mutant made,
else the line as written), and exits 1 when the score is under ``--require`` (95 % by
default).

Before the mutants, each copy runs the tests once on the files as parsed and written back
(the form every mutant takes), which must pass: that run's time sets the timeout.

It takes about 20 minutes on two shared cores: some 270 mutants, most killed in a few
seconds by the first test that fails, a survivor costing a whole run of about a minute
(so more survivors, more time: 40 minutes without the admission attacks). It is a
documented command, not part of CI: the score is measured when rules change.
"""

from __future__ import annotations

import argparse
import ast
import copy
import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parents[1]
TARGETS: Final = (
    "peerstate/domain/rules.py", "peerstate/domain/record_rules.py", "peerstate/sync/admission.py",
    "peerstate/domain/context.py", "peerstate/domain/authority.py", "peerstate/domain/rank.py",
)
TESTS: Final = (
    # the fastest to fail first: -x stops a killed mutant at its first failing test
    "tests/test_admission_attacks.py",
    "tests/test_rules.py",
    "tests/test_credential_rules.py",
    "tests/test_bounds.py",
    "tests/test_waiting.py",
    "tests/test_context.py",
    "tests/test_authority.py",
    "tests/test_forks.py",
    "tests/test_sync_rules.py",
    "tests/test_call_rules.py",
    "tests/test_sync.py",
    "tests/test_password_throttle.py",
    "tests/test_credential_chains.py",
    "tests/test_records.py",
    "tests/test_scenarios.py",
    "--peerstate-scenarios", "scenarios",
)
PYTEST: Final = ("-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0", *TESTS)
"""A fixed Hypothesis seed, so that a survivor survives again when run again."""
MAX_JOBS: Final = 2

_SWAPPED: Final[dict[type[ast.cmpop], type[ast.cmpop]]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_SPELLING: Final[dict[type[ast.AST], str]] = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.And: "and", ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    """One change to one target: where, what, and the whole mutated source."""

    path: str
    line: int
    change: str
    source: str

    @property
    def site(self) -> str:
        return f"{Path(self.path).name}:{self.line}"


def mutants(path: str) -> Iterator[Mutant]:
    """Every mutant of the target at ``path`` (relative to the checkout), in source order.

    Each is made by changing one node of a fresh copy of the syntax tree and writing the
    whole tree back (``ast.unparse``), so that no mutation depends on how a line is laid out.
    """
    tree = ast.parse((ROOT / path).read_text())
    lines = (ROOT / path).read_text().splitlines()
    for index, node in enumerate(ast.walk(tree)):
        for change, mutate in _changes(node):
            mutated = copy.deepcopy(tree)
            target = next(n for i, n in enumerate(ast.walk(mutated)) if i == index)
            replacement = mutate(target)
            _replace(mutated, target, replacement)
            source = ast.unparse(ast.fix_missing_locations(mutated))
            line = getattr(node, "lineno", 0)
            # an operator's mutant shows the expression it made, since a line may hold several
            shown = ast.unparse(replacement) if isinstance(replacement, (ast.Compare, ast.BoolOp)) else lines[line - 1].strip()
            yield Mutant(path, line, f"{change}: {shown}", source)


def _changes(node: ast.AST) -> Iterator[tuple[str, Callable[[Any], ast.AST]]]:
    """The mutations of one node, each as (what it does, how to make it from the node's
    copy in a copy of the tree, which has the node's type)."""
    if isinstance(node, (ast.If, ast.IfExp)):
        yield "condition negated", lambda n: _with(n, test=ast.UnaryOp(ast.Not(), n.test))
    elif isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            swapped = _SWAPPED[type(op)]
            yield (
                f"{_SPELLING[type(op)]} became {_SPELLING[swapped]}",
                functools.partial(_swap, position=position, swapped=swapped),
            )
    elif isinstance(node, ast.BoolOp):
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        yield f"{_SPELLING[type(node.op)]} became {_SPELLING[other]}", lambda n: _with(n, op=other())
    elif isinstance(node, ast.Raise):
        yield "raise became pass", lambda n: ast.Pass()
    elif isinstance(node, ast.Return) and node.value is not None and not _is_none(node.value):
        yield "return x became return None", lambda n: _with(n, value=ast.Constant(None))


def _swap(node: ast.Compare, position: int, swapped: type[ast.cmpop]) -> ast.AST:
    return _with(node, ops=[swapped() if index == position else op for index, op in enumerate(node.ops)])


def _with(node: ast.AST, **fields: object) -> ast.AST:
    """A copy of ``node`` with ``fields`` replaced, at the same place in the source."""
    changed = copy.copy(node)
    for name, value in fields.items():
        setattr(changed, name, value)
    return changed


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _replace(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    """Put ``new`` where ``old`` is in ``tree``."""
    for parent in ast.walk(tree):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(item is old for item in value):
                setattr(parent, name, [new if item is old else item for item in value])
                return
    raise AssertionError(f"{ast.dump(old)[:80]} is not in the tree")


# Running ------------------------------------------------------------------------------------


class Copy:
    """A copy of the checkout under the temporary directory, where one mutant at a time is
    written in place of its target and the tests run."""

    def __init__(self, parent: Path, number: int) -> None:
        self.root = parent / f"copy{number}"
        for relative in _checkout_files():
            source, target = ROOT / relative, self.root / relative
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        self._require_own_package()

    def _require_own_package(self) -> None:
        """The tests must import this copy's ``peerstate`` (the current directory comes
        first on ``sys.path``), not the checkout's that the virtualenv installs."""
        found = subprocess.run(
            [sys.executable, "-c", "import peerstate; print(peerstate.__file__)"],
            cwd=self.root, capture_output=True, text=True, check=True,
        ).stdout.strip()
        if not Path(found).is_relative_to(self.root):
            raise SystemExit(f"the tests in {self.root} would import {found}: not the copy's")

    def write(self, path: str, source: str) -> None:
        """``source`` in place of ``path``, with no compiled file left that Python might
        take for it (a mutant can have the size and the second of the file before it)."""
        target = self.root / path
        target.write_text(source)
        for compiled in (target.parent / "__pycache__").glob(f"{target.stem}.*.pyc"):
            compiled.unlink()

    def run(self, timeout: float) -> tuple[bool, float, str]:
        """Whether the tests pass here, how long they took, and the line that says why not."""
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, *PYTEST], cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return False, time.monotonic() - started, f"timed out after {timeout:.0f} s"
        failed = next((line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))), output.strip()[-200:])
        return process.returncode == 0, time.monotonic() - started, "" if process.returncode == 0 else failed


def _checkout_files() -> list[str]:
    """The checkout's files as git sees them, tracked or new, ignored ones left out."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout
    return [name for name in listed.split("\0") if name]


def survivors(selected: list[Mutant], jobs: int) -> list[Mutant]:
    """The mutants of ``selected`` that the tests do not kill, each run on one of ``jobs``
    copies, its outcome printed as it comes."""
    with tempfile.TemporaryDirectory(prefix="peerstate-mutation-") as parent:
        copies: Queue[Copy] = Queue()
        for number in range(jobs):
            copies.put(Copy(Path(parent), number))
        originals = {path: ast.unparse(ast.parse((ROOT / path).read_text())) for path in TARGETS}
        timeout = _baseline(copies, originals)
        done = 0
        lock = threading.Lock()

        def survives(mutant: Mutant) -> bool:
            nonlocal done
            place = copies.get()
            try:
                place.write(mutant.path, mutant.source)
                passed, seconds, why = place.run(timeout)
                place.write(mutant.path, originals[mutant.path])
            finally:
                copies.put(place)
            with lock:
                done += 1
                verdict = "SURVIVED" if passed else f"killed by {why}"
                print(f"[{done}/{len(selected)}] {mutant.site} {mutant.change} ({seconds:.0f} s): {verdict}", flush=True)
            return passed

        with ThreadPoolExecutor(jobs) as pool:
            return [mutant for mutant, survived in zip(selected, pool.map(survives, selected)) if survived]


def _baseline(copies: Queue[Copy], originals: dict[str, str]) -> float:
    """Run the tests once in every copy on the targets as written back from their trees;
    they must pass. The timeout of a mutant: three times the slowest of those runs."""
    slowest = 0.0
    places = [copies.get() for _ in range(copies.qsize())]
    for place in places:
        for path, source in originals.items():
            place.write(path, source)
    with ThreadPoolExecutor(len(places)) as pool:
        runs = list(pool.map(lambda place: place.run(timeout=3600), places))
    for place, (passed, seconds, why) in zip(places, runs):
        if not passed:
            raise SystemExit(f"the tests fail on the unmutated rules in {place.root}: {why}")
        slowest = max(slowest, seconds)
        copies.put(place)
    print(f"the tests pass unmutated in {slowest:.0f} s; a mutant times out after {3 * slowest:.0f} s", flush=True)
    return 3 * slowest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=MAX_JOBS, choices=range(1, MAX_JOBS + 1), help="copies run at once (at most 2)")
    parser.add_argument("--only", action="append", default=[], metavar="FILE[:LINE]", help="only the mutants at this site (may be repeated)")
    parser.add_argument("--list", action="store_true", help="print the mutants and run nothing")
    parser.add_argument("--require", type=float, default=95.0, metavar="PERCENT", help="the least score that exits 0")
    options = parser.parse_args(argv)
    selected = [
        mutant for path in TARGETS for mutant in sorted(mutants(path), key=lambda mutant: mutant.line)
        if not options.only or any(mutant.site == site or mutant.site.startswith(f"{site}:") for site in options.only)
    ]
    if options.list:
        for mutant in selected:
            print(mutant.site, mutant.change)
        print(f"{len(selected)} mutants")
        return 0
    started = time.monotonic()
    survived = survivors(selected, options.jobs)
    killed = len(selected) - len(survived)
    score = 100 * killed / len(selected) if selected else 100.0
    print(f"\n{killed} of {len(selected)} mutants killed ({score:.1f} %) in {(time.monotonic() - started) / 60:.1f} min")
    for mutant in survived:
        print(f"  survived {mutant.site} {mutant.change}")
    return 0 if score >= options.require else 1


if __name__ == "__main__":
    sys.exit(main())
