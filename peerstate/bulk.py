"""Work in bulk with only the youngest generation collected: a speed trick, kept here.

Reading a log or a sync batch, and folding, storing, snapshotting or sending one, makes a
great many small containers at once, none of them in a reference cycle. Left alone, the
collector's older generations would walk the whole heap, which grows with what is being
read: on a 10,000-event log that made JSON parsing three times slower, and a first sync of
10,000 envelopes spent a fifth of its time collecting. Stopping the collector altogether
only moves the cost: the first allocation after it resumes walks every object made
meanwhile at once, by then out of the CPU's caches (14 ms of a 190 ms open of the bench's
10k log). So the youngest generation is still collected inside, a few thousand objects at a
time while they are fresh, and only the older generations wait until the work is done
(9 ms). The thresholds are set for the work and put back after, when threads that set
them have all finished.

Where it is used: around each piece of bulk work, by its caller: ``wire.decode`` (every
message parsed), the store's reads of a log, its snapshots and its writes of a batch
(``storage/``), the sending of a sync message (``sync/``), a sync batch's ingest
(``calls/``), and the bench's cases that time these as they run (``bench/cases.py``).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

YOUNG_EVERY: Final = 2000
"""Allocations between collections of the youngest generation inside: of the bench's 10k
log's open, 700 (Python's own) and 5,000 collected for longer than 2,000 did."""
_NEVER: Final = 2**30
"""A threshold the older generations' counts do not reach inside."""

_lock = threading.Lock()
_readers = 0
_saved: tuple[int, int, int] | None = None
"""The thresholds to put back; None when the collector was off or not automatic."""


@contextmanager
def young_collections_only() -> Iterator[None]:
    """Collect only the youngest generation while the block runs, unless the collector
    was off (or its automatic collections were: a threshold of 0)."""
    global _readers, _saved
    with _lock:
        if _readers == 0:
            thresholds = gc.get_threshold()
            if gc.isenabled() and thresholds[0] > 0:
                _saved = thresholds
                gc.set_threshold(YOUNG_EVERY, _NEVER, _NEVER)
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
