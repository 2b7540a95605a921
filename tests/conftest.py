"""Shared fixtures: peers on in-memory stores with a fixed clock, and a no-change assertion."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest

from peerstate import Peer, PeerError, PeerSettings, PeerStore, open_store
from peerstate.storage import peer_store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def store() -> PeerStore:
    return open_store(None)


@pytest.fixture
def peer(store: PeerStore) -> Peer:
    return Peer(store, clock=lambda: T0)


@contextmanager
def refused(peer: Peer, store: PeerStore, name: str) -> Iterator[None]:
    """The block must raise a ``PeerError`` called ``name`` and leave the peer as it was."""
    identities, head = peer.identities(), store.head()
    with pytest.raises(PeerError) as caught:
        yield
    assert caught.value.name == name, caught.value
    assert peer.identities() == identities
    assert store.head() == head




@pytest.fixture(autouse=True)
def frequent_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with a snapshot of a replica log every few events, so that every
    behaviour is also shown on logs opened from snapshots (``logs.snapshot_due``, replaced
    where ``peer_store`` reads it)."""
    monkeypatch.setattr(peer_store, "snapshot_due", lambda log: log.version - log.snapshot_version >= 3)
