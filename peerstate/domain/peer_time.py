"""How a replica's peer time moves when it hears another member's: the offset arithmetic,
apart from the clock that reads it, and the bounds that keep one member from setting it;
and the rule a conversion between peer time and UTC keeps to stay within the times.

Three bounds (``peerstate.bounds``). A synchronized replica moves at most
``MAX_PEER_TIME_STEP_SECONDS`` per sync; a joiner adopts at most
``MAX_PEER_TIME_ADOPTED_SECONDS`` off its own clock; no offset is ever held past
``MAX_PEER_TIME_OFFSET_SECONDS``, and a peer time further off than that is not taken.
Within the last, a step or an adoption past its bound is cut to the bound rather than
ignored: a hostile member gains nothing by it (it can always send a time just inside any
bound that ignores), and honest clocks further apart than a step still converge, a step
per sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from peerstate.bounds import MAX_PEER_TIME_ADOPTED_SECONDS, MAX_PEER_TIME_OFFSET_SECONDS, MAX_PEER_TIME_STEP_SECONDS
from peerstate.registry import Refusal, rule

PEER_TIME_TOLERANCE: Final = timedelta(milliseconds=1)
"""Peer time offsets closer than this to the one held are not recorded."""

_MICROSECOND: Final = timedelta(microseconds=1)
_MAX_OFFSET: Final = timedelta(seconds=MAX_PEER_TIME_OFFSET_SECONDS)
_MAX_STEP: Final = timedelta(seconds=MAX_PEER_TIME_STEP_SECONDS)
_MAX_ADOPTED: Final = timedelta(seconds=MAX_PEER_TIME_ADOPTED_SECONDS)


def held_offset(microseconds: int) -> timedelta:
    """The peer time offset a replica holds for one of ``microseconds`` it folds or reads
    from a snapshot: cut to ``MAX_PEER_TIME_OFFSET_SECONDS``. Earlier versions stored what
    a member sent, up to the whole range of times (a hostile member's 1,993 years, or one
    past the year 9999 once added to the clock): such a store keeps opening, its peer time
    at the bound, and every call on it works."""
    bound = _MAX_OFFSET // _MICROSECOND
    return timedelta(microseconds=max(-bound, min(bound, microseconds)))


def adjusted_offset(
    current: timedelta, synchronized: bool, remote_peer_time: datetime, asked_at: datetime, answered_at: datetime,
) -> int | None:
    """The peer time offset to record, in microseconds, once a member's peer time
    ``remote_peer_time`` arrived at ``answered_at`` in answer to a question sent at
    ``asked_at`` (both this machine's clock); None when it differs from the offset held
    (``current``, cut to its bound) by less than ``PEER_TIME_TOLERANCE``, so a sync
    between agreeing clocks records nothing.

    The remote's time stands for the middle of the round trip, as NTP reckons, or each sync
    would count the answer's travel as the remote being slow. A peer time further than
    ``MAX_PEER_TIME_OFFSET_SECONDS`` from this machine's clock is not taken at all (None):
    no honest clock is that wrong. A replica not yet ``synchronized`` adopts the remote's,
    within ``MAX_PEER_TIME_ADOPTED_SECONDS`` of its own clock; a synchronized one moves a
    quarter of the way towards it, so one skewed member cannot drag the group's clock far,
    and at most ``MAX_PEER_TIME_STEP_SECONDS``, so a hostile one cannot either. A clock may
    step slightly back, as MS-PPGRH 1.3.6 says."""
    observed = remote_peer_time - (asked_at + (answered_at - asked_at) / 2)
    if abs(observed) > _MAX_OFFSET:
        return None
    held = held_offset(current // _MICROSECOND)
    offset = held + _cut((observed - held) / 4, _MAX_STEP) if synchronized else _cut(observed, _MAX_ADOPTED)
    if abs(offset - held) < PEER_TIME_TOLERANCE:
        return None
    return offset // _MICROSECOND


def _cut(value: timedelta, bound: timedelta) -> timedelta:
    """``value``, or the nearer of ``bound`` and ``-bound`` when it lies past them."""
    return max(-bound, min(bound, value))


@rule("E_INVALIDARG")
def converted_time_is_representable(moment: datetime, offset: timedelta, parameter: str) -> datetime:
    """A time converted between peer time and UTC, ``moment`` moved by the replica's peer
    time ``offset``, falls within the years 1 to 9999 in UTC, the times a ``datetime``
    holds (``E_INVALIDARG``). Windows' FILETIME reaches the year 30828; an answer cut to
    the last time a ``datetime`` holds would not convert back to the time given."""
    try:
        converted = moment + offset
        converted.astimezone(UTC)
    except OverflowError:
        raise Refusal(
            f"{parameter} {moment.isoformat()} moved by the group's peer time offset ({offset}) falls outside the years 1 to 9999",
        ) from None
    return converted
