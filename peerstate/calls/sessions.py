"""What one peer process holds and a restart loses: group handles, event registrations and
their queues, and live connections. None of it is stored.

Handles are opaque strings that name their process, so a handle kept across a restart is
refused (``PEER_E_INVALID_GROUP``) instead of naming whatever the new process opened next.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from uuid import UUID

import attrs

from peerstate.constants import (
    PeerConnectionStatus,
    PeerGroupEventType,
    PeerGroupStatus,
    PeerMemberChangeType,
    PeerRecordChangeType,
)
from peerstate.calls.arguments import list_names_one_at_least, shown
from peerstate.calls.record_watch import RecordWatch
from peerstate.registry import Refusal, rule
from peerstate.sync.port import Neighbor, ReplicaKey

@attrs.frozen
class GroupEvent:
    """One ``PEER_GROUP_EVENT_DATA``: the type, and the union member that type carries."""

    event_type: PeerGroupEventType
    status: PeerGroupStatus | None = None
    member_change: PeerMemberChangeType | None = None
    identity: str | None = None
    connection_status: PeerConnectionStatus | None = None
    node: Neighbor | None = None
    failure: str | None = None
    """An HRESULT name: why a connection or an authentication failed."""
    record_change: PeerRecordChangeType | None = None
    record_id: UUID | None = None
    record_type: UUID | None = None


@attrs.frozen
class Interest:
    """One ``PEER_GROUP_EVENT_REGISTRATION``: an event type, and for record changes the
    record type it is limited to (None: every type)."""

    event_type: PeerGroupEventType
    record_type: UUID | None = None

    def wants(self, event: GroupEvent) -> bool:
        return event.event_type == self.event_type and self.record_type in (None, event.record_type)


@attrs.define
class GroupHandle:
    replica: ReplicaKey
    cloud: str
    connected: bool = False
    addresses: tuple[str, ...] | None = None
    """The peers ``PeerGroupConnectByAddress`` named; None: any listening member."""


@attrs.define
class Registration:
    handle: str
    interests: frozenset[Interest]
    queue: deque[GroupEvent] = attrs.field(factory=deque)


@rule("PEER_E_INVALID_GROUP")
def handle_is_open(handles: Mapping[str, GroupHandle], handle: object) -> GroupHandle:
    """A group handle a call names is open in this peer process: not closed, not of a
    deleted replica, not kept from another process (``PEER_E_INVALID_GROUP``). Gives what
    the process holds of it."""
    found = handles.get(handle) if isinstance(handle, str) else None
    if found is None:
        raise Refusal(f"{shown(handle)} is not an open group handle of this peer process")
    return found


@rule("E_INVALIDARG")
def registration_is_open(registrations: Mapping[str, Registration], name: object) -> Registration:
    """An event registration a call names is open in this peer process (``E_INVALIDARG``)."""
    found = registrations.get(name) if isinstance(name, str) else None
    if found is None:
        raise Refusal(f"{shown(name)} is not an event registration of this peer process")
    return found


class Sessions:
    """One process's handles, registrations and connections."""

    def __init__(self) -> None:
        self._process = secrets.token_hex(4)
        self._count = 0
        self._handles: dict[str, GroupHandle] = {}
        self._registrations: dict[str, Registration] = {}
        self._connections: dict[ReplicaKey, set[Neighbor]] = {}
        self._watches: dict[ReplicaKey, RecordWatch] = {}

    def _name(self, kind: str) -> str:
        self._count += 1
        return f"{kind}:{self._process}:{self._count}"

    # Handles -------------------------------------------------------------------------------

    def open(self, replica: ReplicaKey, cloud: str) -> str:
        handle = self._name("HGROUP")
        self._handles[handle] = GroupHandle(replica, cloud)
        return handle

    def handle(self, handle: object) -> GroupHandle:
        """The open handle, or ``PEER_E_INVALID_GROUP`` for anything else."""
        return handle_is_open(self._handles, handle)

    def close(self, handle: str) -> bool:
        """Close the handle and its registrations; True when it was the replica's last."""
        replica = self._handles.pop(handle).replica
        for name in [name for name, r in self._registrations.items() if r.handle == handle]:
            del self._registrations[name]
        last = not any(h.replica == replica for h in self._handles.values())
        if last:
            self._connections.pop(replica, None)
        return last

    def forget(self, replica: ReplicaKey) -> None:
        """The replica was deleted: every handle to it is invalid at once, and what this
        process showed of its records goes with it, since a replica made again under the
        same key (a join, an imported configuration) starts from nothing."""
        for handle in [name for name, h in self._handles.items() if h.replica == replica]:
            self.close(handle)
        self._watches.pop(replica, None)

    def handles(self) -> Iterator[tuple[str, GroupHandle]]:
        yield from list(self._handles.items())

    def connected(self, replica: ReplicaKey) -> bool:
        return any(h.connected for h in self._handles.values() if h.replica == replica)

    # Connections ---------------------------------------------------------------------------

    def connections(self, replica: ReplicaKey) -> frozenset[Neighbor]:
        return frozenset(self._connections.get(replica, ()))

    def connect(self, replica: ReplicaKey, remote: Neighbor) -> bool:
        """Record a live connection; True when it is new."""
        remotes = self._connections.setdefault(replica, set())
        new = remote not in remotes
        remotes.add(remote)
        return new

    def disconnect(self, replica: ReplicaKey, remote: Neighbor) -> bool:
        remotes = self._connections.get(replica, set())
        if remote not in remotes:
            return False
        remotes.discard(remote)
        return True

    # Events --------------------------------------------------------------------------------

    def register(self, handle: str, interests: Iterable[Interest]) -> str:
        wanted = frozenset(interests)
        list_names_one_at_least(wanted, "pEventRegistrations", "event type")
        name = self._name("HPEEREVENT")
        self._registrations[name] = Registration(handle, wanted)
        return name

    def registration(self, name: object) -> Registration:
        """The registration, or ``E_INVALIDARG`` for anything else."""
        return registration_is_open(self._registrations, name)

    def unregister(self, name: object) -> None:
        registration = self.registration(name)
        self._registrations = {k: r for k, r in self._registrations.items() if r is not registration}

    def notify(self, replica: ReplicaKey, event: GroupEvent) -> None:
        """Queue ``event`` for every registration for its type on the replica's handles."""
        for registration in self._registrations.values():
            handle = self._handles.get(registration.handle)
            if handle is not None and handle.replica == replica and any(
                interest.wants(event) for interest in registration.interests
            ):
                registration.queue.append(event)

    # Records shown ---------------------------------------------------------------------------

    def watch(self, replica: ReplicaKey) -> RecordWatch:
        """The replica's records as this process last told its registrations about them."""
        return self._watches.setdefault(replica, RecordWatch())
