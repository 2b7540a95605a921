"""The group logs the benchmarks read: a group on SQLite whose administrator publishes
record envelopes, grown in steps so that each size is measured on the way to the next.

Envelopes are made by the write path's own ``envelopes.publish`` (signed, admitted, recorded) and
saved a thousand a commit: building a 100,000-envelope log a call at a time would take
longer than every measurement together.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final

from peerstate.domain.group_events import RecordPublished, ReplicaClosed, ReplicaConnected
from peerstate.calls import envelopes
from peerstate.calls.records import draft, new_record
from peerstate.peer import Peer
from peerstate.storage.logs import ReplicaLog
from peerstate.storage.opening import open_store
from peerstate.storage.peer_store import PeerStore

T0: Final = datetime(2026, 1, 1, tzinfo=timezone.utc)
KIND: Final = uuid.UUID("0b0e5c4a-7e57-4d1c-9a3e-000000000001")
RECORD_DATA: Final = 256
"""Bytes of data a record carries: a small chat message or a presence blob."""
SAVE_EVERY: Final = 1000


def clock() -> datetime:
    return T0


class GroupCorpus:
    """A group on SQLite at ``directory``, its administrator ``identity`` on ``peer``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.store = open_store(directory)
        self.peer = Peer(self.store, clock=clock)
        self.identity = self.peer.create_identity("bench", "Bench")
        self.handle = self.peer.create_group(self.identity, "bench")
        self.group = self.peer.group_properties(self.handle).group_peer_name
        self.records = 0

    def log(self) -> ReplicaLog:
        return self.peer._runtime.replica(self.identity, self.group)

    def grow_to(self, records: int) -> None:
        """Publish record envelopes until the group holds ``records`` of them."""
        log = self.log()
        author = self.peer._runtime.state.identities[self.identity]
        fields = draft(KIND, 0, T0 + timedelta(days=365), None, bytes(RECORD_DATA))
        while self.records < records:
            envelopes.publish(self.peer._runtime, log, author, RecordPublished(new_record(self.identity, fields, T0)), T0)
            self.records += 1
            if self.records % SAVE_EVERY == 0 or self.records == records:
                self.store.save(log)

    def churn_to(self, events: int) -> None:
        """Record the replica's own events (the group opened and closed, as a long-lived
        peer does at every start) until its log holds ``events``: a long log whose state
        stays small."""
        log = self.log()
        while log.version < events:
            log.record(ReplicaConnected(T0) if log.version % 2 else ReplicaClosed(T0))
            if log.version % SAVE_EVERY == 0 or log.version == events:
                self.store.save(log)

    def reopened(self) -> PeerStore:
        """The same store opened anew, as another process would: nothing cached."""
        return open_store(self.directory)
