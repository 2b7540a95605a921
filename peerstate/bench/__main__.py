"""``python -m peerstate.bench``: run every case at growing sizes and print the table.

``--sizes`` sets the group sizes (default 1,000, 10,000 and 100,000 envelopes),
``--snapshot-sizes`` the lengths of the log opened from snapshots (10,000, 100,000 and
1,000,000 events), ``--members`` the size of the memory case; ``--quick`` runs small sizes
only, to see that the suite runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from peerstate.bench import cases
from peerstate.bench.corpus import GroupCorpus

SIZES = (1_000, 10_000, 100_000)
SNAPSHOT_SIZES = (10_000, 100_000, 1_000_000)
SNAPSHOT_RECORDS = 100
"""Records in the group whose long log the snapshot case opens."""
MEMBERS = 100_000


def table(rows: Sequence[cases.Row]) -> str:
    """The rows as a Markdown table, so that it can be pasted as it is."""
    header = ("case", "size", "peerstate", "baseline", "ratio", "target", "holds")
    lines = [
        (row.case, row.size, row.peerstate, row.baseline, "-" if row.ratio is None else f"{row.ratio:.2f}x",
         row.target, {True: "yes", False: "NO", None: "-"}[row.holds])
        for row in rows
    ]
    widths = [max(len(str(line[column])) for line in [header, *lines]) for column in range(len(header))]
    def render(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + " |"
    return "\n".join([render(header), render(["-" * width for width in widths]), *map(render, lines)])


def run(sizes: Sequence[int], snapshot_sizes: Sequence[int], members: int, report: Callable[[str], None] = print) -> list[cases.Row]:
    rows: list[cases.Row] = []
    with tempfile.TemporaryDirectory(prefix="peerstate-bench-") as scratch:
        work = Path(scratch)
        corpus = GroupCorpus(work / "group")
        for size in sizes:
            started = time.perf_counter()
            corpus.grow_to(size)
            report(f"built {size:,} envelopes in {time.perf_counter() - started:.1f} s")
            for case in (cases.open_replica, cases.local_write, cases.sealed_write, cases.sync_ingest):
                made = case(corpus, work)
                rows.extend(made)
                for line in table(made).splitlines()[2:]:
                    report(line)
        history = GroupCorpus(work / "history")
        history.grow_to(SNAPSHOT_RECORDS)
        for size in snapshot_sizes:
            started = time.perf_counter()
            history.churn_to(size)
            report(f"built a log of {size:,} events in {time.perf_counter() - started:.1f} s")
            rows.extend((cases.open_from_snapshot(history, work), cases.sealed_open_from_snapshot(history, work)))
            for line in table(rows[-2:]).splitlines()[2:]:
                report(line)
        rows.append(cases.chain_scenario())
        rows.append(cases.group_memory(members))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m peerstate.bench", description=__doc__)
    parser.add_argument("--sizes", type=lambda text: [int(size) for size in text.split(",")], default=list(SIZES))
    parser.add_argument("--snapshot-sizes", type=lambda text: [int(size) for size in text.split(",")], default=list(SNAPSHOT_SIZES))
    parser.add_argument("--members", type=int, default=MEMBERS)
    parser.add_argument("--quick", action="store_true", help="small sizes, to see that the suite runs")
    options = parser.parse_args(argv)
    sizes, snapshot_sizes, members = (
        ([200, 1000], [2000, 5000], 1000) if options.quick else (options.sizes, options.snapshot_sizes, options.members)
    )
    started = time.perf_counter()
    rows = run(sizes, snapshot_sizes, members, report=lambda line: print(line, file=sys.stderr, flush=True))
    print(table(rows))
    print(f"\n{sum(row.holds is True for row in rows)} of {sum(row.holds is not None for row in rows)} targets hold; "
          f"{time.perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
