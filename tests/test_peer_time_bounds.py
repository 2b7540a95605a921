"""Peer time that holds (issue 29, item 3): no one member sets another's peer time.

As reported against an earlier version: one listening member moved a victim's peer time by
1,993 years in one sync, and every record expired; pushed past the year 9999, ``records``,
``universal_to_peer_time``, ``synchronize`` and ``Connector.start`` raised
``OverflowError``, and the replica stayed broken, since the offset is stored; a new joiner
adopted a hostile peer time whole. Now a synchronized replica moves at most
``MAX_PEER_TIME_STEP_SECONDS`` per sync, a joiner adopts at most
``MAX_PEER_TIME_ADOPTED_SECONDS`` off its own clock, no offset is held past
``MAX_PEER_TIME_OFFSET_SECONDS`` (one stored before is cut to it), and a conversion that
would leave the years 1 to 9999 is ``E_INVALIDARG``.

The hostile listener is a member whose peer answers every question about its peer time
with the time it chooses (its sync port's ``sync_peer_time_now``), as a modified peer
would; everything else is the real sync path."""

from __future__ import annotations

import functools
import itertools
from unittest import mock
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from peerstate import Peer, PeerError, PeerSettings, network, open_store, views
from peerstate.audit import verify_store
from peerstate.bounds import MAX_PEER_TIME_ADOPTED_SECONDS, MAX_PEER_TIME_OFFSET_SECONDS, MAX_PEER_TIME_STEP_SECONDS
from peerstate.calls import sync_port as sync_port_module
from peerstate.domain import replica
from peerstate.domain.group_events import PeerTimeAdjusted
from peerstate.domain.peer_time import adjusted_offset, held_offset
from peerstate.names import ROLE_MEMBER
from peerstate.peer import sync_port
from peerstate.storage import peer_store
from peerstate.storage.logs import ReplicaLog
from peerstate.storage.peer_store import PeerStore
from peerstate.sync import Connector, Listener, exchange

from tests.conftest import T0

KIND = UUID("5f0c1f4e-0000-4000-8000-00000000c0de")
MICROSECOND = timedelta(microseconds=1)
STEP = timedelta(seconds=MAX_PEER_TIME_STEP_SECONDS)
ADOPTED = timedelta(seconds=MAX_PEER_TIME_ADOPTED_SECONDS)
LIMIT = timedelta(seconds=MAX_PEER_TIME_OFFSET_SECONDS)
YEAR = timedelta(days=365)

HOSTILE = {
    "300 days ahead": T0 + timedelta(days=300),
    "300 days behind": T0 - timedelta(days=300),
    "5 hours ahead": T0 + timedelta(hours=5),
    "1,993 years ahead": T0 + 1993 * YEAR,
    "the last time": datetime.max.replace(tzinfo=UTC),
    "the first time": datetime.min.replace(tzinfo=UTC),
}
"""Peer times a hostile listener answers with: within the year an earlier version took,
within today's offset bound, and past every bound, to either end of the times."""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@attrs.define
class Pair:
    """alice, the hostile listener (the group's creator), and bob, the victim."""

    clock: Clock
    alice: Peer
    bob: Peer
    bob_store: PeerStore
    alice_handle: str
    bob_handle: str
    bob_name: str
    group: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.bob_name, self.group)

    def machines(self) -> dict[str, Peer]:
        return {"alice": self.alice, "bob": self.bob}

    def offset(self) -> timedelta:
        return sync_port(self.bob).sync_replica(self.key).state.peer_time_offset

    def adjustments(self) -> list[PeerTimeAdjusted]:
        return [event for event in self.bob_store.replica_events(*self.key) if isinstance(event, PeerTimeAdjusted)]

    def lie(self, monkeypatch: pytest.MonkeyPatch, peer_time: datetime) -> None:
        """alice's peer answers with ``peer_time`` from now on."""
        monkeypatch.setattr(sync_port(self.alice), "sync_peer_time_now", lambda key: peer_time)

    def one_sync(self) -> None:
        """One conversation: bob connects to alice's listener, the real sync path."""
        alice_key = (self.alice.group_properties(self.alice_handle).creator_peer_name, self.group)
        alice, bob = sync_port(self.alice), sync_port(self.bob)
        exchange(Connector(bob, self.key, network.node(alice, alice_key)), Listener(alice, alice_key, network.node(bob, self.key)))


def _pair(bob_store: PeerStore | None = None, synchronized: bool = True, bob_clock_offset: timedelta = timedelta(0)) -> Pair:
    clock = Clock()
    alice = Peer(open_store(None), settings=PeerSettings(address="alice"), clock=clock)
    alice_name = alice.create_identity("alice")
    alice_handle = alice.create_group(alice_name, "club")
    alice.connect(alice_handle)
    store = bob_store if bob_store is not None else open_store(None)
    bob = Peer(store, settings=PeerSettings(address="bob", clock_offset=bob_clock_offset), clock=clock)
    bob_name = bob.create_identity("bob")
    invitation = alice.create_invitation(alice_handle, bob.identity_xml(bob_name), roles=[ROLE_MEMBER])
    bob_handle = bob.join(bob_name, invitation)
    bob.connect(bob_handle)
    pair = Pair(clock, alice, bob, store, alice_handle, bob_handle, bob_name, alice.group_properties(alice_handle).group_peer_name)
    if synchronized:
        network.synchronize(pair.machines())
        assert sync_port(bob).sync_replica(pair.key).state.synchronized and pair.offset() == -bob_clock_offset
    return pair


def _steps(offsets: list[timedelta]) -> list[timedelta]:
    return [later - earlier for earlier, later in itertools.pairwise(offsets)]


def _still_works(pair: Pair) -> None:
    """Every call the report found broken answers on bob's replica."""
    pair.bob.records(pair.bob_handle)
    assert pair.bob.universal_to_peer_time(pair.bob_handle, T0) == T0 + pair.offset()
    assert pair.bob.peer_time_to_universal(pair.bob_handle, T0) == T0 - pair.offset()
    network.synchronize(pair.machines())


# (a) One listening member and a synchronized victim --------------------------------------------


@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=list(HOSTILE))
def test_one_sync_with_a_hostile_listener_moves_a_synchronized_victim_at_most_a_step(
    hostile: datetime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = _pair()
    pair.lie(monkeypatch, hostile)
    pair.one_sync()
    moved = pair.offset()
    assert abs(moved) <= STEP, f"one sync moved bob's peer time by {moved}"
    if abs(hostile - T0) > LIMIT:
        assert moved == timedelta(0) and pair.adjustments() == [], "a peer time no honest clock has is not taken"
    else:
        assert moved == (STEP if hostile > T0 else -STEP)
    _still_works(pair)


@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=list(HOSTILE))
def test_repeated_syncs_with_a_hostile_listener_move_the_victim_a_step_each_at_most(
    hostile: datetime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = _pair()
    pair.lie(monkeypatch, hostile)
    for _ in range(5):
        pair.clock.now += timedelta(minutes=1)
        network.synchronize(pair.machines())
    offsets = [timedelta(0), *(held_offset(event.offset) for event in pair.adjustments())]
    assert all(abs(step) <= STEP for step in _steps(offsets)), _steps(offsets)
    assert abs(pair.offset()) <= STEP * len(pair.adjustments()) <= STEP * 5 * network.MAX_ROUNDS
    if abs(hostile - T0) > LIMIT:
        assert offsets == [timedelta(0)], "a peer time no honest clock has is not taken"
    else:
        assert len(pair.adjustments()) >= 5, "each sync took a step"
    _still_works(pair)


# (b) A new joiner ------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_joiner_adopts_a_hostile_peer_time_only_within_the_adoption_bound(
    hostile: datetime, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = _pair(synchronized=False)
    pair.lie(monkeypatch, hostile)
    network.synchronize(pair.machines())
    assert sync_port(pair.bob).sync_replica(pair.key).state.synchronized
    offsets = [timedelta(0), *(held_offset(event.offset) for event in pair.adjustments())]
    if abs(hostile - T0) > LIMIT:
        assert offsets == [timedelta(0)], "a peer time no honest clock has is not taken"
    else:
        assert offsets[1] == (ADOPTED if hostile > T0 else -ADOPTED), f"bob adopted a peer time {offsets[1]} off his clock"
        assert all(abs(step) <= STEP for step in _steps(offsets[1:])), "once synchronized, a step per sync at most"
    _still_works(pair)


def test_a_joiner_still_adopts_an_honest_peer_time_whole() -> None:
    """The bound leaves Windows' rule alone for clocks that agree to within minutes: bob's
    clock runs five minutes fast, and he takes alice's peer time exactly."""
    pair = _pair(bob_clock_offset=timedelta(minutes=5))
    assert pair.offset() == -timedelta(minutes=5)


# (c) A store an earlier version wrote, holding a huge offset -------------------------------------


def _stored(peer: Peer, key: tuple[str, str], offset: int) -> None:
    """Store ``offset`` as the replica's peer time offset through the sync port, as an
    earlier version did when a member sent it (its ``adjusted_offset`` took it whole)."""
    with mock.patch.object(sync_port_module, "adjusted_offset", lambda *_: offset):
        sync_port(peer).sync_peer_time(key, T0, "mallory", T0)


def _as_an_earlier_version_wrote(pair: Pair, offset: int) -> None:
    """Store ``offset`` as bob's peer time, as an earlier version did after a hostile sync:
    its fold held it whole, and so did the snapshots it wrote (three events, so that one
    is written, unless snapshots are off)."""
    with mock.patch.object(replica, "held_offset", lambda microseconds: timedelta(microseconds=microseconds)):
        for moved in range(3):
            _stored(pair.bob, pair.key, offset + moved)


OLD_OFFSETS = {
    "1,993 years ahead": 1993 * YEAR,
    "past the year 9999": datetime.max.replace(tzinfo=UTC) - T0 + timedelta(days=2),
    "before the year 1": datetime.min.replace(tzinfo=UTC) - T0 - timedelta(days=2),
}
"""Offsets earlier versions stored: 1,993 years as the report found, and two that carry
this machine's clock outside the times a ``datetime`` holds."""


@pytest.mark.parametrize("snapshots", [True, False], ids=["opened from a snapshot", "opened from its events"])
@pytest.mark.parametrize("old", list(OLD_OFFSETS.values()), ids=list(OLD_OFFSETS))
def test_a_store_holding_a_huge_offset_opens_and_every_call_works(
    old: timedelta, snapshots: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not snapshots:
        monkeypatch.setattr(peer_store, "snapshot_due", lambda log: False)
    pair = _pair(open_store(tmp_path / "bob"))
    record_id = pair.bob.add_record(pair.bob_handle, KIND, T0 + timedelta(days=30), data=b"a month")
    _as_an_earlier_version_wrote(pair, old // MICROSECOND)
    stored = pair.bob_store.stored_snapshots(ReplicaLog.create_id(*pair.key))
    assert bool(stored) is snapshots
    if snapshots:
        assert abs(stored[-1].state["state"].peer_time_offset - old) <= 2 * MICROSECOND, "the snapshot holds the offset whole"
    pair.bob_store.close()

    pair.bob_store = open_store(tmp_path / "bob")
    pair.bob = Peer(pair.bob_store, settings=PeerSettings(address="bob"), clock=pair.clock)
    pair.bob_handle = pair.bob.open_group(pair.bob_name, pair.group)
    bound = LIMIT if old > timedelta(0) else -LIMIT
    assert [held.record.id for held in pair.bob.records(pair.bob_handle)] == [record_id], "a record a month ahead is live"
    assert pair.bob.universal_to_peer_time(pair.bob_handle, T0) == T0 + bound
    assert pair.bob.peer_time_to_universal(pair.bob_handle, T0) == T0 - bound
    assert pair.offset() == bound
    assert verify_store(pair.bob_store).findings == (), "the log opened is the one its events give"
    pair.bob.connect(pair.bob_handle)
    network.synchronize(pair.machines())
    assert abs(pair.offset() - bound) <= STEP * len(pair.adjustments())
    assert abs(pair.offset()) <= LIMIT
    assert verify_store(pair.bob_store).findings == ()


# Conversions at either end of the times -----------------------------------------------------------


def _refused_unchanged(pair: Pair, call: Callable[[], object]) -> None:
    """``call`` is ``E_INVALIDARG`` under ``converted_time_is_representable`` and leaves
    bob's store and replica as they were."""
    head, digest, offset = pair.bob_store.head(), views.group_digest(sync_port(pair.bob).sync_replica(pair.key).state.group), pair.offset()
    with pytest.raises(PeerError) as caught:
        call()
    assert (caught.value.name, caught.value.rule) == ("E_INVALIDARG", "converted_time_is_representable")
    assert pair.bob_store.head() == head and pair.offset() == offset
    assert views.group_digest(sync_port(pair.bob).sync_replica(pair.key).state.group) == digest


@pytest.mark.parametrize("sign", [1, -1], ids=["ahead", "behind"])
def test_a_conversion_past_either_end_of_the_times_is_refused_and_changes_nothing(sign: int) -> None:
    pair = _pair()
    _stored(pair.bob, pair.key, sign * STEP // MICROSECOND)
    assert pair.offset() == sign * STEP
    last, first = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)
    late, early = (last, first) if sign > 0 else (first, last)
    _refused_unchanged(pair, lambda: pair.bob.universal_to_peer_time(pair.bob_handle, late))
    _refused_unchanged(pair, lambda: pair.bob.peer_time_to_universal(pair.bob_handle, early))
    assert pair.bob.universal_to_peer_time(pair.bob_handle, late - sign * STEP) == late
    assert pair.bob.peer_time_to_universal(pair.bob_handle, early + sign * STEP) == early


# (d) Properties ---------------------------------------------------------------------------------


@given(
    st.timedeltas(), st.booleans(), st.datetimes(timezones=st.just(UTC)),
    st.datetimes(max_value=datetime(9999, 12, 30), timezones=st.just(UTC)), st.timedeltas(timedelta(0), timedelta(hours=1)),
)
def test_any_peer_time_heard_moves_the_offset_within_its_bounds(
    current: timedelta, synchronized: bool, remote: datetime, asked: datetime, round_trip: timedelta,
) -> None:
    """Whatever the offset held (an earlier version's, of any size), whatever time another
    member sends and however long its answer took: the offset recorded is within the
    offset bound; a joiner's within the adoption bound; a synchronized replica's a step at
    most from the one held, towards the remote's, never away."""
    offset = adjusted_offset(current, synchronized, remote, asked, asked + round_trip)
    held = held_offset(current // MICROSECOND)
    if offset is None:
        return
    recorded = timedelta(microseconds=offset)
    observed = remote - (asked + round_trip / 2)
    assert abs(observed) <= LIMIT and abs(recorded) <= LIMIT
    if synchronized:
        assert abs(recorded - held) <= STEP
        assert abs(observed - recorded) <= abs(observed - held), "towards the remote's, never away"
    else:
        assert abs(recorded) <= ADOPTED


@functools.cache
def _creator() -> tuple[Peer, str, tuple[str, str]]:
    """A group's creator, whose replica is ready at once: what the conversions are asked of."""
    peer = Peer(open_store(None), clock=lambda: T0)
    name = peer.create_identity("alice")
    handle = peer.create_group(name, "club")
    return peer, handle, (name, peer.group_properties(handle).group_peer_name)


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12)), timezone(timedelta(hours=23, minutes=59))])
CONVERSIONS: Mapping[str, Callable[[Peer, str, datetime], datetime]] = {
    "universal_to_peer_time": lambda peer, handle, moment: peer.universal_to_peer_time(handle, moment),
    "peer_time_to_universal": lambda peer, handle, moment: peer.peer_time_to_universal(handle, moment),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-LIMIT // MICROSECOND, LIMIT // MICROSECOND)),
    st.datetimes(timezones=ZONES), st.sampled_from(sorted(CONVERSIONS)),
)
def test_a_conversion_gives_the_time_moved_by_the_offset_held_or_refuses(offset: int, moment: datetime, conversion: str) -> None:
    """Whatever offset the replica's log holds, a conversion of any time either gives that
    time moved by the offset held, a time of the years 1 to 9999 in UTC, or refuses with
    ``E_INVALIDARG``: never another exception."""
    peer, handle, key = _creator()
    _stored(peer, key, offset)
    held = sync_port(peer).sync_replica(key).state.peer_time_offset
    assert held == held_offset(offset) and abs(held) <= LIMIT
    try:
        converted = CONVERSIONS[conversion](peer, handle, moment)
    except PeerError as error:
        assert (error.name, error.rule) == ("E_INVALIDARG", "converted_time_is_representable")
        return
    assert converted == moment + (held if conversion == "universal_to_peer_time" else -held)
    converted.astimezone(UTC)
