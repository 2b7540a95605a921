"""Work in bulk without the cyclic garbage collector.

Reading a log or a sync batch, and folding, storing, snapshotting or sending one, makes a
great many small containers at once, none of them in a reference cycle. Each few hundred
allocations would start a collection, and the older generations' collections walk the
whole heap, which grows with what is being read: on a 10,000-event log that made JSON
parsing three times slower, and a first sync of 10,000 envelopes spent a fifth of its time
collecting. The collector is paused for the work and resumed after, when threads that
paused it have all finished.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_readers = 0
_paused = False


@contextmanager
def without_gc() -> Iterator[None]:
    """Pause cyclic garbage collection while the block runs, unless it was already off."""
    global _readers, _paused
    with _lock:
        if _readers == 0:
            _paused = gc.isenabled()
            gc.disable()
        _readers += 1
    try:
        yield
    finally:
        with _lock:
            _readers -= 1
            if _readers == 0 and _paused:
                gc.enable()
