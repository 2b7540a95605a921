"""The tamper corpus: named mutations of a valid store, each of which ``peerstate verify`` must
report, and the forged envelopes among them a peer must refuse at sync.

The stores come from replaying ``scenarios/records/ready-and-roles.json`` on disk (alice
the administrator, bob and carol members). A mutation edits the SQLite rows of one store
as someone with the file would: a bit here or there, rows dropped, doubled or swapped, or
an envelope forged and re-signed. The strongest forger also recomputes the log's hash
chain after its edit ("relinked"), since the chain is a hash, not a signature: those
forgeries must still fail the envelope rules.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerstate import Peer, admission, audit, credentials, crypto, open_store
from peerstate.domain.group_events import (
    CredentialIssued,
    CredentialTaken,
    Envelope,
    EnvelopeAccepted,
    MembershipPublished,
    RecordPublished,
    ReplicaConnected,
)
from peerstate.domain.events import IdentityCreated
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.names import ROLE_ADMIN
from peerstate.scenario import load_scenario, replay
from peerstate.locations import SQLITE_FILE
from peerstate.store import CommitLedger, IdentityLog, PeerStore, ReplicaLog, chain_link, chain_start

from tests.conftest import T0

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "records" / "ready-and-roles.json"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    assert all(result.passed for result in replay(load_scenario(SCENARIO), store_root=root))
    return root


@contextmanager
def _opened(path: Path) -> Iterator[PeerStore]:
    store = open_store(path)
    try:
        yield store
    finally:
        store.close()


class Rows:
    """One store's rows, edited as a forger with the file would, through the store's own
    encoding so that what changes is only what the mutation says."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def log(self, originator: Any) -> list[Any]:
        with _opened(self.path) as store:
            return store.stored_log(originator)

    def write(self, events: list[Any]) -> None:
        with _opened(self.path) as store:
            stored = [store._app.mapper.to_stored_event(event) for event in events]
        with sqlite3.connect(self.path / SQLITE_FILE) as db:
            for row in stored:
                db.execute(
                    "update stored_events set state = ? where originator_id = ? and originator_version = ?",
                    (row.state, str(row.originator_id).replace("-", ""), row.originator_version),
                )

    def replace(self, originator: Any, version: int, change: Callable[[Any], Any], *, relink: bool) -> None:
        """Replace the event at ``version`` by ``change(event)``; with ``relink``, recompute
        the hash chain from there on, as a forger who knows the scheme would."""
        events = self.log(originator)
        events[version - 1] = change(events[version - 1])
        if relink:
            previous = events[version - 2].link if version > 2 else chain_start(originator, events[0].timestamp)
            for index in range(version - 1, len(events)):
                event = events[index]
                link = chain_link(previous, event.originator_version, event.timestamp, event.payload)
                events[index] = dataclasses.replace(event, link=link)
                previous = link
        self.write(events[version - 1:])

    def sql(self, statement: str, *parameters: Any) -> None:
        with sqlite3.connect(self.path / SQLITE_FILE) as db:
            db.execute(statement, parameters)


def _replica(rows: Rows) -> Any:
    with _opened(rows.path) as store:
        return ReplicaLog.create_id(*store.replica_keys()[0])


def _where(rows: Rows, wanted: Callable[[Any], bool]) -> int:
    """The version of the first replica-log event whose payload ``wanted`` picks."""
    version: int = next(event.originator_version for event in rows.log(_replica(rows)) if wanted(getattr(event, "payload", None)))
    return version


def _accepted(kind: type, author_suffix: str = "") -> Callable[[Any], bool]:
    return lambda payload: (
        isinstance(payload, EnvelopeAccepted) and isinstance(payload.envelope.payload, kind)
        and payload.envelope.author.endswith(author_suffix)
    )


def _edit_envelope(change: Callable[[Envelope], Envelope]) -> Callable[[Any], Any]:
    def edit(event: Any) -> Any:
        accepted = event.payload
        return dataclasses.replace(event, payload=attrs.evolve(accepted, envelope=change(accepted.envelope)))
    return edit


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def _signed_by(key: crypto.PrivateKey, envelope: Envelope) -> Envelope:
    unsigned = attrs.evolve(envelope, signature=b"")
    return attrs.evolve(unsigned, signature=credentials.sign(key, admission.signed_part(unsigned)))


def _key_of(peer_path: Path) -> crypto.PrivateKey:
    """The private key of the one identity a scenario peer's store holds (no passphrase)."""
    with _opened(peer_path) as store:
        peer = Peer(store, clock=lambda: T0)
        record = next(iter(peer._log.state.identities.values()))
        return peer._identity_key(record)


# The mutations -----------------------------------------------------------------------------


def signature_bit(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    rows.replace(_replica(rows), version, _edit_envelope(lambda e: attrs.evolve(e, signature=_flip(e.signature))), relink=False)


def payload_bit(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    change = _edit_envelope(lambda e: attrs.evolve(e, payload=RecordPublished(attrs.evolve(e.payload.record, data=_flip(e.payload.record.data or b"\x00")))))  # type: ignore[union-attr]
    rows.replace(_replica(rows), version, change, relink=False)


def previous_hash_bit(rows: Rows) -> None:
    version = _where(rows, lambda p: isinstance(p, EnvelopeAccepted) and p.envelope.seq > 1)
    rows.replace(_replica(rows), version, _edit_envelope(lambda e: attrs.evolve(e, prev=_flip(e.prev))), relink=False)


def own_event_time(rows: Rows) -> None:
    version = _where(rows, lambda p: isinstance(p, ReplicaConnected))
    rows.replace(_replica(rows), version, lambda e: dataclasses.replace(e, payload=attrs.evolve(e.payload, at=e.payload.at + timedelta(seconds=1))), relink=False)


def identity_renamed(rows: Rows) -> None:
    originator = IdentityLog.create_id("identities")
    version = next(e.originator_version for e in rows.log(originator) if isinstance(getattr(e, "payload", None), IdentityCreated))
    rows.replace(originator, version, lambda e: dataclasses.replace(e, payload=attrs.evolve(e.payload, friendly_name="Mallory")), relink=False)


def row_timestamp(rows: Rows) -> None:
    version = _where(rows, lambda p: isinstance(p, ReplicaConnected))
    rows.replace(_replica(rows), version, lambda e: dataclasses.replace(e, timestamp=e.timestamp + timedelta(seconds=1)), relink=False)


def dropped(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    rows.sql("delete from stored_events where originator_id = ? and originator_version = ?", _replica(rows).hex, version)


def duplicated(rows: Rows) -> None:
    originator = _replica(rows)
    events = rows.log(originator)
    version = _where(rows, _accepted(RecordPublished))
    rows.sql(
        "insert into stored_events select originator_id, ?, topic, state from stored_events where originator_id = ? and originator_version = ?",
        len(events) + 1, originator.hex, version,
    )


def swapped(rows: Rows) -> None:
    originator = _replica(rows)
    first = _where(rows, _accepted(RecordPublished))
    rows.sql(
        "update stored_events set state = case originator_version when ? then (select state from stored_events where originator_id = ? and originator_version = ?) "
        "else (select state from stored_events where originator_id = ? and originator_version = ?) end "
        "where originator_id = ? and originator_version in (?, ?)",
        first, originator.hex, first + 1, originator.hex, first, originator.hex, first, first + 1,
    )


def cut_short(rows: Rows) -> None:
    version = _where(rows, _accepted(RecordPublished))
    rows.sql("update stored_events set state = substr(state, 1, length(state) - 9) where originator_id = ? and originator_version = ?", _replica(rows).hex, version)


def last_rows_deleted(rows: Rows) -> None:
    last = len(rows.log(_replica(rows)))
    rows.sql("delete from stored_events where originator_id = ? and originator_version > ?", _replica(rows).hex, last - 2)


def identity_log_tail_deleted(rows: Rows) -> None:
    originator = IdentityLog.create_id("identities")
    rows.sql("delete from stored_events where originator_id = ? and originator_version = ?", originator.hex, len(rows.log(originator)))


def ledger_entry_edited(rows: Rows) -> None:
    entries = rows.log(CommitLedger.ID)
    rows.write([dataclasses.replace(entries[len(entries) // 2], payload=entries[len(entries) // 2].payload[:-1] or entries[0].payload)])


def resigned_by_a_stranger(rows: Rows) -> None:
    stranger = crypto.generate_identity_key()
    version = _where(rows, _accepted(RecordPublished))
    rows.replace(_replica(rows), version, _edit_envelope(lambda e: _signed_by(stranger, attrs.evolve(e, payload=RecordPublished(attrs.evolve(e.payload.record, data=b"forged"))))), relink=True)  # type: ignore[union-attr]


def member_makes_an_administrator(rows: Rows) -> None:
    """bob, a member, turns his membership publication into an administrator's credential
    for himself, signed with his own key."""
    bob_key = _key_of(rows.path.parent / "bob")
    originator = _replica(rows)
    version = _where(rows, _accepted(MembershipPublished, ".bob"))
    group = _group_at(rows, version)

    def forge(envelope: Envelope) -> Envelope:
        own = group.credentials[envelope.credential]
        der = credentials.issue_membership(
            bob_key, own.der, group_peer_name=envelope.group, subject=own.subject,
            subject_friendly_name=own.subject_friendly_name, subject_public_key=own.public_key, roles=[ROLE_ADMIN],
            not_before=own.not_before, not_after=own.not_after,
        )
        parsed = credentials.read_membership(der)
        issued = attrs.evolve(own, fingerprint=parsed.fingerprint, der=der, roles=(ROLE_ADMIN,), issuer=own.fingerprint, chain_length=own.chain_length + 1)
        return _signed_by(bob_key, attrs.evolve(envelope, payload=CredentialIssued(issued, "stored")))

    rows.replace(originator, version, _edit_envelope(forge), relink=True)


def gmc_link_replaced(rows: Rows) -> None:
    """bob's taking-up of his credential presents carol's GMC in place of his own, re-signed by bob."""
    bob_key = _key_of(rows.path.parent / "bob")
    version = _where(rows, _accepted(CredentialTaken, ".bob"))
    carols = next(
        e.payload.envelope.payload.chain[-1] for e in rows.log(_replica(rows))
        if _accepted(CredentialTaken, ".carol")(getattr(e, "payload", None))
    )

    def forge(envelope: Envelope) -> Envelope:
        chain = envelope.payload.chain  # type: ignore[union-attr]
        leaf = attrs.evolve(chain[-1], der=carols.der)
        return _signed_by(bob_key, attrs.evolve(envelope, payload=CredentialTaken((*chain[:-1], leaf))))

    rows.replace(_replica(rows), version, _edit_envelope(forge), relink=True)


def _group_at(rows: Rows, version: int) -> GroupState:
    """The group as alice's replica held it just before the event at ``version``."""
    events = rows.log(_replica(rows))
    with _opened(rows.path) as store:
        _, group_name = store.replica_keys()[0]
    group = GroupState(group_name)
    for event in events[1:version - 1]:
        if isinstance(event.payload, EnvelopeAccepted):
            group = apply_envelope(group, event.payload.envelope, event.payload.id)
    return group


MUTATIONS: dict[str, tuple[Callable[[Rows], None], set[str]]] = {
    "a signature bit flipped": (signature_bit, {"chain_holds", "signature_verifies"}),
    "a payload bit flipped": (payload_bit, {"chain_holds", "signature_verifies"}),
    "a previous-hash bit flipped": (previous_hash_bit, {"chain_holds", "author_chain_continues"}),
    "a replica's own event edited": (own_event_time, {"chain_holds"}),
    "an identity renamed in the identity log": (identity_renamed, {"chain_holds"}),
    "a row's timestamp edited": (row_timestamp, {"chain_holds"}),
    "an event dropped": (dropped, {"log_is_contiguous", "chain_holds"}),
    "an event duplicated": (duplicated, {"chain_holds"}),
    "two events swapped": (swapped, {"chain_holds"}),
    "a row cut short": (cut_short, {"row_decodes"}),
    "a log's last rows deleted": (last_rows_deleted, {"ledger_matches"}),
    "the identity log's last row deleted": (identity_log_tail_deleted, {"ledger_matches"}),
    "a ledger entry edited": (ledger_entry_edited, {"chain_holds"}),
    "re-signed by a non-member, chain relinked": (resigned_by_a_stranger, {"signature_verifies"}),
    "a member's key for an administrator's act, chain relinked": (member_makes_an_administrator, {"may_grant_roles"}),
    "a GMC link replaced, chain relinked": (gmc_link_replaced, {"credential_matches_certificate"}),
}


@pytest.mark.parametrize("mutation", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_verify_reports_every_mutation(pristine: Path, tmp_path: Path, mutation: tuple[Callable[[Rows], None], set[str]]) -> None:
    mutate, rules = mutation
    shutil.copytree(pristine, tmp_path / "stores")
    alice = tmp_path / "stores" / "alice"
    with _opened(alice) as store:
        assert audit.verify_store(store).holds
    mutate(Rows(alice))
    with _opened(alice) as store:
        found = {finding.rule for finding in audit.verify_store(store).findings}
    assert found & rules, found


FORGERIES = {name: MUTATIONS[name] for name in MUTATIONS if "relinked" in name}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_envelope_is_refused_by_the_admission_sync_uses(
    pristine: Path, tmp_path: Path, forgery: tuple[Callable[[Rows], None], set[str]],
) -> None:
    """Offered by sync to a replica that holds everything before it, the forged envelope is
    refused by the rule the mutation breaks, not merely as a second envelope of its number."""
    forge, rules = forgery
    shutil.copytree(pristine, tmp_path / "stores")
    rows = Rows(tmp_path / "stores" / "alice")
    before = rows.log(_replica(rows))
    forge(rows)
    after = rows.log(_replica(rows))
    changed = [
        (index, event.payload.envelope) for index, (event, original) in enumerate(zip(after, before))
        if isinstance(getattr(event, "payload", None), EnvelopeAccepted) and event.payload != original.payload
    ]
    assert len(changed) == 1
    index, forged = changed[0]
    with pytest.raises(admission.Refused) as caught:
        admission.admit(_group_at(rows, index + 1), forged)
    assert caught.value.rule in rules


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0), st.integers(min_value=0), st.integers(1, 255), st.sampled_from(["state", "topic", "originator_id"]))
def test_any_single_altered_byte_of_any_row_is_reported(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, row: int, offset: int, mask: int, column: str,
) -> None:
    stores = tmp_path_factory.mktemp("altered")
    shutil.copytree(pristine / "bob", stores / "bob")
    database = stores / "bob" / SQLITE_FILE
    with sqlite3.connect(database) as db:
        rows = db.execute(f"select rowid, {column} from stored_events order by rowid").fetchall()
        rowid, value = rows[row % len(rows)]
        data = bytearray(value if isinstance(value, bytes) else value.encode())
        data[offset % len(data)] ^= mask
        altered: bytes | str = bytes(data) if isinstance(value, bytes) else bytes(data).decode("latin-1")
        db.execute(f"update stored_events set {column} = ? where rowid = ?", (altered, rowid))
    with _opened(stores / "bob") as store:
        assert not audit.verify_store(store).holds
