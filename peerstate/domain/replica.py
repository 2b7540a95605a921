"""A replica's own state: whose it is, whether it is synchronized, what it refused.

The phases are explicit, so every "not ready" comes from a state a reader can name:
``joined`` (an invitation was accepted locally, nothing synchronized yet), ``synchronized``
(the group database is here: the creator from the start, a joiner after its first sync),
``deleted`` (``PeerGroupDelete``; a new join starts the replica over).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, TypeAlias

import attrs

from peerstate.domain.group_events import (
    EnvelopeAccepted,
    EnvelopeRefused,
    JoinRefused,
    PasswordTicket,
    PeerTimeAdjusted,
    ReplicaClosed,
    ReplicaConnected,
    ReplicaCreated,
    ReplicaDeleted,
    ReplicaEvent,
    ReplicaJoined,
    ReplicaSynchronized,
)
from peerstate.domain.group_state import GroupState, apply_envelope

Phase: TypeAlias = Literal["new", "joined", "synchronized", "deleted"]


@attrs.frozen
class ReplicaState:
    """One identity's replica of one group on this peer."""

    group: GroupState
    identity: str = ""
    phase: Phase = "new"
    cloud: str = ""
    group_friendly_name: str = ""
    root_key: bytes | None = None
    root_key_sealed: bool = False
    ticket: PasswordTicket | None = None
    chain: tuple[bytes, ...] = ()
    """A credential joiner's GMC chain, held until it takes the credential up."""
    refused: int = 0
    peer_time_offset: timedelta = timedelta(0)
    """The group's peer time less this machine's clock: zero for the creator, whose clock
    starts it; adopted and then averaged at each sync for the others."""

    @property
    def present(self) -> bool:
        """Whether the replica exists on this peer (created or joined, not deleted)."""
        return self.phase in ("joined", "synchronized")

    @property
    def synchronized(self) -> bool:
        return self.phase == "synchronized"

    @property
    def friendly_name(self) -> str:
        """The group's friendly name: from the properties once known, else the invitation's."""
        properties = self.group.properties
        return properties.friendly_name if properties is not None else self.group_friendly_name


def new_replica(group_peer_name: str) -> ReplicaState:
    return ReplicaState(GroupState(group_peer_name))


def evolve_replica(state: ReplicaState, event: ReplicaEvent) -> ReplicaState:
    """The replica after ``event``."""
    match event:
        case ReplicaCreated(group, identity, cloud, root_key, sealed, _):
            return ReplicaState(
                GroupState(group), identity, "synchronized", cloud, root_key=root_key,
                root_key_sealed=sealed,
            )
        case ReplicaJoined(group, identity, cloud, friendly_name, ticket, chain, root_key, sealed, _):
            return ReplicaState(
                GroupState(group), identity, "joined", cloud, friendly_name, root_key, sealed, ticket, chain,
            )
        case EnvelopeAccepted(envelope, envelope_id, _, _):
            return attrs.evolve(state, group=apply_envelope(state.group, envelope, envelope_id))
        case EnvelopeRefused():
            return attrs.evolve(state, refused=state.refused + 1)
        case PeerTimeAdjusted(offset, _, _):
            return attrs.evolve(state, peer_time_offset=timedelta(microseconds=offset))
        case ReplicaSynchronized():
            return attrs.evolve(state, phase="synchronized", ticket=None, chain=())
        case ReplicaDeleted():
            return attrs.evolve(state, phase="deleted", ticket=None, chain=())
        case JoinRefused() | ReplicaConnected() | ReplicaClosed():
            return state
