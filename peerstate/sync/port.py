"""``SyncPort``: what the sync conversation and the network need of a peer, and nothing else.

The conversation (``peerstate.sync``) and the in-memory network (``peerstate.network``) are
typed against this protocol, not against ``Peer``: the port signs with an identity's key,
hands out the group's password verifier and stores received envelopes, which no caller of
the public API may do, so it is no name on ``Peer``'s surface.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from peerstate.constants import PeerGroupEventType
from peerstate.domain.group_events import Envelope
from peerstate.errors import PeerError
from peerstate.storage.logs import ReplicaLog


ReplicaKey = tuple[str, str]
"""(identity peer name, group peer name): one replica on this peer."""


@attrs.frozen
class Neighbor:
    """The other end of a connection: a replica on the network, named by its machine's
    address and its identity, since one machine may hold replicas of several identities."""

    address: str
    identity: str

    @property
    def node_id(self) -> int:
        """``ullNodeId`` and ``ullConnectionId``: the same on every peer that sees this node,
        so a scenario can match an event against ``PeerGroupEnumConnections``."""
        digest = hashlib.sha256(f"{len(self.address)}:{self.address}{self.identity}".encode()).digest()
        return int.from_bytes(digest[:8], "big")

    def __str__(self) -> str:
        return f"{self.identity} at {self.address}"


@attrs.frozen
class Received:
    """What a received batch did to a replica: how many envelopes it accepted, the
    refusal that cuts the sender off, if one did (``sync.cutting``): the conversation ends
    there, and the rest of the batch is not judged; and the ids of the batch's envelopes
    that wait for data the replica lacks, held or, past the bounds, dropped."""

    accepted: int
    cut_off: PeerError | None = None
    waiting: tuple[bytes, ...] = ()


class OpenHandle(Protocol):
    """A handle as the network sees it: which replica, on which cloud, whether connected,
    and to which addresses only (None: any listening member)."""

    @property
    def replica(self) -> ReplicaKey: ...
    @property
    def cloud(self) -> str: ...
    @property
    def connected(self) -> bool: ...
    @property
    def addresses(self) -> tuple[str, ...] | None: ...


class SyncPort(Protocol):
    """One peer as the sync conversation and the network reach it."""

    def sync_now(self) -> datetime: ...
    def sync_address(self) -> str: ...
    def sync_replicas_of(self, group: str) -> list[ReplicaKey]: ...
    def sync_handles(self) -> Sequence[tuple[str, OpenHandle]]: ...
    def sync_listening(self, key: ReplicaKey) -> bool: ...
    def sync_replica(self, key: ReplicaKey) -> ReplicaLog: ...
    def sync_card(self, identity: str) -> bytes: ...
    def sync_sign(self, identity: str, data: bytes) -> bytes: ...
    def sync_chain(self, key: ReplicaKey) -> tuple[bytes, ...]: ...
    def sync_ticket(self, key: ReplicaKey) -> bytes | None: ...
    def sync_missing(self, key: ReplicaKey, heads: Mapping[str, int], budget: int) -> tuple[tuple[Envelope, ...], bool]: ...
    def sync_at(self, key: ReplicaKey, places: Mapping[str, int], budget: int) -> tuple[Envelope, ...]: ...
    def sync_receive(self, key: ReplicaKey, envelopes: Sequence[Envelope], sender: Neighbor) -> Received: ...
    def sync_issue_password_credential(self, key: ReplicaKey, joiner_card: bytes) -> None: ...
    def sync_peer_time(self, key: ReplicaKey, remote_peer_time: datetime, source: str, asked_at: datetime) -> None: ...
    def sync_peer_time_now(self, key: ReplicaKey) -> datetime: ...
    def sync_start_guess(self, key: ReplicaKey, joiner: str, address: str) -> None: ...
    def sync_settle_guess(self, key: ReplicaKey, joiner: str, address: str, wrong: PeerError | None) -> None: ...
    def sync_first_synchronized(self, key: ReplicaKey, source: str) -> None: ...
    def sync_refresh_presence(self, key: ReplicaKey) -> None: ...
    def sync_refresh_membership(self, key: ReplicaKey) -> None: ...
    def sync_refresh_records(self, key: ReplicaKey) -> None: ...
    def sync_connected(self, key: ReplicaKey, remote: Neighbor) -> None: ...
    def sync_disconnected(self, key: ReplicaKey, remote: Neighbor) -> None: ...
    def sync_failed(self, key: ReplicaKey, event_type: PeerGroupEventType, failure: str) -> None: ...
    def sync_connections(self, key: ReplicaKey) -> frozenset[Neighbor]: ...
