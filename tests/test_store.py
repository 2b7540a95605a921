"""The transcoder keeps every type the events carry, and a log replays to the state it had."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from peerstate.domain.events import IdentityCreated, IdentityDeleted
from peerstate.store import IdentityLog, open_store

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
