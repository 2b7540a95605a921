"""The verdicts that undo what a replica had taken: a fork's, and a demotion's.

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

A demotion voids what its subject did concurrently and needed the role it took away
(``ActionsVoided``, ``domain.authority``): a replica that had taken such an envelope folds
its group state again the same way, the envelope in its author's chain but without effect,
and what depended on it (a credential it issued) judged again.
"""

from __future__ import annotations

from collections.abc import Sequence

from peerstate.domain.group_events import ActionsVoided, Envelope, ForkDetected
from peerstate.domain.group_state import GroupState, apply_envelope, with_voided
from peerstate.domain.replica import ReplicaState
from peerstate.domain.rules import author_chain_continues, author_has_not_forked, author_holds_credential
from peerstate.domain.values import evolved
from peerstate.errors import PeerError


def after_verdict(state: ReplicaState, verdict: ForkDetected | ActionsVoided, accepted: Sequence[tuple[Envelope, bytes]]) -> ReplicaState:
    """The replica once ``verdict`` is known (``evolve_replica`` has recorded it), given
    every envelope it accepted (each with its id) in their order: its group state as a
    replica that met the verdict first holds it."""
    return evolved(state, group=group_after(state.group, verdict, accepted))


def group_after(group: GroupState, verdict: ForkDetected | ActionsVoided, accepted: Sequence[tuple[Envelope, bytes]]) -> GroupState:
    """``group`` once ``verdict`` is known: folded again from ``accepted`` when it undoes
    any of them (a fork always may; envelopes voided only once they were taken)."""
    match verdict:
        case ForkDetected(first):
            return group_after_fork(group, first.author, first.seq, accepted)
        case ActionsVoided(credential, ids, _):
            group = with_voided(group, credential, ids)
            taken = {envelope_id for _, envelope_id in accepted}
            return folded_again(group, accepted) if not taken.isdisjoint(ids) else group


def group_after_fork(group: GroupState, author: str, seq: int, accepted: Sequence[tuple[Envelope, bytes]]) -> GroupState:
    """``group`` folded again from ``accepted`` with ``author`` forked at ``seq`` (or where
    it was seen to fork before, if lower)."""
    point = min(seq, group.forked.get(author, seq))
    return folded_again(evolved(group, forked=group.forked.set(author, point)), accepted)


def folded_again(group: GroupState, accepted: Sequence[tuple[Envelope, bytes]]) -> GroupState:
    """The group state that ``accepted`` gives, folded again from the start with what
    ``group`` knows of forks and of envelopes without effect (``forked``, ``voided``): a
    fork's verdict, or a demotion's, may leave out what a replica had taken."""
    folded = GroupState(group.group_peer_name, forked=group.forked, voided=group.voided)
    for envelope, envelope_id in accepted:
        try:
            author_has_not_forked(folded, envelope)
            author_holds_credential(folded, envelope)
            author_chain_continues(folded, envelope)
        except PeerError:
            continue
        folded = apply_envelope(folded, envelope, envelope_id)
    return folded
