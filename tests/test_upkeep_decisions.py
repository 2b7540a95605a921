"""The two decisions a member makes on its own, on plain values: when it publishes its
presence again (``domain.presence``) and how its peer time moves on hearing another
member's (``domain.peer_time``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs

from peerstate.bounds import MAX_PEER_TIME_ADOPTED_SECONDS, MAX_PEER_TIME_OFFSET_SECONDS, MAX_PEER_TIME_STEP_SECONDS
from peerstate.constants import PeerGroupPropertyFlags
from peerstate.domain.group_events import Credential, Envelope, GroupCreated, GroupProperties, PresencePublished
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.domain.peer_time import PEER_TIME_TOLERANCE, adjusted_offset, held_offset
from peerstate.domain.presence import presence_due
from peerstate.names import ROLE_ADMIN

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
GROUP = "g" * 40 + ".club"
ALICE = Credential(b"alice", b"der", "a.alice", "Alice", b"key", (ROLE_ADMIN,), T0, T0 + timedelta(days=10), None, 1)
PROPERTIES = GroupProperties(GROUP, "a.alice", "Global_", "club", "Club", "", 0, 0, 600, 1, None, None)
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)


def _group(properties: GroupProperties = PROPERTIES, presence: PresencePublished | None = None) -> GroupState:
    def envelope(seq: int, payload: object) -> Envelope:
        return Envelope(GROUP, "a.alice", b"alice", seq, b"", T0, payload, b"")  # type: ignore[arg-type]

    state = apply_envelope(GroupState(GROUP), envelope(1, GroupCreated(properties, b"root", b"rk", ALICE)), b"1")
    return state if presence is None else apply_envelope(state, envelope(2, presence), b"2")


def test_presence_is_due_when_none_is_shown_or_it_names_another_address() -> None:
    assert presence_due(_group(), "a.alice", "alice", T0)
    assert presence_due(_group(presence=PresencePublished("elsewhere", T0 + 600 * SECOND)), "a.alice", "alice", T0)
    assert not presence_due(_group(presence=PresencePublished("alice", T0 + 600 * SECOND)), "a.alice", "alice", T0)


def test_presence_is_due_again_once_half_its_lifetime_is_gone() -> None:
    shown = _group(presence=PresencePublished("alice", T0 + 600 * SECOND))
    assert not presence_due(shown, "a.alice", "alice", T0 + 300 * SECOND)
    assert presence_due(shown, "a.alice", "alice", T0 + 301 * SECOND)


def test_a_presence_that_lasts_until_the_credential_ends_is_not_due_again() -> None:
    """Capped at its credential's end, a presence is not published again once half its
    lifetime is gone: it could last no longer, and each sync would write one more."""
    ends = ALICE.not_after
    shown = _group(presence=PresencePublished("alice", ends))
    assert not presence_due(shown, "a.alice", "alice", ends - 100 * SECOND)
    assert presence_due(_group(presence=PresencePublished("alice", ends - 200 * SECOND)), "a.alice", "alice", ends - 100 * SECOND)


def test_presence_is_never_due_without_a_credential_or_where_the_group_disables_it() -> None:
    assert not presence_due(GroupState(GROUP), "a.alice", "alice", T0)
    assert not presence_due(_group(), "b.bob", "alice", T0)
    assert not presence_due(_group(), "a.alice", "alice", T0 + timedelta(days=11))
    disabled = attrs.evolve(PROPERTIES, flags=int(PeerGroupPropertyFlags.PEER_DISABLE_PRESENCE))
    assert not presence_due(_group(disabled), "a.alice", "alice", T0)


def test_a_replica_not_yet_synchronized_adopts_the_remote_time_at_the_middle_of_the_round_trip() -> None:
    # asked at T0, answered two seconds later: the remote's 50 s stands for T0 + 1 s
    assert adjusted_offset(timedelta(0), False, T0 + 50 * SECOND, T0, T0 + 2 * SECOND) == 49_000_000


def test_a_synchronized_replica_moves_a_quarter_of_the_way() -> None:
    assert adjusted_offset(timedelta(0), True, T0 + 40 * SECOND, T0, T0) == 10_000_000
    assert adjusted_offset(8 * SECOND, True, T0 - 40 * SECOND, T0, T0) == -4_000_000


def test_a_change_under_the_tolerance_is_not_recorded() -> None:
    current = 10 * SECOND
    assert adjusted_offset(current, True, T0 + current, T0, T0) is None
    assert adjusted_offset(current, False, T0 + current + PEER_TIME_TOLERANCE / 2, T0, T0) is None
    assert adjusted_offset(current, False, T0 + current + PEER_TIME_TOLERANCE, T0, T0) == 10_001_000


def test_a_peer_time_further_than_the_offset_bound_is_not_taken() -> None:
    """A hostile member's peer time in the year 9999 would pull the replica's, a step at a
    time, until adding a lifetime to it overflows: past ``MAX_PEER_TIME_OFFSET_SECONDS`` it
    is not taken, whether the replica is synchronized or not."""
    limit = timedelta(seconds=MAX_PEER_TIME_OFFSET_SECONDS)
    for synchronized in (False, True):
        assert adjusted_offset(timedelta(0), synchronized, T0 + limit, T0, T0) is not None
        for remote in (T0 + limit + SECOND, T0 - limit - SECOND, datetime(9999, 12, 31, tzinfo=timezone.utc)):
            assert adjusted_offset(timedelta(0), synchronized, remote, T0, T0) is None


def test_a_joiner_adopts_a_peer_time_only_up_to_the_adoption_bound() -> None:
    adopted = timedelta(seconds=MAX_PEER_TIME_ADOPTED_SECONDS)
    assert adjusted_offset(timedelta(0), False, T0 + adopted, T0, T0) == adopted // MICROSECOND
    assert adjusted_offset(timedelta(0), False, T0 + adopted + SECOND, T0, T0) == adopted // MICROSECOND
    assert adjusted_offset(timedelta(0), False, T0 - 5 * adopted, T0, T0) == -adopted // MICROSECOND


def test_a_synchronized_replica_steps_at_most_the_step_bound_towards_a_far_peer_time() -> None:
    step = timedelta(seconds=MAX_PEER_TIME_STEP_SECONDS)
    assert adjusted_offset(timedelta(0), True, T0 + 4 * step, T0, T0) == step // MICROSECOND  # a quarter is the step
    assert adjusted_offset(timedelta(0), True, T0 + 40 * step, T0, T0) == step // MICROSECOND
    assert adjusted_offset(-3 * step, True, T0 - 40 * step, T0, T0) == -4 * step // MICROSECOND


def test_an_offset_held_past_the_bound_is_cut_to_it_and_moves_from_there() -> None:
    """An offset stored by an earlier version, 1,993 years: it is held at the bound, and a
    sync at the bound's own time records nothing more."""
    limit = timedelta(seconds=MAX_PEER_TIME_OFFSET_SECONDS)
    huge = timedelta(days=1993 * 365)
    assert held_offset(huge // MICROSECOND) == limit
    assert held_offset(-huge // MICROSECOND) == -limit
    assert held_offset(10**30) == limit
    assert adjusted_offset(huge, True, T0 + limit, T0, T0) is None
    step = timedelta(seconds=MAX_PEER_TIME_STEP_SECONDS)
    assert adjusted_offset(huge, True, T0, T0, T0) == (limit - step) // MICROSECOND
