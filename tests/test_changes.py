"""A store's events in commit order: iterated from a position, or delivered to a subscriber
as each call commits them, so an application can keep its own read model."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from peerstate import Peer, PeerError, open_store
from peerstate.changes import StoreChange, changes, subscribe
from peerstate.domain.events import GroupAttached, IdentityCreated
from peerstate.domain.group_events import EnvelopeAccepted, RecordPublished, ReplicaCreated

from tests.conftest import T0

KIND = UUID("11111111-2222-3333-4444-555555555555")


def test_a_subscriber_sees_every_commit_in_order_and_nothing_of_a_failed_call() -> None:
    store = open_store(None)
    peer = Peer(store, clock=lambda: T0)
    seen: list[StoreChange] = []
    stop = subscribe(store, seen.append)
    name = peer.create_identity("alice")
    handle = peer.create_group(name, "club")
    group = peer.group_properties(handle).group_peer_name
    assert [type(change.event) for change in seen[:1]] == [IdentityCreated]
    assert [change.position for change in seen] == sorted({change.position for change in seen})
    assert {(change.identity, change.group) for change in seen if isinstance(change.event, ReplicaCreated)} == {(name, group)}
    assert any(isinstance(change.event, GroupAttached) and change.identity is None for change in seen)
    count = len(seen)
    with pytest.raises(PeerError):
        peer.add_record(handle, KIND, T0 - timedelta(seconds=1))
    assert len(seen) == count
    peer.add_record(handle, KIND, T0 + timedelta(hours=1))
    assert isinstance(seen[-1].event, EnvelopeAccepted) and isinstance(seen[-1].event.envelope.payload, RecordPublished)
    stop()
    peer.add_record(handle, KIND, T0 + timedelta(hours=1))
    assert len(seen) == count + 1


def test_a_reader_resumes_from_the_last_position_it_handled() -> None:
    store = open_store(None)
    peer = Peer(store, clock=lambda: T0)
    peer.create_identity("alice")
    first = list(changes(store))
    last = first[-1].position
    peer.create_identity("bob")
    later = list(changes(store, after=last))
    assert later and all(change.position > last for change in later)
    assert [change.event for change in list(changes(store))[len(first):]] == [change.event for change in later]


def test_a_subscription_from_a_position_catches_up_first() -> None:
    store = open_store(None)
    peer = Peer(store, clock=lambda: T0)
    peer.create_identity("alice")
    seen: list[StoreChange] = []
    subscribe(store, seen.append, after=0)
    assert [type(change.event) for change in seen] == [IdentityCreated]
