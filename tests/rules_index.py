"""Write ``docs/rules.md``, the index of every registered rule, from the registry.

Run as ``.venv/bin/python tests/rules_index.py``: it runs the test suite once with
``PEERSTATE_RULES_REACHED`` set (about five minutes), so that each rule's row says which
tests and scenario files make it refuse, then writes the page. ``--reached FILE`` writes it
from an earlier run's record instead. ``tests/test_docs.py`` holds the page's rules, codes
and files to the registry, so a rule added without regenerating the page fails the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import peerstate
import peerstate.network  # noqa: F401  # every module that registers rules, imported
import peerstate.winapi  # noqa: F401
from peerstate.errors import HRESULTS
from peerstate.registry import RULES, Rule

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "rules.md"
SHOWN = 3
"""How many of the tests and scenarios that reach a rule its row names; the rest are counted."""

INTRODUCTION = """\
# The rules

Every check that can refuse a call or an envelope is a rule registered once, under a stable
name (`peerstate.registry`): the name a refused envelope keeps in the log, and the name
`peerstate log` prints. This page lists them by the HRESULT they refuse with, where each
lives, what it checks, and which tests and scenario files make it refuse. A rule that no
test reaches says so.

It is written by `python tests/rules_index.py`, which runs the test suite to see which
rule each test reaches; a test holds its rules, codes and files to the registry.
"""


def _file(rule: Rule) -> str:
    module = sys.modules[rule.module]
    assert module.__file__ is not None
    return Path(module.__file__).resolve().relative_to(ROOT).as_posix()


def _reached_by(tests: Sequence[str]) -> str:
    if not tests:
        return "**no test reaches it**"
    scenarios = [test for test in tests if test.startswith("scenarios/")]
    units = [test for test in tests if not test.startswith("scenarios/")]
    parts = []
    for kind, found in (("scenario", scenarios), ("test", units)):
        if found:
            named = ", ".join(f"`{test}`" for test in found[:SHOWN])
            more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            parts.append(f"{len(found)} {kind}{'s' if len(found) > 1 else ''}: {named}{more}")
    return "; ".join(parts)


def page(reached: Mapping[str, Sequence[str]]) -> str:
    """The page for the registry as it is and the record of which tests reach which rule."""
    sections = [INTRODUCTION]
    for code in sorted({code for rule in RULES.values() for code in rule.codes}, key=lambda name: list(HRESULTS).index(name)):
        rows = ["| rule | file | what it checks | reached by |", "|---|---|---|---|"]
        for rule in sorted((rule for rule in RULES.values() if code in rule.codes), key=lambda rule: rule.name):
            summary = rule.summary.replace("|", "\\|")
            rows.append(f"| `{rule.name}` | `{_file(rule)}` | {summary} | {_reached_by(reached.get(rule.name, ()))} |")
        sections.append(f"## `{code}` ({HRESULTS[code].value:#010x})\n\n" + "\n".join(rows) + "\n")
    return "\n".join(sections)


def _record() -> dict[str, list[str]]:
    """Run the suite once, recording which tests make each rule refuse."""
    with tempfile.TemporaryDirectory() as scratch:
        record = Path(scratch) / "reached.json"
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=ROOT, check=False,
            env={**os.environ, "PEERSTATE_RULES_REACHED": str(record)},
        )
        reached: dict[str, list[str]] = json.loads(record.read_text())
        return reached


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reached", type=Path, help="an earlier run's record (PEERSTATE_RULES_REACHED)")
    arguments = parser.parse_args()
    reached = json.loads(arguments.reached.read_text()) if arguments.reached else _record()
    PAGE.write_text(page(reached), encoding="utf-8")
    print(f"{PAGE.relative_to(ROOT)}: {len(RULES)} rules, {sum(1 for name in RULES if not reached.get(name))} reached by no test")


if __name__ == "__main__":
    main()
