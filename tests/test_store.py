"""The transcoder keeps every type the events carry, and a log replays to the state it had."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from peerstate.domain.events import IdentityCreated, IdentityDeleted
from peerstate.store import SNAPSHOT_EVERY, IdentityLog, open_store, snapshot_due  # the rule itself: conftest replaces it in the store

times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(timezone.utc)
)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.binary() | times,
    lambda inner: st.lists(inner) | st.tuples(inner, inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@given(values)
def test_the_transcoder_round_trips_every_value_type(value: object) -> None:
    transcoder = open_store(None)._app.mapper.transcoder
    assert transcoder.decode(transcoder.encode({"v": value})) == {"v": value}


@given(st.lists(st.tuples(st.text(max_size=8), st.binary(max_size=8), st.booleans()), max_size=6))
def test_a_log_replays_to_the_state_it_had(entries: list[tuple[str, bytes, bool]]) -> None:
    store = open_store(None)
    log = store.identity_log()
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for index, (name, key, delete) in enumerate(entries):
        log.record(IdentityCreated(f"0.{name}", name, name, key, key, False, "created", at + timedelta(seconds=index)))
        if delete:
            log.record(IdentityDeleted(f"0.{name}", at))
    store.save(log)
    replayed = store.identity_log()
    assert replayed.state == log.state
    assert isinstance(replayed, IdentityLog) and replayed.version == log.version


def _snapshots_taken(events: int, envelope_every: int, first_sync: int = 0) -> tuple[list[int], int]:
    """The versions at which ``snapshot_due`` snapshots a log of ``events`` events, one in
    ``envelope_every`` an envelope (the others the replica's own, which leave its state as
    it was), the first ``first_sync`` of them written by a joiner's first sync, and the most
    events an open of it would have replayed on the way."""
    log = SimpleNamespace(version=0, snapshot_version=0, known=set(), state=SimpleNamespace(phase="synchronized"))
    taken, longest = [], 0
    for version in range(1, events + 1):
        log.version = version
        log.state.phase = "joined" if version <= first_sync else "synchronized"
        if version % envelope_every == 0:
            log.known.add(version)
        longest = max(longest, version - log.snapshot_version)
        if snapshot_due(cast(Any, log)):
            taken.append(version)
            log.snapshot_version = version
    return taken, longest


def test_a_log_of_envelopes_only_is_snapshotted_each_time_it_doubles() -> None:
    taken, longest = _snapshots_taken(100_000, envelope_every=1)
    assert taken[0] == SNAPSHOT_EVERY and all(later >= 2 * earlier - 2 for earlier, later in zip(taken, taken[1:]))
    assert sum(taken) <= 2 * 100_000  # each snapshot holds a state of `version` envelopes: twice the log's length in all
    assert longest <= 50_000  # an open replays at most half as many events as the state holds


def test_a_long_log_with_a_small_state_is_snapshotted_at_the_least_interval() -> None:
    taken, longest = _snapshots_taken(100_000, envelope_every=1000)
    assert taken == list(range(SNAPSHOT_EVERY, 100_001, SNAPSHOT_EVERY)) and longest == SNAPSHOT_EVERY


def test_a_joiner_is_snapshotted_once_its_first_sync_is_done_not_as_it_goes() -> None:
    taken, _ = _snapshots_taken(100_000, envelope_every=1, first_sync=30_000)
    assert taken[0] == 30_001 and all(later >= 2 * earlier - 2 for earlier, later in zip(taken, taken[1:]))
