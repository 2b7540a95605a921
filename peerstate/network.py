"""An in-memory network of peers: who meets whom when the group data is exchanged.

This is the simulation behind the scenario step ``sync``: for each group, every replica
whose handle is connected meets every replica that listens for that group on the same
cloud (only those at the listed addresses after ``PeerGroupConnectByAddress``), and the two
run ``sync``'s conversation. Rounds repeat until one changes nothing, so news travels
across any number of hops. Before the first round, a member that has met no one since its
replica was opened catches up (``synchronize``); then listening members whose presence or
member data is half gone publish it again, and republish their autorefresh records about
to expire, as they would while online. Connections whose other end has gone (its handles closed, its
process restarted) are dropped first, as a real transport would notice.

What one replica does never stops the round for the others: a ``PeerError`` met in a
replica's part (its republishing, or a conversation it starts) is that replica's
``CONNECTION_FAILED`` event, with the error's HRESULT, and a replica that could not
republish takes no further part in this sync. Any other exception is a bug and goes on up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from peerstate.constants import PeerGroupEventType
from peerstate.errors import PeerError
from peerstate.sync.port import Neighbor, ReplicaKey
from peerstate.peer import Peer, sync_port
from peerstate.sync import Connector, Listener, exchange
from peerstate.sync.port import SyncPort

MAX_ROUNDS: Final = 64


def node(peer: SyncPort, key: ReplicaKey) -> Neighbor:
    """How a replica is named on the network."""
    return Neighbor(peer.sync_address(), key[0])


def _connected(peer: SyncPort, failed: frozenset[ReplicaKey] = frozenset()) -> dict[ReplicaKey, list[tuple[str, tuple[str, ...] | None]]]:
    """The replicas with a connected handle, less the ``failed`` ones: each with its
    handles' clouds and address lists."""
    found: dict[ReplicaKey, list[tuple[str, tuple[str, ...] | None]]] = {}
    for _, handle in peer.sync_handles():
        if handle.connected and handle.replica not in failed:
            found.setdefault(handle.replica, []).append((handle.cloud, handle.addresses))
    return found


def _attempt(peer: SyncPort, key: ReplicaKey, part: Callable[[], object]) -> bool:
    """Run one replica's ``part`` of a sync; whether it went through. A ``PeerError`` is that
    replica's ``CONNECTION_FAILED`` event (its HRESULT the reason), so the round goes on
    for the others; anything else is a bug, not a failure of the connection, and is raised."""
    try:
        part()
    except PeerError as error:
        peer.sync_failed(key, PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED, error.name)
        return False
    return True


def _republish(peer: SyncPort, key: ReplicaKey) -> None:
    """What a member online republishes before a sync: its membership, its presence and its
    autorefresh records."""
    peer.sync_refresh_membership(key)
    peer.sync_refresh_presence(key)
    peer.sync_refresh_records(key)


def _drop_lost_connections(peers: Mapping[str, SyncPort]) -> None:
    alive = {node(peer, key) for peer in peers.values() for key in _connected(peer)}
    for peer in peers.values():
        for _, handle in peer.sync_handles():
            for remote in peer.sync_connections(handle.replica) - alive:
                peer.sync_disconnected(handle.replica, remote)


def _snapshot(peers: Mapping[str, SyncPort], failed: Mapping[str, frozenset[ReplicaKey]]) -> list[tuple[str, ReplicaKey, bool, int]]:
    return [
        (name, key, peer.sync_replica(key).state.synchronized, len(peer.sync_replica(key).known))
        for name, peer in sorted(peers.items()) for key in _connected(peer, failed[name])
    ]


def synchronize(machines: Mapping[str, Peer]) -> None:
    """Exchange group data among the peers of ``machines`` until nothing changes.

    A member that has met no one since its replica was opened meets the listeners it finds
    first, before anyone republishes: its store may be a restored older copy that holds
    less of its own chain than the group does, and what it published before taking the
    rest would take a place its chain already has in the group, a fork."""
    peers = {name: sync_port(peer) for name, peer in machines.items()}
    _drop_lost_connections(peers)
    met: set[tuple[str, ReplicaKey]] = set()
    catching_up = {
        name: frozenset(
            key for key in _connected(peer) if peer.sync_replica(key).state.synchronized and not peer.sync_connections(key)
        )
        for name, peer in peers.items()
    }
    _meet(peers, {name: frozenset() for name in peers}, met, catching_up)
    failed = {
        name: frozenset(key for key in _connected(peer) if not _attempt(peer, key, lambda: _republish(peer, key)))
        for name, peer in peers.items()
    }
    for _ in range(MAX_ROUNDS):
        before = _snapshot(peers, failed)
        _meet(peers, failed, met)
        if _snapshot(peers, failed) == before:
            return


def _meet(
    peers: Mapping[str, SyncPort], failed: Mapping[str, frozenset[ReplicaKey]], met: set[tuple[str, ReplicaKey]],
    only: Mapping[str, frozenset[ReplicaKey]] | None = None,
) -> None:
    """One round: every connected replica (``only`` those, when given), less the ``failed``,
    meets every replica that listens for its group where it looks, once; a replica that
    finds none and was never synchronized is told ``PEER_E_NO_MEMBERS_FOUND`` the first
    time (``met``)."""
    for name, peer in sorted(peers.items()):
        for key, handles in _connected(peer, failed[name]).items():
            if only is not None and key not in only[name]:
                continue
            listeners = [
                (other_name, other, other_key)
                for other_name, other in sorted(peers.items())
                for other_key, other_handles in _connected(other, failed[other_name]).items()
                if other_key[1] == key[1] and (other_name, other_key) != (name, key)
                and other.sync_listening(other_key)
                and any(
                    cloud == other_cloud and (addresses is None or other.sync_address() in addresses)
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
                _attempt(peer, key, lambda: exchange(
                    Connector(peer, key, node(other, other_key)),
                    Listener(other, other_key, node(peer, key)),
                ))
