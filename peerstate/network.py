"""An in-memory network of peers: who meets whom when the group data is exchanged.

This is the simulation behind the scenario step ``sync``: for each group, every replica
whose handle is connected meets every replica that listens for that group on the same
cloud (only those at the listed addresses after ``PeerGroupConnectByAddress``), and the two
run ``sync``'s conversation. Rounds repeat until one changes nothing, so news travels
across any number of hops. Before the first round, listening members whose presence is
half gone publish it again, and republish their autorefresh records about to expire, as
they would while online. Connections whose other end has gone (its handles closed, its
process restarted) are dropped first, as a real transport would notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from peerstate.constants import PeerGroupEventType
from peerstate.record_calls import RecordCalls
from peerstate.sessions import Neighbor, ReplicaKey
from peerstate.sync import Connector, Listener, exchange

MAX_ROUNDS: Final = 64


def node(peer: RecordCalls, key: ReplicaKey) -> Neighbor:
    """How a replica is named on the network."""
    return Neighbor(peer.settings.address, key[0])


def _connected(peer: RecordCalls) -> dict[ReplicaKey, list[tuple[str, tuple[str, ...] | None]]]:
    """The replicas with a connected handle: each with its handles' clouds and address lists."""
    found: dict[ReplicaKey, list[tuple[str, tuple[str, ...] | None]]] = {}
    for _, handle in peer.sync_handles():
        if handle.connected:
            found.setdefault(handle.replica, []).append((handle.cloud, handle.addresses))
    return found


def _drop_lost_connections(peers: Mapping[str, RecordCalls]) -> None:
    alive = {node(peer, key) for peer in peers.values() for key in _connected(peer)}
    for peer in peers.values():
        for _, handle in peer.sync_handles():
            for remote in peer.sync_connections(handle.replica) - alive:
                peer.sync_disconnected(handle.replica, remote)


def _snapshot(peers: Mapping[str, RecordCalls]) -> list[tuple[str, ReplicaKey, bool, int]]:
    return [
        (name, key, peer.sync_replica(key).state.synchronized, len(peer.sync_replica(key).known))
        for name, peer in sorted(peers.items()) for key in _connected(peer)
    ]


def synchronize(peers: Mapping[str, RecordCalls]) -> None:
    """Exchange group data among ``peers`` until nothing changes."""
    _drop_lost_connections(peers)
    for peer in peers.values():
        for key in _connected(peer):
            peer.sync_refresh_presence(key)
            peer.sync_refresh_records(key)
    met: set[tuple[str, ReplicaKey]] = set()
    for _ in range(MAX_ROUNDS):
        before = _snapshot(peers)
        for name, peer in sorted(peers.items()):
            for key, handles in _connected(peer).items():
                listeners = [
                    (other_name, other, other_key)
                    for other_name, other in sorted(peers.items())
                    for other_key, other_handles in _connected(other).items()
                    if other_key[1] == key[1] and (other_name, other_key) != (name, key)
                    and other.sync_listening(other_key)
                    and any(
                        cloud == other_cloud and (addresses is None or other.settings.address in addresses)
                        for cloud, addresses in handles for other_cloud, _ in other_handles
                    )
                ]
                if not listeners:
                    if (name, key) not in met and not peer.sync_replica(key).state.synchronized:
                        peer.sync_failed(key, PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED, "PEER_E_NO_MEMBERS_FOUND")
                    met.add((name, key))
                    continue
                met.add((name, key))
                for _, other, other_key in listeners:
                    exchange(
                        Connector(peer, key, node(other, other_key)),
                        Listener(other, other_key, node(peer, key)),
                    )
        if _snapshot(peers) == before:
            return
