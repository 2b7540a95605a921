"""``without_gc``: the collector is paused inside, resumed after, also when threads overlap,
and left off if it was off."""

from __future__ import annotations

import gc
import threading

from peerstate.bulk import without_gc


def test_the_collector_is_paused_inside_and_resumed_after_the_last_reader() -> None:
    assert gc.isenabled()
    inside, leave = threading.Event(), threading.Event()

    def reader() -> None:
        with without_gc():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=reader)
    thread.start()
    inside.wait(10)
    with without_gc():
        assert not gc.isenabled()
    assert not gc.isenabled(), "resumed while another reader was still inside"
    leave.set()
    thread.join()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with without_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
