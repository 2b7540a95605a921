"""``young_collections_only``: inside, the collector collects its youngest generation and
no other; the thresholds are put back after the last thread leaves, and a collector that
was off, or not automatic, is left as it was."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from peerstate.bulk import YOUNG_EVERY, young_collections_only


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generations the collector collects while the test runs."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)


def _containers(count: int) -> list[list[int]]:
    """``count`` new containers that stay alive: what a log's read makes."""
    return [[index] for index in range(count)]


def test_inside_only_the_youngest_generation_is_collected(collections: list[int]) -> None:
    before = gc.get_threshold()
    with young_collections_only():
        kept = _containers(50 * YOUNG_EVERY)
        inside = list(collections)
    assert len(kept) == 50 * YOUNG_EVERY
    assert len(inside) >= 40 and set(inside) == {0}, inside
    assert gc.get_threshold() == before and gc.isenabled()
    collections.clear()
    _containers(2 * before[0] * (before[1] + 1))  # twice what a collection of generation 1 takes, whatever the counts were
    assert 1 in collections or 2 in collections, "the older generations are collected again after"


def test_the_thresholds_are_put_back_after_the_last_reader() -> None:
    before = gc.get_threshold()
    inside, leave = threading.Event(), threading.Event()

    def reader() -> None:
        with young_collections_only():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=reader)
    thread.start()
    inside.wait(10)
    with young_collections_only():
        assert gc.get_threshold()[0] == YOUNG_EVERY
    assert gc.get_threshold()[0] == YOUNG_EVERY, "put back while another reader was still inside"
    leave.set()
    thread.join()
    assert gc.get_threshold() == before and gc.isenabled()


def test_a_collector_that_was_off_stays_off(collections: list[int]) -> None:
    before = gc.get_threshold()
    gc.disable()
    try:
        with young_collections_only():
            _containers(10 * YOUNG_EVERY)
        assert not gc.isenabled() and gc.get_threshold() == before
        assert collections == []
    finally:
        gc.enable()


def test_a_collector_without_automatic_collections_is_left_so(collections: list[int]) -> None:
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with young_collections_only():
            _containers(10 * YOUNG_EVERY)
            assert gc.get_threshold()[0] == 0
        assert collections == []
    finally:
        gc.set_threshold(*before)
