"""A password joiner's ticket (its stretched password, what it proves the password with) is
kept outside the log until its first sync, then removed, bytes and all (issue 30).

The attack, as it stood before: the ticket was a field of ``ReplicaJoined``, so it stayed in
the joiner's immutable log for ever, and in every backup of the store. Without a passphrase
it is in clear, and whoever reads the file proves the password with it."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import pytest

from peerstate import Peer, PeerError, PeerSettings, network, open_store
from peerstate.domain.group_events import PasswordTicket, ReplicaJoined
from peerstate.names import ROLE_MEMBER
from peerstate.peer import sync_port
from peerstate.storage.local_values import SQLITE_TABLE
from peerstate.storage.locations import SQLITE_FILE

from tests.conftest import T0

PASSWORD = "correct horse battery"


def _club() -> tuple[Peer, str, str]:
    """alice's group, joined by password, listening: alice, a password invitation to it, the group."""
    alice = Peer(open_store(None), settings=PeerSettings(address="alice"), clock=lambda: T0)
    handle = alice.create_group(alice.create_identity("alice"), "club", authentication_schemes=2, password=PASSWORD, password_role=ROLE_MEMBER)
    alice.connect(handle)
    return alice, alice.create_password_invitation(handle), alice.group_properties(handle).group_peer_name


def _joiner(location: Path) -> tuple[Peer, str]:
    peer = Peer(open_store(str(location)), settings=PeerSettings(address="bob"), clock=lambda: T0)
    return peer, peer.create_identity("bob")


def _in_store(location: Path, secret: bytes) -> list[str]:
    """Where ``secret``, raw or in base64 as a row spells bytes, is in the store's files."""
    spellings = (secret, base64.b64encode(secret))
    return [path.name for path in location.iterdir() if path.is_file() and any(s in path.read_bytes() for s in spellings)]


def _rows_holding(location: Path, secret: bytes) -> list[str]:
    """The tables of the store whose rows hold ``secret``, raw or in base64."""
    spellings = (secret, base64.b64encode(secret))
    with sqlite3.connect(location / SQLITE_FILE) as database:
        tables = [name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [
            table for table in tables
            if any(
                spelling in (column if isinstance(column, bytes) else str(column).encode())
                for row in database.execute(f"SELECT * FROM {table}") for column in row for spelling in spellings
            )
        ]


def test_the_ticket_is_in_no_log_and_gone_after_the_first_sync(tmp_path: Path) -> None:
    alice, invitation, group = _club()
    bob, bob_name = _joiner(tmp_path)
    joined = bob.password_join(bob_name, invitation, PASSWORD)
    ticket = sync_port(bob).sync_ticket((bob_name, group))
    assert ticket is not None
    assert _rows_holding(tmp_path, ticket) == [SQLITE_TABLE]
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    assert sync_port(bob).sync_replica((bob_name, group)).state.synchronized
    assert bob._runtime.store.ticket(bob_name, group) is None
    assert _in_store(tmp_path, ticket) == []


def test_a_deleted_join_leaves_no_ticket(tmp_path: Path) -> None:
    _, invitation, group = _club()
    bob, bob_name = _joiner(tmp_path)
    bob.password_join(bob_name, invitation, PASSWORD)
    ticket = sync_port(bob).sync_ticket((bob_name, group))
    assert ticket is not None
    bob.delete_group(bob_name, group)
    assert bob._runtime.store.ticket(bob_name, group) is None
    assert _in_store(tmp_path, ticket) == []


def test_a_join_not_stored_keeps_the_ticket_it_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second password join whose write fails leaves the first join's ticket as it was,
    and the first join still syncs."""
    alice, invitation, group = _club()
    bob, bob_name = _joiner(tmp_path)
    joined = bob.password_join(bob_name, invitation, PASSWORD)
    kept = bob._runtime.store.ticket(bob_name, group)
    events = bob._runtime.store.replica_events(bob_name, group)

    def failing(*logs: object) -> int:
        raise PeerError("the disk is full", name="E_FAIL")

    with monkeypatch.context() as patched:
        patched.setattr(bob._runtime.store, "save", failing)
        with pytest.raises(PeerError):
            bob.password_join(bob_name, invitation, "another password")
    assert bob._runtime.store.ticket(bob_name, group) == kept
    assert bob._runtime.store.replica_events(bob_name, group) == events
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    assert sync_port(bob).sync_replica((bob_name, group)).state.synchronized


def test_an_edited_ticket_joins_nothing_and_raises_nothing(tmp_path: Path) -> None:
    """A ticket that does not decode (the store's bytes edited) is taken as none: the join
    does not sync, and nothing but the sync's own outcome comes of it."""
    alice, invitation, group = _club()
    bob, bob_name = _joiner(tmp_path)
    joined = bob.password_join(bob_name, invitation, PASSWORD)
    with sqlite3.connect(tmp_path / SQLITE_FILE) as database:
        database.execute(f"UPDATE {SQLITE_TABLE} SET value = ?", (b'{"@type": "PasswordTicket"',))
    assert bob._runtime.store.ticket(bob_name, group) is None
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    assert not sync_port(bob).sync_replica((bob_name, group)).state.synchronized


def test_a_join_stored_before_keeps_its_ticket_in_its_log() -> None:
    """A password join written before the ticket left the log (its ``ReplicaJoined``
    carries it) still syncs with it."""
    alice, invitation, group = _club()
    bob = Peer(open_store(None), settings=PeerSettings(address="bob"), clock=lambda: T0)
    bob_name = bob.create_identity("bob")
    joined = bob.password_join(bob_name, invitation, PASSWORD)
    runtime = bob._runtime
    kept = runtime.store.ticket(bob_name, group)
    assert kept is not None
    runtime.writing(lambda: runtime.execute_group((bob_name, group), lambda _: ([ReplicaJoined(
        group, bob_name, "Global_", "club", PasswordTicket(kept.verifier, kept.sealed), (), None, False, T0,
    )], [], None)))
    runtime.store.forget_ticket(bob_name, group)
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    assert sync_port(bob).sync_replica((bob_name, group)).state.synchronized
