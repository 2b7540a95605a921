"""Group data in batches, both ways: what one side still owes the other, and what it does
with a batch received. Shared by both sides, which send and receive batches alike once the
connector has proven its key."""

from __future__ import annotations

from peerstate import wire
from peerstate.bounds import MAX_BATCH_BYTES, MAX_BATCH_ENVELOPES
from peerstate.domain.group_events import Envelope
from peerstate.sync.messages import Batch, Head, batch_is_within_bounds
from peerstate.sync.port import Neighbor, ReplicaKey, SyncPort

BATCH_BYTES = MAX_BATCH_BYTES
"""What one batch carries, unless its first envelope alone is larger (a test sends smaller
batches by setting it)."""


def heads(peer: SyncPort, key: ReplicaKey) -> tuple[Head, ...]:
    """How far each author's chain stands in the replica."""
    return tuple(Head(author, head.seq) for author, head in sorted(peer.sync_replica(key).state.group.heads.items()))


class Outgoing:
    """What this side still has to send the other, whose chains stood at ``theirs`` when the
    conversation began: each batch goes on from the envelopes the last one sent, so an
    envelope the other side refused is not sent again, and the conversation ends."""

    def __init__(self, peer: SyncPort, key: ReplicaKey, theirs: tuple[Head, ...]) -> None:
        self._peer = peer
        self._key = key
        self._theirs = {head.author: head.seq for head in theirs}
        self._compared = False
        """Whether this side's envelopes at the other's heads went, in the first batch."""

    def next_batch(self, own_heads: tuple[Head, ...] = ()) -> Batch:
        """The next batch, as much as one carries, with ``own_heads`` (the listener's first).
        The first starts with this side's envelope at each of the other's heads, as many as
        half a batch holds: heads are sequence numbers only, so without them two replicas
        that took different branches of a fork would each find the other lacking nothing.
        The other side skips those it holds, and keeps one it does not as evidence of a fork
        (``ForkDetected``), which it serves from then on. They go alone only when the first
        envelope the other lacks is too large to go with them; else the conversation takes
        as many messages as it did without them."""
        compared: tuple[Envelope, ...] = ()
        if not self._compared:
            self._compared = True
            compared = self._peer.sync_at(self._key, self._theirs, BATCH_BYTES // 2)
        used = sum(len(wire.canonical(envelope)) for envelope in compared)
        envelopes, complete = self._peer.sync_missing(self._key, self._theirs, BATCH_BYTES - used)
        if compared and len(envelopes) == 1 and used + len(wire.canonical(envelopes[0])) > BATCH_BYTES:
            return Batch(compared, own_heads, False)
        room = MAX_BATCH_ENVELOPES - len(compared)
        if len(envelopes) > room:
            envelopes, complete = envelopes[:room], False
        for envelope in envelopes:
            self._theirs[envelope.author] = max(self._theirs.get(envelope.author, 0), envelope.seq)
        return Batch((*compared, *envelopes), own_heads, complete)


def take(peer: SyncPort, key: ReplicaKey, batch: Batch, sender: Neighbor) -> tuple[bytes, ...]:
    """Store a batch received from ``sender`` (each envelope judged by admission): the ids
    of its envelopes that wait for data the replica lacks. The refusal that cuts the sender
    off, when one did, is raised: the conversation ends."""
    batch_is_within_bounds(batch)
    received = peer.sync_receive(key, batch.envelopes, sender)
    if received.cut_off is not None:
        raise received.cut_off
    return received.waiting
