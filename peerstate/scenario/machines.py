"""The simulated machines of one replay: each a peer process over its own store.

A peer comes up the first time a step names it. Its store is its disk: in memory it is the
same ``PeerStore`` object for the whole replay, on disk it is a directory that a restart
closes and opens again. ``Host`` says how stores are opened and processes started, so tests
can run the runner on fakes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Final

import attrs

from peerstate import network, views
from peerstate.peer import Peer, PeerSettings, sync_port
from peerstate.storage.locations import Location, child
from peerstate.storage.opening import open_store
from peerstate.storage.peer_store import PeerStore
from peerstate.scenario.problems import KeyPathError

Clock = Callable[[], datetime]


def _start_peer(store: PeerStore, settings: PeerSettings, clock: Clock) -> Peer:
    return Peer(store, settings=settings, clock=clock)


@attrs.frozen
class Host:
    """How a machine's store is opened (``None``: in memory) and its peer process started."""

    open_store: Callable[[Location], PeerStore]
    start_peer: Callable[[PeerStore, PeerSettings, Clock], Peer]


REAL_HOST: Final = Host(open_store, _start_peer)


def stores_of_file(root: Path | str, file: Path, top: Path) -> Path | str:
    """Where the peers of the scenario ``file`` keep their stores when several files share
    ``root``: a location under it named after the file's path below ``top`` without its
    suffix, folders joined by '-' (``a/same.json`` and ``b/same.json``: ``a-same`` and
    ``b-same``), so that two files of one name never share a store."""
    return child(root, "-".join(file.with_suffix("").relative_to(top).parts))


def refuse_used_stores(root: Path | str, peers: Iterable[str]) -> None:
    """``KeyPathError`` when a peer's store under ``root`` already holds something: a replay
    never continues someone else's state."""
    for peer in sorted(peers):
        place = child(root, peer)
        if isinstance(place, str):
            store = open_store(place)
            used = store.head() > 0
            store.close()
        else:
            used = place.exists() and (not place.is_dir() or any(place.iterdir()))
        if used:
            raise KeyPathError(
                (), f"the store of peer {peer!r}, {place}, already exists and is not empty"
            )


@attrs.define
class _Machine:
    path: Path | str | None
    store: PeerStore
    peer: Peer


class Machines:
    """The peers of one replay, by name, brought up on first use."""

    def __init__(
        self,
        settings: Callable[[str], PeerSettings],
        clock: Clock,
        store_root: Path | str | None,
        host: Host,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._root = store_root
        self._host = host
        self._machines: dict[str, _Machine] = {}
        self._files = tempfile.TemporaryDirectory(prefix="peerstate-files-")

    def _machine(self, name: str) -> _Machine:
        machine = self._machines.get(name)
        if machine is None:
            path = None if self._root is None else child(self._root, name)
            store = self._host.open_store(path)
            peer = self._host.start_peer(store, self._machine_settings(name), self._clock)
            machine = _Machine(path, store, peer)
            self._machines[name] = machine
        return machine

    def _machine_settings(self, name: str) -> PeerSettings:
        """The file's settings, the machine's address (its name, which is how a scenario
        writes a ``PEER_ADDRESS``), and the replay's one directory for the files that
        calls name by absolute path, shared by every machine as a network share is, so
        one peer can import what another exported."""
        return attrs.evolve(self._settings(name), address=name, file_root=Path(self._files.name))

    def peer(self, name: str) -> Peer:
        return self._machine(name).peer

    def restart(self, name: str, passphrase: str | None) -> None:
        """End the peer's process (its handles and registrations) and start it again with
        ``passphrase``; an on-disk store is closed and opened again, as after a reboot."""
        machine = self._machine(name)
        machine.peer.close()
        if machine.path is not None:
            machine.store.close()
            machine.store = self._host.open_store(machine.path)
        settings = attrs.evolve(self._machine_settings(name), passphrase=passphrase)
        machine.peer = self._host.start_peer(machine.store, settings, self._clock)

    def sync(self, names: Iterable[str] | None) -> None:
        """Exchange group data among the named peers (None: every peer up so far)."""
        chosen = sorted(self._machines) if names is None else sorted(set(names))
        network.synchronize({name: self.peer(name) for name in chosen})

    def converged(self, group: object) -> str:
        """"" when every synchronized replica of ``group`` reports the same state digest;
        otherwise what differs."""
        if not isinstance(group, str):
            return f"converged needs a group peer name, not {group!r}"
        digests = {
            f"{name}/{key[0]}": views.group_digest(sync_port(machine.peer).sync_replica(key).state.group)
            for name, machine in sorted(self._machines.items())
            for key in sync_port(machine.peer).sync_replicas_of(group)
        }
        if not digests:
            return f"no peer holds a synchronized replica of {group!r}"
        if len(set(digests.values())) > 1:
            listed = ", ".join(f"{where}: {digest[:12]}" for where, digest in digests.items())
            return f"the replicas of {group!r} differ: {listed}"
        return ""

    def close(self) -> None:
        """End every peer, then close every store."""
        for machine in self._machines.values():
            machine.peer.close()
        for machine in self._machines.values():
            machine.store.close()
        self._machines.clear()
        self._files.cleanup()

