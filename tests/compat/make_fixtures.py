"""Write a set of compatibility fixtures: stores and golden encodings made by the code on
the path, for ``tests/test_compat.py`` to open, verify and replay with the code of later
days. The fixtures are data: the test never runs this.

The set ``v0.1.0-a578c78/`` was made from commit a578c78 (peerstate 0.1.0), checked out
apart from any uncommitted work, against a throwaway PostgreSQL 15 server:

    git worktree add /tmp/compat-base a578c78
    PYTHONPATH=/tmp/compat-base .venv/bin/python tests/compat/make_fixtures.py tests/compat/v0.1.0-a578c78 \\
        --postgres postgresql://postgres@127.0.0.1:PORT/postgres --pg-dump /usr/lib/postgresql/15/bin/pg_dump

It says where the peerstate it imports lives, and refuses one with uncommitted changes.

A later format gets a new set beside the old ones, made the same way from its commit; an
old set is never made again (its keys and signatures are random, so it could not be).

Five machines, on one simulated clock, drive a password group "club" through the public
``Peer`` calls and the in-memory network's sync:

- alice (a passphrase: her keys and the group's root key sealed) creates the group with
  password authentication, invites bob as an inviting member, renames the group, adds and
  deletes records, exports an identity, turns erin's wrong password away (``JoinRefused``),
  refuses an envelope altered on its way (``EnvelopeRefused``), and opens and closes the
  group until her replica log passes the snapshot policy's 500 events (a snapshot, then
  events after it);
- the credential chain alice -> bob -> carol (inviting members) -> dave (member), later
  renewed for dave by carol in the log, and a credential returned to bob that he takes up;
- bob imports alice's exported identity and deletes it (``IdentityRetired`` in the group),
  and renames himself; carol has a default identity, and a second group she deletes;
  dave's join of that group stays pending; dave's machine clock runs 90 s ahead, so his
  replica adjusts its peer time;
- erin (a passphrase: her password ticket sealed) joins by password, wrong first.

It writes, under the set's directory: ``sqlite/<machine>/peer.sqlite3``; ``sqlite.json``,
what those stores derive to (``derived.py``) and what a ``Peer`` over each shows; with
``--postgres``, the same machines driven again into schemas ``compat_fixture_<machine>``,
dumped by ``pg_dump`` as ``postgres.sql`` (plain SQL, INSERTs, no owner, no privileges),
and ``postgres.json``; ``golden/<Type>.json``, the canonical encoding of a real value of
every type ``derived.wire_types`` lists (from the SQLite stores, their replicas' states and
the sync conversations), with ``golden/index.json`` naming each one's plain fields; and
``SHA256SUMS`` over all of them, which the test checks so that no one edits a fixture.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import attrs

import peerstate
from peerstate import (
    CredentialRequest, Peer, PeerGroupIssueCredentialFlags, PeerRecordFlags, PeerSettings, crypto, names, network, open_store, sync, wire,
)
from peerstate.audit import verify_store
from peerstate.domain.group_events import Envelope, MembershipPublished
from peerstate.domain.replica import evolve_replica, new_replica
from peerstate.locations import SQLITE_FILE, child, with_schema
from peerstate.store import CommitLedger, postgres_stores

from derived import POSTGRES_SCHEMA, derived_state, identity_events, peer_view, wire_types

START: Final = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
"""Where the simulated clock starts; it moves only when the script moves it."""
PASSPHRASE: Final = "compat fixture passphrase"
"""The passphrase of alice's and erin's stores: a fixture's, written here in the clear."""
GROUP_PASSWORD: Final = "compat-fixture-password"
WRONG_PASSWORD: Final = "not-the-group-password"
RECORD_TYPE: Final = UUID("5d1c0a3e-6b7f-4c2d-9e8a-0f1b2c3d4e5f")
ATTRIBUTES: Final = '<attributes><attribute name="topic" type="string">openings</attribute></attributes>'
MACHINES: Final = ("alice", "bob", "carol", "dave", "erin")
PASSPHRASES: Final = {"alice": PASSPHRASE, "erin": PASSPHRASE}
CLOCK_OFFSETS: Final = {"dave": timedelta(seconds=90)}
SNAPSHOT_PAST: Final = 520
"""Alice's replica log grows to this many events: past the policy's 500, so that a
snapshot is stored and events follow it."""


class Clock:
    """The machines' shared simulated clock."""

    def __init__(self) -> None:
        self.now = START

    def read(self) -> datetime:
        return self.now

    def advance(self, seconds: int = 60) -> None:
        self.now += timedelta(seconds=seconds)


def settings(machine: str) -> PeerSettings:
    """A machine's settings; its address is its name, as in a scenario."""
    return PeerSettings(
        passphrase=PASSPHRASES.get(machine), address=machine, clock_offset=CLOCK_OFFSETS.get(machine, timedelta(0)),
    )


@attrs.define
class Run:
    """What one drive of the machines leaves: where its stores are, when it ended, and
    every sync message it recorded."""

    locations: dict[str, Path | str]
    ended: datetime
    messages: list[bytes]


def meet(connector: Peer, connector_key: tuple[str, str], listener: Peer, listener_key: tuple[str, str], messages: list[bytes]) -> str:
    """One sync conversation, as the network holds it, with every message kept."""
    return sync.exchange(
        sync.Connector(connector, connector_key, network.node(listener, listener_key)),
        sync.Listener(listener, listener_key, network.node(connector, connector_key)),
        transcript=messages,
    )


def drive(root: Path | str) -> Run:
    """Drive the five machines, each on a store under ``root`` (the story in the module's
    docstring)."""
    clock = Clock()
    locations = {machine: child(root, machine) for machine in MACHINES}
    stores = {machine: open_store(location) for machine, location in locations.items()}
    alice, bob, carol, dave, erin = (
        Peer(stores[machine], settings=settings(machine), clock=clock.read) for machine in MACHINES
    )
    everyone = {"alice": alice, "bob": bob, "carol": carol, "dave": dave, "erin": erin}
    messages: list[bytes] = []

    def synchronize() -> None:
        clock.advance()
        network.synchronize(everyone)

    a = alice.create_identity("alice", "Alice")
    courier = alice.create_identity("courier", "Courier")
    b = bob.create_identity("bob", "Bob")
    c = carol.create_identity("carol", "Carol")
    carol.default_identity()
    d = dave.create_identity("dave", "Dave")
    e = erin.create_identity("erin", "Erin")
    clock.advance()

    ga = alice.create_group(
        a, "club", friendly_name="Chess club", comment="compatibility fixture",
        authentication_schemes=peerstate.PeerGroupAuthenticationScheme.PEER_GROUP_PASSWORD_AUTHENTICATION,
        password=GROUP_PASSWORD, password_role="PEER_GROUP_ROLE_MEMBER",
    )
    club = alice.group_properties(ga).group_peer_name
    alice.connect(ga)
    clock.advance()

    invitation = alice.create_invitation(ga, bob.identity_xml(b), roles=["PEER_GROUP_ROLE_INVITING_MEMBER"])
    gb = bob.join(b, invitation)
    bob.connect(gb)
    clock.advance()
    meet(bob, (b, club), alice, (a, club), messages)  # a credential joiner's first sync: a Hello with a chain
    synchronize()

    invitation = bob.create_invitation(gb, carol.identity_xml(c), roles=["PEER_GROUP_ROLE_INVITING_MEMBER"])
    gc = carol.join(c, invitation)
    carol.connect(gc)
    synchronize()
    invitation = carol.create_invitation(gc, dave.identity_xml(d), roles=["PEER_GROUP_ROLE_MEMBER"])
    gd = dave.join(d, invitation)
    dave.connect(gd)
    synchronize()

    offer = alice.create_password_invitation(ga)
    wrong = erin.password_join(e, offer, WRONG_PASSWORD)
    erin.connect(wrong.handle)
    clock.advance()
    meet(erin, (e, club), alice, (a, club), messages)  # turned away: a Refusal, and JoinRefused at alice's
    clock.advance()
    ge = erin.password_join(e, offer, GROUP_PASSWORD).handle
    erin.connect(ge)
    meet(erin, (e, club), alice, (a, club), messages)  # a password proof, and the group data
    synchronize()

    expires = START + timedelta(days=30)
    alice.add_record(ga, RECORD_TYPE, expires, attributes=ATTRIBUTES, data=b"1. e4 e5")
    bob.add_record(gb, RECORD_TYPE, expires, data=b"kept fresh", flags=PeerRecordFlags.PEER_RECORD_FLAG_AUTOREFRESH)
    dropped = bob.add_record(gb, RECORD_TYPE, expires, data=b"dropped by its creator")
    updated = dave.add_record(gd, RECORD_TYPE, expires, attributes=ATTRIBUTES, data=b"2. Nf3")
    removed = erin.add_record(ge, RECORD_TYPE, expires, data=b"dropped by an administrator")
    synchronize()
    dave.update_record(gd, updated, RECORD_TYPE, 0, expires + timedelta(days=10), attributes=ATTRIBUTES, data=b"2. Nf3 Nc6")
    bob.delete_record(gb, dropped)
    alice.delete_record(ga, removed)
    alice.set_group_properties(ga, friendly_name="Chess club (fixtures)", comment="renamed by its creator")
    synchronize()

    carol.issue_credentials(gc, d, None, PeerGroupIssueCredentialFlags.PEER_GROUP_STORE_CREDENTIALS)
    returned = alice.issue_credentials(ga, b, CredentialRequest(
        public_key=_public_key(bob, b), roles=(names.ROLE_INVITING_MEMBER, names.ROLE_MEMBER),
        valid_until=START + timedelta(days=200),
    ))
    bob.join(b, returned)
    synchronize()

    bob.import_identity(alice.export_identity(courier, "a fixture export password"), "a fixture export password")
    bob.delete_identity(courier)
    bob.set_friendly_name(b, "Bob B.")
    scratch = carol.create_group(c, "scratch", friendly_name="Scratch")
    dave.join(d, carol.create_invitation(scratch, dave.identity_xml(d)))
    carol.delete_group(c, carol.group_properties(scratch).group_peer_name)
    synchronize()

    _refuse_an_altered_envelope(alice, (a, club), b)
    alice.close_group(ga)
    while stores["alice"].replica_log(a, club).version < SNAPSHOT_PAST:
        clock.advance(1)
        handle = alice.open_group(a, club)
        alice.connect(handle)
        alice.close_group(handle)
    ga = alice.open_group(a, club)
    alice.connect(ga)
    alice.add_record(ga, RECORD_TYPE, expires, data=b"after the snapshot")
    synchronize()
    for store in stores.values():
        store.close()
    return Run(locations, clock.now, messages)


def _public_key(peer: Peer, identity: str) -> bytes:
    """An identity's public key (DER), from its IDC as the peer shows it to others."""
    return crypto.read_identity_certificate(peer.sync_card(identity)).public_key


def _refuse_an_altered_envelope(peer: Peer, key: tuple[str, str], author: str) -> None:
    """Hand the replica, as a sync batch from ``author`` would, the envelope that would
    come next in ``author``'s chain with its last signature, its payload altered on the
    way: the replica refuses it and keeps the refusal."""
    log = peer.sync_replica(key)
    head = log.state.group.heads[author]
    last: Envelope = next(envelope for envelope in reversed(log.accepted or []) if envelope.author == author)
    forged = attrs.evolve(last, seq=head.seq + 1, prev=head.last, payload=MembershipPublished("Mallory"))
    assert peer.sync_receive(key, [forged], author) == 0


def record_state(run: Run) -> dict[str, Any]:
    """What each store of ``run`` derives to, and what a ``Peer`` over it shows, at the
    run's end."""
    stores: dict[str, Any] = {}
    for machine, location in run.locations.items():
        store = open_store(location)
        assert verify_store(store).holds, f"{machine}'s store does not verify as it was written"
        peer = Peer(store, settings=attrs.evolve(settings(machine), passphrase=None), clock=lambda: run.ended)
        stores[machine] = {
            "passphrase": machine in PASSPHRASES,
            "clock_offset": CLOCK_OFFSETS.get(machine, timedelta(0)) // timedelta(microseconds=1),
            "derived": derived_state(store, run.ended),
            "peer": peer_view(peer),
        }
        store.close()
    return {
        "made_by": f"tests/compat/make_fixtures.py, peerstate {peerstate.__version__} at {source_commit()}",
        "clock": wire.plain(run.ended),
        "passphrase": PASSPHRASE,
        "record_type": str(RECORD_TYPE),
        "stores": stores,
    }


def source_commit() -> str:
    """The commit the imported peerstate was checked out at, refusing a tree with changes
    under ``peerstate/``: fixtures are made from landed code only."""
    tree = Path(peerstate.__file__).resolve().parents[1]
    changed = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "peerstate"], capture_output=True, text=True, check=True).stdout
    if changed:
        raise SystemExit(f"{tree} has uncommitted changes under peerstate/:\n{changed}")
    return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


def values_in(value: Any) -> Iterator[Any]:
    """``value`` and every attrs value inside it."""
    if attrs.has(type(value)):
        yield value
        for field in attrs.fields(type(value)):
            yield from values_in(getattr(value, field.name))
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from values_in(item)


def found_values(run: Run) -> Iterator[Any]:
    """Every attrs value the run's stores hold, in events, states and the ledger, and in
    its sync messages."""
    for location in run.locations.values():
        store = open_store(location)
        yield from values_in(identity_events(store))
        yield from values_in(store.stored_log(CommitLedger.ID)[-1].payload)
        for identity, group in store.replica_keys():
            events = store.replica_events(identity, group)
            yield from values_in(events)
            state = new_replica(group)
            for event in events:  # the states on the way: a Guesses with a count
                state = evolve_replica(state, event)
                yield from values_in([*state.group.members.values(), *state.group.heads.values(), *state.group.records.values()])
                yield from values_in([*state.wrong_passwords.values(), state.wrong_passwords_in_group])
        store.close()
    for message in run.messages:
        yield from values_in(wire.decode(message, sync.Message))  # type: ignore[arg-type]  # a union is a type here


def richness(value: Any) -> tuple[int, int]:
    """How well a value shows its type: more kinds of fields set, in it and in the values
    inside it (a group with a password over one without), then fewer bytes."""
    filled = {
        (type(inner), field.name) for inner in values_in(value) for field in attrs.fields(type(inner))
        if getattr(inner, field.name) not in (None, b"", (), "", 0, False)
    }
    return len(filled), -len(wire.canonical(value))


def golden_values(run: Run) -> dict[str, Any]:
    """For every wire type, its best-shown real value from ``run``."""
    wanted = wire_types()
    best: dict[str, Any] = {}
    for value in found_values(run):
        name = type(value).__name__
        if wanted.get(name) is type(value) and (name not in best or richness(value) > richness(best[name])):
            best[name] = copy.deepcopy(value)
    missing = sorted(set(wanted) - set(best))
    if missing:
        raise SystemExit(f"no value of {missing} arose: drive them")
    return best


def plain_fields(value: Any) -> dict[str, Any]:
    """A value's fields that are not containers, as the canonical encoding writes them:
    what the test checks on the decoded value."""
    tree = wire.plain(value)
    return {name: tree[name] for field in attrs.fields(type(value)) if not isinstance(tree[name := field.name], (dict, list))}


def write_golden(directory: Path, values: dict[str, Any]) -> None:
    """Each value's canonical bytes in a file named after its type, and the index."""
    directory.mkdir(parents=True)
    for name, value in values.items():
        (directory / f"{name}.json").write_bytes(wire.canonical(value))
    index = {name: plain_fields(value) for name, value in values.items()}
    (directory / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


def keep_sqlite(run: Run, directory: Path) -> None:
    """Copy each store's SQLite file, its write-ahead log folded in (the connections are
    closed), and nothing else: no lock file, no -wal or -shm."""
    for machine, location in run.locations.items():
        source = Path(location) / SQLITE_FILE
        with contextlib.closing(sqlite3.connect(source)) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target = directory / machine / SQLITE_FILE
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)


def dump_postgres(url: str, pg_dump: str, target: Path) -> None:
    """``pg_dump`` of the fixture's schemas: plain SQL with INSERTs, no owner, no privileges."""
    subprocess.run(
        [pg_dump, "--dbname", url, "--schema", f"{POSTGRES_SCHEMA}_*", "--inserts", "--no-owner", "--no-privileges", "--file", str(target)],
        check=True,
    )


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def write_sums(directory: Path) -> None:
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.relative_to(directory).as_posix()}"
        for path in sorted(directory.rglob("*")) if path.is_file() and path.name != "SHA256SUMS"
    ]
    (directory / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def main(arguments: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path, help="the new fixture set's directory (must not exist)")
    parser.add_argument("--postgres", help="a PostgreSQL server's URL (postgresql://user@host:port/database)")
    parser.add_argument("--pg-dump", default="pg_dump", help="the pg_dump of that server's version")
    parser.add_argument("--work", type=Path, default=Path("/tmp/compat-fixture-work"), help="where the stores are written first")
    options = parser.parse_args(arguments)
    print(f"peerstate from {Path(peerstate.__file__).parent} at {source_commit()}")
    if options.directory.exists():
        raise SystemExit(f"{options.directory} exists: a fixture set is made once")
    if options.postgres and postgres_stores(with_schema(options.postgres, POSTGRES_SCHEMA)):
        raise SystemExit(f"the server already holds {POSTGRES_SCHEMA} schemas: give a fresh server")
    shutil.rmtree(options.work, ignore_errors=True)
    run = drive(options.work)
    options.directory.mkdir(parents=True)
    keep_sqlite(run, options.directory / "sqlite")
    write_json(options.directory / "sqlite.json", record_state(run))
    write_golden(options.directory / "golden", golden_values(run))
    if options.postgres:
        postgres = drive(with_schema(options.postgres, POSTGRES_SCHEMA))
        write_json(options.directory / "postgres.json", record_state(postgres))
        dump_postgres(options.postgres, options.pg_dump, options.directory / "postgres.sql")
    write_sums(options.directory)


if __name__ == "__main__":
    main(sys.argv[1:])
