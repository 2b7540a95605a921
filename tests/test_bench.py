"""The benchmark suite runs: every case gives its row at small sizes, and the table shows
them. Its figures are not checked here: a benchmark is not a timed test."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest
from cryptography.exceptions import InvalidSignature

from peerstate.calls import envelopes
from peerstate.bench import cases
from peerstate.bench.__main__ import main, run, table
from peerstate.bench.corpus import GroupCorpus


def test_every_case_gives_a_row_at_small_sizes() -> None:
    lines: list[str] = []
    rows = run([60, 120], [600], 200, report=lines.append)
    assert [row.case for row in rows] == [
        *[
            "open a replica (no snapshot)", "  of which reading and decoding", "one local write (add a record)",
            "  the same write, sealed", "sync ingest, full verification", "  least an ingest does",
        ] * 2,
        "open a replica from its snapshot", "  the same open, sealed", "replay the 24-link chain scenario", "memory of a group",
    ]
    assert all(row.holds is not False for row in rows if row.target == "report")  # the chain scenario passed
    assert rows[-1].size == "200 members"
    rendered = table(rows).splitlines()
    assert len(rendered) == len(rows) + 2 and all(line.startswith("| ") for line in rendered)
    assert any(line.startswith("built 120 envelopes") for line in lines)


def test_the_command_prints_the_table_and_how_many_targets_hold(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sizes", "50", "--snapshot-sizes", "600", "--members", "50"]) == 0
    out = capsys.readouterr().out
    assert "| case " in out and "targets hold" in out


def test_the_least_ingest_verifies_every_signature(tmp_path: Path) -> None:
    """The least-ingest row is a bound only if it does the verifications it says it does."""
    corpus = GroupCorpus(tmp_path / "group")
    corpus.grow_to(3)
    accepted = envelopes.accepted(corpus.peer._runtime, (corpus.identity, corpus.group))
    group = corpus.log().state.group
    assert cases.least_ingest_seconds(accepted, group) > 0
    forged = [*accepted[:-1], attrs.evolve(accepted[-1], signature=bytes(len(accepted[-1].signature)))]
    with pytest.raises(InvalidSignature):
        cases.least_ingest_seconds(forged, group)


def test_a_ratio_s_two_sides_are_measured_in_turns() -> None:
    """A slow moment of the machine must fall on both sides of a ratio: each round takes
    every measure once, and each measure's figures come back in its own list."""
    calls: list[str] = []

    def measure(name: str, figure: float) -> Callable[[], float]:
        def taken() -> float:
            calls.append(name)
            return figure
        return taken

    assert cases._in_turns(3, measure("ours", 2.0), measure("bare", 1.0)) == [[2.0] * 3, [1.0] * 3]
    assert calls == ["ours", "bare"] * 3


def test_quick_rounds_go_on_within_the_budget_and_slow_ones_stop_at_the_least() -> None:
    def figure() -> float:
        return 1.0

    assert cases._in_turns(3, figure, figure, budget=60.0) == [[1.0] * cases.MAX_ROUNDS] * 2
    assert cases._in_turns(3, figure, budget=0.0) == [[1.0] * 3]

    def slow() -> float:
        time.sleep(0.02)
        return 1.0

    assert len(cases._in_turns(2, slow, budget=0.01)[0]) == 2
