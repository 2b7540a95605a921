"""A hundred megabytes of hostile sync messages, in a real process on a SQLite store, leave
the victim's store and memory within the bounds of ``peerstate.bounds``
(``tests/workers/volume_worker.py`` sends them and measures).

Before the bounds, about 95 MB of unauthenticated batches grew a victim's SQLite file to
570 MiB, and one 8.5 MiB batch took up to 1.29 GiB to judge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Final

from peerstate.bounds import MAX_FRAME_BYTES, MAX_KEPT_REFUSALS

ROOT: Final = Path(__file__).resolve().parent.parent
MEGABYTES: Final = 100
MEMORY_BOUND: Final = 64 * MAX_FRAME_BYTES
"""What judging any number of frames may add to the victim's peak resident size: a frame
decoded, its envelopes judged, and the encoder's cache of recent trees (``wire._Trees``),
whatever the total sent."""


def _attacked(directory: Path, attacker: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.workers.volume_worker", str(directory), attacker, str(MEGABYTES)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    measured: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    print(attacker, measured)
    assert measured["sent"] >= MEGABYTES * 1000 * 1000
    return measured


def test_a_hundred_megabytes_from_outsiders_make_the_victim_write_nothing(tmp_path: Path) -> None:
    measured = _attacked(tmp_path / "alice", "outsider")
    before, after = measured["writes"]
    assert after == before and measured["store_growth"] == 0
    assert measured["rss_growth"] <= MEMORY_BOUND


def test_a_hundred_megabytes_from_a_member_keep_a_few_refusals_and_counts(tmp_path: Path) -> None:
    """bob's refusals past the first ``MAX_KEPT_REFUSALS`` are only counted: one small row
    per batch, so the store grows by the kept envelopes (a frame each at most) and a
    hundredth of what was sent at most."""
    measured = _attacked(tmp_path / "alice", "member")
    assert measured["store_growth"] <= MAX_KEPT_REFUSALS * MAX_FRAME_BYTES + measured["sent"] // 100
    assert measured["rss_growth"] <= MEMORY_BOUND
