"""A store opened with its passphrase notices rows written by someone without it (issue 31,
``storage.store_seal``), on SQLite and on PostgreSQL.

The attacks, as they were played before: one ``stored_snapshots`` row, built with
peerstate's own classes, gave the victim's group a password of the attacker's with the
administrator role, and the victim's peer believed it at its next open; an edited record
row (``balance: 900``) was served by a normal open. ``verify`` would have found both, but
no open ran it. Now a normal open with the passphrase refuses the store
(``PEER_E_INVALID_DATABASE``) before it serves either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from peerstate import Peer, PeerError, PeerSettings, cli, crypto, open_store
from peerstate.crypto import pake
from peerstate.domain.group_events import EnvelopeAccepted, PasswordVerifier, RecordPublished, ReplicaConnected
from peerstate.domain.values import evolved
from peerstate.names import ROLE_ADMIN, ROLE_MEMBER
from peerstate.storage.locations import Location, with_schema
from peerstate.storage.logs import CommitLedger, ReplicaLog, chain_link

from tests.backends import postgres_server
from tests.test_compat import SETS, _recorded, _settings, _sqlite_copy
from tests.conftest import T0
from tests.test_tamper import PostgresRows, Rows, SqliteRows

PASSPHRASE = "alice's passphrase"
KIND = uuid.UUID("9c0ff85d-6f0e-4b8e-9d3a-1c5f0e6b7a21")


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    if request.param == "sqlite":
        return tmp_path / "alice"
    return with_schema(postgres_server(), f"seal_{uuid.uuid4().hex[:16]}")


@attrs.frozen
class Books:
    """alice's store: her identity, her group (password-joined, members by password), and
    the record of its balance."""

    location: Location
    identity: str
    group: str
    record: uuid.UUID


def _peer(location: Location, passphrase: str | None = PASSPHRASE) -> Peer:
    return Peer(open_store(location), settings=PeerSettings(passphrase=passphrase), clock=lambda: T0)


@pytest.fixture
def books(location: Location) -> Books:
    alice = _peer(location)
    identity = alice.create_identity("alice")
    handle = alice.create_group(identity, "books", authentication_schemes=2, password="the club's password", password_role=ROLE_MEMBER)
    record = alice.add_record(handle, KIND, T0 + timedelta(days=1), data=b"balance: 100")
    group = alice.group_properties(handle).group_peer_name
    alice.close()
    return Books(location, identity, group, record)


@contextlib.contextmanager
def _rows(location: Location) -> Iterator[Rows]:
    """The store's rows, as someone with the database but not the passphrase edits them."""
    rows = SqliteRows(location, location) if isinstance(location, Path) else PostgresRows(str(location), str(location))
    try:
        yield rows
    finally:
        rows.close()


def _balance(books: Books) -> bytes:
    """The balance alice's peer, opened with her passphrase, serves."""
    alice = _peer(books.location)
    return alice.get_record(alice.open_group(books.identity, books.group), books.record).record.data


def _head(location: Location) -> int:
    """How many rows the store holds: a refused open must have stored none."""
    with contextlib.closing(open_store(location, read_only=True)) as store:
        return store.head()


def _refused(books: Books) -> str:
    """The error of alice's open, which must have stored nothing."""
    head = _head(books.location)
    with pytest.raises(PeerError) as refused:
        _balance(books)
    assert _head(books.location) == head
    return refused.value.name


def test_an_honest_store_opens_and_stays_sealed(books: Books) -> None:
    assert _balance(books) == b"balance: 100"
    alice = _peer(books.location)
    assert not alice.sealed_on_open
    handle = alice.open_group(books.identity, books.group)
    alice.update_record(handle, books.record, KIND, 0, T0 + timedelta(days=2), data=b"balance: 120")
    assert _balance(books) == b"balance: 120"


def test_an_edited_record_row_is_refused(books: Books) -> None:
    """The attack: "balance: 100" becomes "balance: 900" in the record's row, its link left
    as it was; before, a normal open served 900."""
    log_id = ReplicaLog.create_id(books.identity, books.group)
    with _rows(books.location) as rows:
        (event,) = [event for event in rows.log(log_id) if isinstance(getattr(event, "payload", None), EnvelopeAccepted)
                    and isinstance(event.payload.envelope.payload, RecordPublished)]
        envelope = event.payload.envelope
        record = attrs.evolve(envelope.payload.record, data=b"balance: 900")
        edited = attrs.evolve(event.payload, envelope=attrs.evolve(envelope, payload=attrs.evolve(envelope.payload, record=record)))
        rows.write([dataclasses.replace(event, payload=edited)])
    assert _refused(books) == "PEER_E_INVALID_DATABASE"


def test_a_snapshot_row_made_with_peerstates_classes_is_refused(books: Books) -> None:
    """The attack: a snapshot of alice's replica, written by someone with the database
    through peerstate's own classes, whose group takes the attacker's password with the
    administrator role. Before, alice's next open started from it, and her peer handed the
    attacker an administrator's credential at its next sync."""
    stretched = b"the attacker's stretched password"
    attacker = open_store(books.location)  # no passphrase: what anyone with the file can do
    log = attacker.replica_log(books.identity, books.group)
    properties = log.state.group.properties
    assert properties is not None and properties.password is not None
    mine = pake.new_verifier(books.group, stretched)
    password = PasswordVerifier(properties.password.salt, properties.password.iterations, properties.password.lanes,
                                properties.password.memory_cost, b"", mine.salt, mine.verifier)
    log.state = evolved(log.state, group=evolved(log.state.group, properties=attrs.evolve(properties, password=password, password_role=ROLE_ADMIN)))
    log.snapshot_version = log.version
    row = attacker._app.snapshots.mapper.to_stored_event(ReplicaLog.Snapshot.take(log))
    attacker._app.snapshots.recorder.insert_events([row])
    attacker.close()
    head = _head(books.location)
    alice = _peer(books.location)
    with pytest.raises(PeerError) as refused:
        alice.group_properties(alice.open_group(books.identity, books.group))
    assert refused.value.name == "PEER_E_INVALID_DATABASE"
    assert _head(books.location) == head


def test_a_row_added_at_a_logs_end_is_refused(books: Books) -> None:
    """A row appended to alice's replica log, its link recomputed as the chain wants, and no
    ledger entry for it: her log no longer stands where her last sealed commit left it."""
    log_id = ReplicaLog.create_id(books.identity, books.group)
    with _rows(books.location) as rows:
        last = rows.log(log_id)[-1]
        event = _next_row(last, ReplicaConnected(T0))
        row = rows.store._app.mapper.to_stored_event(event)
        rows.store._app.recorder.insert_events([row])
    assert _refused(books) == "PEER_E_INVALID_DATABASE"


def _next_row(last: Any, payload: Any) -> Any:
    timestamp = last.timestamp + timedelta(seconds=1)
    return ReplicaLog.Recorded(  # type: ignore[call-arg]
        originator_id=last.originator_id, originator_version=last.originator_version + 1, timestamp=timestamp,
        payload=payload, link=chain_link(last.link, last.originator_version + 1, timestamp, payload),
    )


def test_a_logs_last_row_removed_is_refused(books: Books) -> None:
    log_id = ReplicaLog.create_id(books.identity, books.group)
    with _rows(books.location) as rows:
        rows.sql(f"delete from {rows.table} where originator_id = ? and originator_version = ?", log_id, len(rows.log(log_id)))
    assert _refused(books) == "PEER_E_INVALID_DATABASE"


def test_a_ledger_entry_stripped_of_its_seal_is_refused(books: Books) -> None:
    """A store sealed from its making whose last ledger entry is written back unsealed (a
    ``Recorded`` with the same link): an open cannot take it for a store made before seals."""
    with _rows(books.location) as rows:
        last = rows.log(CommitLedger.ID)[-1]
        unsealed = CommitLedger.Recorded(  # type: ignore[call-arg]
            originator_id=last.originator_id, originator_version=last.originator_version, timestamp=last.timestamp,
            payload=last.payload, link=last.link,
        )
        row = rows.store._app.mapper.to_stored_event(unsealed)
        rows.sql(f"update {rows.table} set topic = ?, state = ? where originator_id = ? and originator_version = ?",
                 row.topic, row.state, CommitLedger.ID, last.originator_version)
    assert _refused(books) == "PEER_E_INVALID_DATABASE"


def test_without_the_passphrase_a_store_is_read_and_never_written(books: Books) -> None:
    """Opened without the passphrase, nothing is checked (there is no key to check with),
    and nothing is stored: each commit must be sealed."""
    alice = _peer(books.location, passphrase=None)
    handle = alice.open_group(books.identity, books.group)
    assert alice.get_record(handle, books.record).record.data == b"balance: 100"
    head = _head(books.location)
    with pytest.raises(PeerError) as refused:
        alice.connect(handle)  # signs nothing: refused only because its commit could not be sealed
    assert refused.value.name == "PEER_E_NO_KEY_ACCESS"
    assert _head(books.location) == head


def test_the_seal_key_is_the_passphrases_alone() -> None:
    """Two stores' keys differ with their passphrases' derived keys, and a seal made under
    one does not hold under the other."""
    first, second = crypto.store_seal_key(bytes(32)), crypto.store_seal_key(bytes(31) + b"\x01")
    assert first != second and crypto.store_seal(first, b"entry") != crypto.store_seal(second, b"entry")


def test_a_sealed_snapshot_is_opened_from(books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """A snapshot alice's peer writes carries its own seal, and her next open starts from it."""
    monkeypatch.setattr("peerstate.storage.peer_store.snapshot_due", lambda log: True)
    alice = _peer(books.location)
    handle = alice.open_group(books.identity, books.group)
    alice.update_record(handle, books.record, KIND, 0, T0 + timedelta(days=2), data=b"balance: 120")
    log_id = ReplicaLog.create_id(books.identity, books.group)
    assert alice._runtime.store.stored_snapshots(log_id)
    assert _balance(books) == b"balance: 120"


def test_a_store_made_before_seals_is_sealed_once_and_says_so(tmp_path: Path) -> None:
    """alice's v0.1.0 store (a passphrase, no seal): its first open with the passphrase seals
    it as it is and says so; the next says nothing, and notices an edit."""
    fixtures = SETS[0]
    recorded = _recorded(fixtures, "sqlite")
    copied = _sqlite_copy(fixtures, "alice", tmp_path)

    def opened() -> Peer:
        return Peer(open_store(copied), settings=_settings(recorded, "alice", recorded["passphrase"]), clock=lambda: T0)

    assert opened().sealed_on_open
    again = opened()
    assert not again.sealed_on_open
    (identity,) = [pair.peer_name for pair in again.identities() if again.groups(pair.peer_name)]
    (group,) = [group.peer_name for group in again.groups(identity)]
    assert again.group_properties(again.open_group(identity, group)).friendly_name
    with _rows(copied) as rows:
        rows.sql(f"delete from {rows.table} where originator_id = ? and originator_version = ?",
                 ReplicaLog.create_id(identity, group), len(rows.log(ReplicaLog.create_id(identity, group))))
    with pytest.raises(PeerError) as refused:
        edited = opened()
        edited.open_group(identity, group)
    assert refused.value.name == "PEER_E_INVALID_DATABASE"


def test_anothers_store_swapped_in_is_refused(location: Location, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The attack: bob's store put where alice's was (both under one passphrase, the worst
    case: its seal holds). Before, alice's peer served bob's store as hers. An open that
    names her identity (``PeerSettings.identity``, ``--identity``) refuses it; her own opens."""
    alice_at = location
    bob_at = tmp_path / "bob" if isinstance(location, Path) else with_schema(postgres_server(), f"seal_{uuid.uuid4().hex[:16]}")
    names = {}
    for who, at in (("alice", alice_at), ("bob", bob_at)):
        peer = _peer(at)
        names[who] = peer.create_identity(who)
        peer.close()
    swapped = Peer(open_store(bob_at), settings=PeerSettings(passphrase=PASSPHRASE), clock=lambda: T0)
    assert [pair.peer_name for pair in swapped.identities()] == [names["bob"]]  # what nothing noticed
    head = _head(bob_at)
    with pytest.raises(PeerError) as refused:
        Peer(open_store(bob_at), settings=PeerSettings(passphrase=PASSPHRASE, identity=names["alice"]), clock=lambda: T0)
    assert refused.value.name == "PEER_E_IDENTITY_NOT_FOUND"
    assert _head(bob_at) == head
    own = Peer(open_store(alice_at), settings=PeerSettings(passphrase=PASSPHRASE, identity=names["alice"]), clock=lambda: T0)
    assert [pair.peer_name for pair in own.identities()] == [names["alice"]]
    assert cli.main(["identities", "--store", str(bob_at), "--identity", names["alice"]]) == 2
    assert "holds no identity" in capsys.readouterr().err
    assert cli.main(["identities", "--store", str(alice_at), "--identity", names["alice"]]) == 0


def test_a_commit_between_the_opens_reads_is_read_again(books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    """An open takes no lock: another writer may commit between its read of the last ledger
    entry and its reads of the logs' heads, which then disagree with that entry's seal. The
    open reads them again, and does not take the store for an edited one."""
    writer = _peer(books.location)
    handle = writer.open_group(books.identity, books.group)
    reader = open_store(books.location)
    heads_of = reader._heads_of
    written = []

    def commit_first(logs: Any) -> Any:
        if not written:
            written.append(writer.update_record(handle, books.record, KIND, 0, T0 + timedelta(days=2), data=b"balance: 120"))
        return heads_of(logs)

    monkeypatch.setattr(reader, "_heads_of", commit_first)
    key = crypto.store_seal_key(_kek(books))
    assert reader.open_sealed(key, sealed_from_the_start=True) is False and written


def _kek(books: Books) -> bytes:
    """alice's key-encryption key, as her passphrase derives it from her store's salt."""
    protection = open_store(books.location).identity_log().state.protection
    assert protection is not None
    parameters = crypto.KdfParameters(protection.salt, protection.iterations, protection.lanes, protection.memory_cost)
    return crypto.derive_key_encryption_key(PASSPHRASE, parameters)
