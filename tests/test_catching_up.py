"""Catching up with oneself: a peer whose store holds less of its own identity's chain than
the group does (its store was restored from an older copy) takes its later envelopes from
the group when it meets a neighbour, before it publishes anything of its own again.

Before, a member online republished its presence before it met anyone: from a restored
store that was a second envelope at a place its chain already had in the group, a fork,
and the group refused everything it wrote from then on."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from peerstate import Peer, PeerError, PeerSettings, network, open_store, views
from peerstate.calls.sessions import GroupHandle
from peerstate.peer import sync_port
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

KIND = "5f0c1f4e-0000-4000-8000-00000000c0de"
PASSWORD = "knight-e4-e5"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def chess_club(clock: Callable[[], datetime], tmp_path: Path) -> tuple[Peer, str, GroupHandle, str, PeerStore, Peer, str, GroupHandle]:
    """alice's password group, and bob, joined by its password with a store in
    ``tmp_path``, connected and synchronized: alice, her identity, her handle, the group,
    bob's store, bob, his identity and his handle."""
    alice = Peer(open_store(None), settings=PeerSettings(address="alice"), clock=clock)
    alice_name = alice.create_identity("alice")
    handle = alice.create_group(alice_name, "chess", authentication_schemes=2, password=PASSWORD, password_role="PEER_GROUP_ROLE_MEMBER")
    alice.connect(handle)
    bob_store = open_store(tmp_path / "bob")
    bob = Peer(bob_store, settings=PeerSettings(address="bob"), clock=clock)
    bob_name = bob.create_identity("bob")
    bob_handle = bob.password_join(bob_name, alice.create_password_invitation(handle), PASSWORD).handle
    bob.connect(bob_handle)
    network.synchronize({"alice": alice, "bob": bob})
    return alice, alice_name, handle, alice.group_properties(handle).group_peer_name, bob_store, bob, bob_name, bob_handle


def test_a_peer_restored_from_an_older_copy_takes_its_own_later_envelopes_first(tmp_path: Path) -> None:
    clock = Clock()
    alice, alice_name, handle, group, bob_store, bob, bob_name, _ = chess_club(clock, tmp_path)
    bob_store.close()
    shutil.copytree(tmp_path / "bob", tmp_path / "backup")  # bob's copy, taken now

    bob = Peer(open_store(tmp_path / "bob"), settings=PeerSettings(address="bob"), clock=clock)
    bob_handle = bob.open_group(bob_name, group)
    bob.connect(bob_handle)
    for _ in range(3):
        bob.add_record(bob_handle, KIND, T0 + timedelta(days=1), data=b"later")
    network.synchronize({"alice": alice, "bob": bob})
    head = sync_port(alice).sync_replica((alice_name, group)).state.group.heads[bob_name].seq

    clock.now += timedelta(hours=1)  # bob's presence is due again when he comes back
    restored = Peer(open_store(tmp_path / "backup"), settings=PeerSettings(address="bob"), clock=clock)
    restored_handle = restored.open_group(bob_name, group)
    restored.connect(restored_handle)
    assert sync_port(restored).sync_replica((bob_name, group)).state.group.heads[bob_name].seq < head
    network.synchronize({"alice": alice, "bob": restored})

    alice_state = sync_port(alice).sync_replica((alice_name, group)).state
    restored_state = sync_port(restored).sync_replica((bob_name, group)).state
    assert alice_state.group.heads[bob_name].seq > head, "bob's presence, republished after catching up, is accepted"
    assert views.group_digest(restored_state.group) == views.group_digest(alice_state.group)
    assert len(restored.records(restored_handle)) == 3
    restored.add_record(restored_handle, KIND, T0 + timedelta(days=1), data=b"after")
    network.synchronize({"alice": alice, "bob": restored})
    assert len(alice.records(handle)) == 4, "what bob writes after catching up is the group's"


def test_a_write_made_offline_from_a_restored_store_is_a_fork_every_replica_judges_alike(tmp_path: Path) -> None:
    """Windows lets an offline member add records (reference §5.7), so a write made before
    meeting anyone, from a store restored from an older copy, is not refused where it is
    made: it takes a place in bob's chain that his later envelopes already hold in the
    group, a fork. When bob comes back, both replicas reach the one verdict: bob's envelopes
    from the fork point on, on both machines, have no effect, the ones before stand, and the
    next thing bob writes is refused. bob's machine keeps taking the group's data: its
    upkeep (presence, membership, records) publishes nothing, since the group would refuse
    it, where before it failed every sync. ``docs/security.md`` tells bob how to recover."""
    clock = Clock()
    alice, alice_name, handle, group, bob_store, bob, bob_name, bob_handle = chess_club(clock, tmp_path)
    bob.add_record(bob_handle, KIND, T0 + timedelta(days=1), data=b"before the copy")
    network.synchronize({"alice": alice, "bob": bob})
    bob_store.close()
    shutil.copytree(tmp_path / "bob", tmp_path / "backup")

    bob = Peer(open_store(tmp_path / "bob"), settings=PeerSettings(address="bob"), clock=clock)
    bob_handle = bob.open_group(bob_name, group)
    bob.connect(bob_handle)
    bob.add_record(bob_handle, KIND, T0 + timedelta(days=1), data=b"after the copy")
    network.synchronize({"alice": alice, "bob": bob})
    fork_at = sync_port(alice).sync_replica((alice_name, group)).state.group.heads[bob_name].seq

    clock.now += timedelta(hours=1)
    restored = Peer(open_store(tmp_path / "backup"), settings=PeerSettings(address="bob"), clock=clock)
    restored_handle = restored.open_group(bob_name, group)
    restored.add_record(restored_handle, KIND, T0 + timedelta(days=1), data=b"written offline")
    assert sorted(held.record.data for held in restored.records(restored_handle)) == [b"before the copy", b"written offline"]
    restored.connect(restored_handle)
    network.synchronize({"alice": alice, "bob": restored})
    network.synchronize({"alice": alice, "bob": restored})  # alice's presence, due again, republished at the first

    alice_state = sync_port(alice).sync_replica((alice_name, group)).state
    restored_state = sync_port(restored).sync_replica((bob_name, group)).state
    assert dict(alice_state.group.forked) == dict(restored_state.group.forked) == {bob_name: fork_at}
    assert views.group_digest(restored_state.group) == views.group_digest(alice_state.group)
    assert sorted(held.record.data for held in alice.records(handle)) == [b"before the copy"]
    assert sorted(held.record.data for held in restored.records(restored_handle)) == [b"before the copy"]
    with pytest.raises(PeerError) as refused:
        restored.add_record(restored_handle, KIND, T0 + timedelta(days=1), data=b"after the verdict")
    assert (refused.value.name, refused.value.rule) == ("PEER_E_INVALID_RECORD", "author_has_not_forked")
    assert views.group_digest(sync_port(restored).sync_replica((bob_name, group)).state.group) == views.group_digest(restored_state.group)
