"""The fork verdict: what a replica holds once it knows an author forked its own chain.

An author that signs two envelopes at one place in its chain (``ForkDetected``) has, on
every replica, nothing of its chain from that place on take effect: the lowest place it is
seen to fork at, whichever branch, and whichever order the replica met them in. A replica
that had taken one branch folds its group state again from its accepted envelopes, as a
replica that saw the fork first would have taken them: the author's envelopes from the fork
point on left out (``rules.author_has_not_forked``), and every other envelope judged again
by the rules whose verdict those could change: its author's chain (an envelope after one
left out no longer follows its chain) and its credential (one the forker issued past the
fork point is no longer there). What those rules refuse here has no effect, as on a replica
that never took it, where it waits or is refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from peerstate.domain.group_events import Envelope, ForkDetected
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.domain.replica import ReplicaState
from peerstate.domain.rules import author_chain_continues, author_has_not_forked, author_holds_credential
from peerstate.domain.values import evolved
from peerstate.errors import PeerError


def after_fork(state: ReplicaState, fork: ForkDetected, accepted: Iterable[tuple[Envelope, bytes]]) -> ReplicaState:
    """The replica once ``fork`` is known, given every envelope it accepted (each with its
    id) in their order: its group state as a replica that saw the fork first holds it."""
    return evolved(state, group=group_after_fork(state.group, fork.first.author, fork.first.seq, accepted))


def group_after_fork(group: GroupState, author: str, seq: int, accepted: Iterable[tuple[Envelope, bytes]]) -> GroupState:
    """``group`` folded again from ``accepted`` with ``author`` forked at ``seq`` (or where
    it was seen to fork before, if lower)."""
    point = min(seq, group.forked.get(author, seq))
    folded = GroupState(group.group_peer_name, forked=group.forked.set(author, point))
    for envelope, envelope_id in accepted:
        try:
            author_has_not_forked(folded, envelope)
            author_holds_credential(folded, envelope)
            author_chain_continues(folded, envelope)
        except PeerError:
            continue
        folded = apply_envelope(folded, envelope, envelope_id)
    return folded
