"""A store's events in commit order, for an application's own read model: iterate them from
a position, or subscribe to them as they are committed.

Positions are eventsourcing's notification ids: a reader that keeps the last position it
handled can start again from there, in this process or another, and miss nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from uuid import UUID

import attrs

from peerstate.domain.events import IdentityEvent
from peerstate.domain.group_events import ReplicaEvent
from peerstate.storage.logs import CommitLedger, ReplicaLog
from peerstate.storage.peer_store import PeerStore


@attrs.frozen
class StoreChange:
    """One committed event: its position, and which log it is in: a replica's (``identity``
    and ``group``), or the identity log (both None)."""

    position: int
    identity: str | None
    group: str | None
    event: IdentityEvent | ReplicaEvent


def changes(store: PeerStore, after: int = 0) -> Iterator[StoreChange]:
    """Every event committed after position ``after``, in commit order."""
    replicas: dict[UUID, tuple[str, str]] = {ReplicaLog.create_id(*key): key for key in store.replica_keys()}
    for position, originator, event in store.notifications(after):
        if isinstance(event, ReplicaLog.Created):
            replicas[originator] = (event.identity, event.group)
        payload = getattr(event, "payload", None)
        if payload is not None and originator != CommitLedger.ID:  # the ledger is the store's bookkeeping
            identity, group = replicas.get(originator, (None, None))
            yield StoreChange(position, identity, group, payload)


def subscribe(store: PeerStore, listener: Callable[[StoreChange], None], after: int | None = None) -> Callable[[], None]:
    """Call ``listener`` with every event committed after ``after`` (None: from now on):
    those already stored at once, the rest as this process commits them. The result ends
    the subscription. An exception of the listener comes out of the call that committed,
    after its events are stored."""
    position = store.head() if after is None else after

    def deliver() -> None:
        nonlocal position
        for change in changes(store, position):
            position = change.position
            listener(change)

    deliver()
    return store.on_commit(deliver)
