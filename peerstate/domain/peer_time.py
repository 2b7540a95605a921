"""How a replica's peer time moves when it hears another member's: the offset arithmetic,
apart from the clock that reads it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from peerstate.bounds import MAX_PEER_TIME_OFFSET_SECONDS

PEER_TIME_TOLERANCE: Final = timedelta(milliseconds=1)
"""Peer time offsets closer than this to the one held are not recorded."""


def adjusted_offset(
    current: timedelta, synchronized: bool, remote_peer_time: datetime, asked_at: datetime, answered_at: datetime,
) -> int | None:
    """The peer time offset to record, in microseconds, once a member's peer time
    ``remote_peer_time`` arrived at ``answered_at`` in answer to a question sent at
    ``asked_at`` (both this machine's clock); None when it differs from ``current`` by less
    than ``PEER_TIME_TOLERANCE``, so a sync between agreeing clocks records nothing.

    The remote's time stands for the middle of the round trip, as NTP reckons, or each sync
    would count the answer's travel as the remote being slow. A replica not yet
    ``synchronized`` adopts it; a synchronized one moves a quarter of the way towards it, so
    one skewed member cannot drag the group's clock far, and a clock may step slightly
    back, as MS-PPGRH 1.3.6 says. A peer time further than ``MAX_PEER_TIME_OFFSET_SECONDS``
    from this machine's clock is not taken at all (None): no honest clock is that wrong."""
    observed = remote_peer_time - (asked_at + (answered_at - asked_at) / 2)
    if abs(observed) > timedelta(seconds=MAX_PEER_TIME_OFFSET_SECONDS):
        return None
    offset = (current * 3 + observed) / 4 if synchronized else observed
    microseconds = round(offset / timedelta(microseconds=1))
    if abs(timedelta(microseconds=microseconds) - current) < PEER_TIME_TOLERANCE:
        return None
    return microseconds
