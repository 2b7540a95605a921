"""The table of bounds (``peerstate.bounds``) under attack: what a hostile member sends that
no call of the API would write, each refused before it is used or stored.

Four attacks, each as an attacker would send it, through the club of
``test_admission_attacks`` (alice, the administrator; bob and carol, members; mallory, no
one; nina, not yet synchronized):

1. a record at a version no ``DWORD`` holds, which once accepted made the version an
   administrator's delete writes unreadable by any store;
2. texts another peer shows as they are (friendly names, comments, addresses, names)
   holding a newline, terminal escapes or millions of characters;
3. fields far larger than any honest one (an 11 MiB signature in a 15 MiB message);
4. integers: whatever sync's decoder accepts, a store holds and reads back as the same
   bytes, and the versions a replica writes of it too (Hypothesis).

A received envelope meets the bounds twice: sync's decoder refuses the message that holds
it (``wire``, before any of it is a value), and admission's first rule refuses the envelope
(``envelope_within_bounds``), whatever path it came by. Each refusal changes nothing.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import UnionType
from typing import Any, Union
from uuid import UUID

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from peerstate import Peer, PeerError, bounds, sync, wire
from peerstate.audit import verify_store
from peerstate.bounds import MAX_DWORD, MAX_FRAME_BYTES
from peerstate.crypto import credentials
from peerstate.documents import database_files, invitations
from peerstate.domain import rules
from peerstate.domain.group_events import (
    CredentialIssued,
    Envelope,
    EnvelopeAccepted,
    EnvelopeRefused,
    IdentityRetired,
    MembershipPublished,
    PasswordVerifier,
    PeerTimeAdjusted,
    PresencePublished,
    RecordPublished,
    SharedEvent,
)
from peerstate.domain.peer_time import adjusted_offset
from peerstate.domain.records import AUTOREFRESH, RecordVersion, refresh_due
from peerstate.names import ROLE_MEMBER
from peerstate.storage.logs import ReplicaLog
from peerstate.storage.opening import open_store
from peerstate.sync import admission

from test_admission_attacks import (
    DAY,
    MEMBERS_END,
    Attack,
    Club,
    Forge,
    Member,
    _club,
    accepted,
    bob_retired,
    by_carol,
    deliver,
    founding,
    founding_properties,
    issued_by_bob,
    next_envelope,
    properties_changed,
    record,
    refused_as_said,
    the_groups_root,
)
from tests.conftest import T0


@pytest.fixture(scope="module")
def club() -> Iterator[Club]:
    yield _club()


def batch(*envelopes: Envelope) -> bytes:
    """A sync batch carrying ``envelopes``, as a peer sends it."""
    return wire.canonical(sync.Batch(envelopes, (), True))


def refused_by_sync_s_decoder(envelope: Envelope, where: str) -> None:
    """A batch holding ``envelope`` is refused as a whole by sync's decoder, at ``where``
    (its field's place in the message): none of it becomes a value."""
    data = batch(envelope)
    assert len(data) <= MAX_FRAME_BYTES, "a frame of legal size: only the field's bound refuses it"
    with pytest.raises(wire.WireError, match=rf"^\$\.envelopes\[0\]\.{where}: "):
        wire.decode(data, sync.Message, max_bytes=MAX_FRAME_BYTES)  # type: ignore[arg-type]


# 1. A version no DWORD holds -------------------------------------------------------------------


def carols_version(version: int) -> Callable[[Club], SharedEvent]:
    """A new record of carol's at ``version``, modified an hour after it was made."""
    return lambda club: RecordPublished(record(club.carol, version=version, modified=T0 + timedelta(hours=1)))


@pytest.mark.parametrize("version", [MAX_DWORD + 1, 2**63 - 1, -1], ids=["2**32", "2**63-1", "-1"])
def test_a_record_at_a_version_no_dword_holds_is_refused(club: Club, version: int) -> None:
    """``PEER_RECORD.dwVersion`` is a DWORD: a version past it is refused by sync's decoder
    and by admission, and the replica does not change."""
    envelope = by_carol(carols_version(version))(club)
    refused_by_sync_s_decoder(envelope, r"payload\.record\.version")
    refused_as_said(club, Attack(lambda _: envelope, "envelope_within_bounds", "PEER_E_INVALID_RECORD"))


def test_a_record_at_the_last_dword_version_is_kept_and_takes_no_other_version() -> None:
    """A record at ``0xFFFFFFFF`` is legal, and the last version it can have: the
    administrator's delete of carol's, and her update of her own, fail with a clear
    ``PeerError`` and write nothing (before, they wrote a version no peer accepts, and from
    ``2**63 - 1`` one no store reads), and the store stays whole."""
    club = _club()
    carols = by_carol(carols_version(MAX_DWORD))(club)
    alices = next_envelope(club, club.alice, RecordPublished(record(club.alice, version=MAX_DWORD, modified=T0 + timedelta(hours=1))))
    assert deliver(club, "alice", carols) == 1 and deliver(club, "alice", alices) == 1
    alice, store = club.peers["alice"], club.stores["alice"]
    handle = alice.open_group(club.identities["alice"], club.group)
    head = store.head()
    assert isinstance(carols.payload, RecordPublished) and isinstance(alices.payload, RecordPublished)
    attempts: list[Callable[[], None]] = [
        lambda: alice.delete_record(handle, carols.payload.record.id),  # type: ignore[union-attr]
        lambda: alice.update_record(handle, alices.payload.record.id, alices.payload.record.type, 0, T0 + 2 * DAY),  # type: ignore[union-attr]
    ]
    for attempt in attempts:
        with pytest.raises(PeerError) as caught:
            attempt()
        assert (caught.value.rule, caught.value.name) == ("record_version_has_room", "PEER_E_INVALID_RECORD")
        assert str(MAX_DWORD) in caught.value.message
    assert store.head() == head
    assert [alice.get_record(handle, envelope.payload.record.id).record.version for envelope in (carols, alices)] == [MAX_DWORD] * 2  # type: ignore[union-attr]
    assert verify_store(store).findings == ()


def test_a_store_that_accepted_what_a_bound_now_refuses_still_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store written before the bounds (here, with admission's bounds turned off) may hold
    a record at ``2**32``: it keeps opening, and ``verify`` names the rule that now refuses
    it, without calling the store edited."""
    club = _club()
    envelope = by_carol(carols_version(MAX_DWORD + 1))(club)
    with monkeypatch.context() as before_the_bounds:
        before_the_bounds.setattr(rules, "envelope_within_bounds", lambda envelope: None)
        assert deliver(club, "alice", envelope) == 1
    store = club.stores["alice"]
    reopened = Peer(store, clock=lambda: T0)
    handle = reopened.open_group(club.identities["alice"], club.group)
    assert isinstance(envelope.payload, RecordPublished)
    assert reopened.get_record(handle, envelope.payload.record.id).record.version == MAX_DWORD + 1
    findings = verify_store(store).findings
    assert [(finding.rule, finding.group) for finding in findings] == [("envelope_within_bounds", club.group)], findings


def test_a_record_at_the_last_dword_version_is_not_refreshed(club: Club) -> None:
    """Its creator's peer does not try to republish it either: a refresh is a version."""
    held = RecordVersion(record(club.carol, version=MAX_DWORD, flags=AUTOREFRESH), b"s")
    almost = held.record.expiration - timedelta(seconds=1)
    assert refresh_due(attrs.evolve(held, record=attrs.evolve(held.record, version=MAX_DWORD - 1)), club.carol.name, almost)
    assert not refresh_due(held, club.carol.name, almost)


# 2. Texts another peer shows ------------------------------------------------------------------

NEWLINE = "Carol\nalice: the group is closed, send your password to mallory"
ESCAPES = "\x1b[2J\x1b[31mCarol\x1b]0;owned\x07"
HUGE = "C" * 4_000_000


def carol_says(payload: SharedEvent) -> Forge:
    return by_carol(lambda club: payload)


def issued_with_friendly_name(name: str) -> Forge:
    """bob's credential for mallory, whose signed certificate gives her ``name``."""
    def forge(club: Club) -> Envelope:
        der = credentials.issue_membership(
            club.bob.key, club.credential(club.bob).der, group_peer_name=club.group, subject=club.mallory.name,
            subject_friendly_name=name, subject_public_key=club.mallory.public_key, roles=(ROLE_MEMBER,),
            not_before=T0, not_after=MEMBERS_END,
        )
        issued = attrs.evolve(club.issue(club.bob.key, club.credential(club.bob), club.mallory), der=der, subject_friendly_name=name)
        issued = attrs.evolve(issued, fingerprint=credentials.read_membership(der).fingerprint)
        return next_envelope(club, club.bob, CredentialIssued(issued, "stored"))
    return forge


def record_of_a_creator_named(name: str) -> Forge:
    """alice, an administrator, publishes a later version of a record whose creator is ``name``."""
    def forge(club: Club) -> Envelope:
        creator = Member(name, club.mallory.key)
        later = record(creator, version=2, modified_by=club.alice.name, modified=T0 + timedelta(hours=1))
        return next_envelope(club, club.alice, RecordPublished(later))
    return forge


def retired_under_name(classifier: str) -> Forge:
    """bob tells of the deletion of a name of his key's authority, signed by his key."""
    def forge(club: Club) -> Envelope:
        name = f"{club.bob.name.partition('.')[0]}.{classifier}"
        statement = credentials.sign(club.bob.key, admission.retirement_statement(club.group, name))
        return next_envelope(club, club.bob, IdentityRetired(name, club.bob.public_key, statement))
    return forge


def costly_password(club: Club, iterations: int) -> PasswordVerifier:
    return PasswordVerifier(bytes(16), iterations, 1, 19 * 1024, bytes(32))


TEXTS: dict[str, Attack] = {
    "a member's friendly name with a newline": Attack(
        carol_says(MembershipPublished(NEWLINE)), "friendly_name_is_valid", "PEER_E_INVALID_RECORD",
    ),
    "a member's friendly name with terminal escapes": Attack(
        carol_says(MembershipPublished(ESCAPES)), "friendly_name_is_valid", "PEER_E_INVALID_RECORD",
    ),
    "a member's friendly name of 4,000,000 characters": Attack(
        carol_says(MembershipPublished(HUGE)), "envelope_within_bounds", "PEER_E_INVALID_RECORD",
    ),
    "a presence address with a newline": Attack(
        carol_says(PresencePublished("carol\nbob", T0 + DAY)), "text_is_printable", "PEER_E_INVALID_RECORD",
    ),
    "an empty presence address": Attack(
        carol_says(PresencePublished("", T0 + DAY)), "text_is_printable", "PEER_E_INVALID_RECORD",
    ),
    "a presence address of 4,000,000 characters": Attack(
        carol_says(PresencePublished(HUGE, T0 + DAY)), "envelope_within_bounds", "PEER_E_INVALID_RECORD",
    ),
    "a credential whose subject's friendly name holds escapes": Attack(
        issued_with_friendly_name(ESCAPES), "friendly_name_is_valid", "PEER_E_INVALID_RECORD",
    ),
    "the group's friendly name with a newline": Attack(
        properties_changed(lambda club: club.alice, "friendly_name", lambda _: NEWLINE),
        "friendly_name_is_valid", "PEER_E_INVALID_GROUP_PROPERTIES",
    ),
    "the group's comment with escapes": Attack(
        properties_changed(lambda club: club.alice, "comment", lambda _: ESCAPES),
        "friendly_name_is_valid", "PEER_E_INVALID_GROUP_PROPERTIES",
    ),
    "the group's comment of 4,000,000 characters": Attack(
        properties_changed(lambda club: club.alice, "comment", lambda _: HUGE), "envelope_within_bounds", "PEER_E_INVALID_RECORD",
    ),
    "a founding whose cloud is named with a newline": Attack(
        founding(the_groups_root, change=founding_properties(cloud=lambda club: "Global_\nLinkLocal_")),
        "text_is_printable", "PEER_E_INVALID_GROUP_PROPERTIES", "nina",
    ),
    "a founding whose classifier holds a space": Attack(
        founding(the_groups_root, change=founding_properties(classifier=lambda club: "the club")),
        "classifier_is_valid", "PEER_E_INVALID_CLASSIFIER", "nina",
    ),
    "a founding whose password costs an hour to derive": Attack(
        founding(the_groups_root, change=founding_properties(
            authentication_schemes=lambda club: 3, password=lambda club: costly_password(club, 2**31),
            password_role=lambda club: ROLE_MEMBER,
        )),
        "verifier_cost_is_bounded", "PEER_E_INVALID_GROUP_PROPERTIES", "nina",
    ),
    "a record whose creator's name holds a newline": Attack(
        record_of_a_creator_named(f"{'0' * 40}.mallory\nalice"), "peer_name_is_well_formed", "PEER_E_INVALID_PEER_NAME",
    ),
    "a record's attributes of 4,000,000 characters": Attack(
        by_carol(lambda club: RecordPublished(record(club.carol, attributes=HUGE))), "envelope_within_bounds", "PEER_E_INVALID_RECORD",
    ),
    "a deletion told of a name with escapes": Attack(
        retired_under_name("bob\x1b[2J"), "peer_name_is_well_formed", "PEER_E_INVALID_PEER_NAME",
    ),
}


@pytest.mark.parametrize("attack", TEXTS.values(), ids=TEXTS.keys())
def test_a_text_is_checked_as_the_api_checks_it(club: Club, attack: Attack) -> None:
    refused_as_said(club, attack)


HONEST_TEXTS: dict[str, Forge] = {
    "a friendly name of 255 characters, in any script": carol_says(MembershipPublished("Ж" * 254 + "𝄞")),
    "the comment changed to 255 characters": properties_changed(lambda club: club.alice, "comment", lambda _: "c" * 255),
    "a presence address of a simulated machine": carol_says(PresencePublished("carol's laptop", T0 + DAY)),
    "a deletion told of a name of 149 characters": retired_under_name("b" * 149),
}


@pytest.mark.parametrize("forge", HONEST_TEXTS.values(), ids=HONEST_TEXTS.keys())
def test_an_honest_text_at_its_bound_is_admitted(club: Club, forge: Forge) -> None:
    admission.admit(club.state(), forge(club))


# 3. Fields larger than any honest one ---------------------------------------------------------


OVERSIZED: dict[str, tuple[Forge, str]] = {
    "an envelope's signature of 1 MiB": (
        lambda club: attrs.evolve(by_carol(lambda club: MembershipPublished("Carol"))(club), signature=bytes(1024 * 1024)),
        "signature",
    ),
    "an envelope's credential fingerprint of 64 KiB": (
        lambda club: next_envelope(club, club.carol, MembershipPublished("Carol"), credential=bytes(64 * 1024)), "credential",
    ),
    "a credential's certificate of 1 MiB": (
        issued_by_bob(fields=lambda club, issued: attrs.evolve(issued, der=issued.der + bytes(1024 * 1024))), r"payload\.credential\.der",
    ),
    "a deletion told with a key of 64 KiB": (
        bob_retired(public_key=lambda club: bytes(64 * 1024)), r"payload\.public_key",
    ),
    "a record's data past the record size": (
        by_carol(lambda club: RecordPublished(record(club.carol, data=bytes(1024 * 1024 + 1)))), r"payload\.record\.data",
    ),
}


@pytest.mark.parametrize(("forge", "where"), OVERSIZED.values(), ids=OVERSIZED.keys())
def test_a_field_over_its_bound_is_refused_before_it_is_used(club: Club, forge: Forge, where: str) -> None:
    envelope = forge(club)
    refused_by_sync_s_decoder(envelope, where)
    refused_as_said(club, Attack(lambda _: envelope, "envelope_within_bounds", "PEER_E_INVALID_RECORD"))


def test_a_message_of_15_mib_is_refused_before_it_is_parsed(club: Club) -> None:
    """The message of the report: an 11 MiB signature in 15 MiB. Decoding is capped at a
    frame's bound unless a caller names another."""
    envelope = attrs.evolve(by_carol(lambda club: MembershipPublished("C" * 4 * 1024 * 1024))(club), signature=bytes(11 * 1024 * 1024))
    data = batch(envelope)
    assert len(data) > 15 * 1024 * 1024
    with pytest.raises(wire.WireError, match=f"at most {MAX_FRAME_BYTES} are accepted"):
        wire.decode(data, sync.Message)  # type: ignore[arg-type]
    with pytest.raises(wire.WireError, match=r"^\$\.envelopes\[0\]\.payload\.friendly_name: 4194304 characters, not 0 to 255$"):
        wire.decode(data, sync.Message, max_bytes=len(data))  # type: ignore[arg-type]


def test_a_database_file_with_a_field_over_its_bound_is_refused_whole(club: Club) -> None:
    envelope = attrs.evolve(by_carol(lambda club: MembershipPublished("Carol"))(club), signature=bytes(4096))
    snapshot = database_files.DatabaseSnapshot(database_files.FORMAT, club.group, club.alice.name, T0, (envelope,), b"")
    with pytest.raises(PeerError) as caught:
        database_files.decode(database_files.encode(snapshot))
    assert (caught.value.rule, caught.value.name) == ("database_file_decodes", "PEER_E_INVALID_DATABASE")
    assert "$.envelopes[0].signature" in caught.value.message


# 4. Integers, and every field: the table and the stores agree ---------------------------------


def _roots() -> list[Any]:
    """Every type a peer decodes from another's bytes: sync's messages, a database file and an
    invitation's signed statements."""
    return [sync.Message, database_files.DatabaseSnapshot, invitations.SignedStatement, invitations.SignedCredentialStatement]


def _classes(kind: Any, found: dict[type, None] | None = None) -> dict[type, None]:
    """The attrs classes a value of ``kind`` may hold, ``kind``'s own included, in order."""
    found = {} if found is None else found
    if typing.get_origin(kind) in (Union, UnionType, tuple):
        for part in typing.get_args(kind):
            if part is not Ellipsis:
                _classes(part, found)
    elif attrs.has(kind) and kind not in found:
        found[kind] = None
        for _, hint in wire._fields(kind):
            _classes(hint, found)
    return found


def _leaf(hint: Any) -> Any:
    """The scalar type a field holds: ``bytes`` for ``bytes | None``, ``bytes`` for ``tuple[bytes, ...]``."""
    parts = [part for part in typing.get_args(hint) if part not in (type(None), Ellipsis)]
    return _leaf(parts[0]) if len(parts) == 1 else hint


RECEIVED: dict[type, None] = {}
for _root in _roots():
    _classes(_root, RECEIVED)


def test_every_text_bytes_and_number_a_peer_decodes_has_a_bound_and_the_table_names_only_fields() -> None:
    unbounded = [
        f"{kind.__name__}.{name}" for kind in RECEIVED for name, hint in wire._fields(kind)
        if _leaf(hint) in (str, bytes, int) and name not in bounds.FIELDS.get(kind.__name__, {})
    ]
    assert not unbounded, f"fields a peer decodes with no bound in bounds.FIELDS: {unbounded}"
    names = {kind.__name__: {name for name, _ in wire._fields(kind)} for kind in RECEIVED}
    stray = [f"{kind}.{field}" for kind, fields in bounds.FIELDS.items() for field in fields if field not in names.get(kind, ())]
    assert not stray, f"bounds.FIELDS names no field a peer decodes: {stray}"


def test_every_bound_on_a_number_is_one_a_store_reads() -> None:
    """A number within its bound is within the 64 bits a store's rows hold (``wire``'s
    ``INT_RANGE``), so nothing a peer may send can make a row unreadable."""
    for kind in RECEIVED:
        for name, hint in wire._fields(kind):
            if _leaf(hint) is int:
                bound = bounds.FIELDS[kind.__name__][name]
                assert -(2**63) <= bound.least <= bound.most < 2**63, f"{kind.__name__}.{name}: {bound}"


_TEXT = st.one_of(st.text(max_size=3), st.sampled_from(["0.carol", "Carol\n", ""]), st.builds(lambda n: "x" * n, st.integers(0, 600)))
_BYTES = st.one_of(st.binary(max_size=40), st.builds(bytes, st.integers(0, 5000)))
_INT = st.one_of(
    st.sampled_from([0, 1, -1, MAX_DWORD, MAX_DWORD + 1, 2**63 - 1, -(2**63), 2**63, 2**64, 24, 25]), st.integers(),
)


def _values(kind: Any) -> st.SearchStrategy[Any]:
    """Any value of ``kind``, each text, bytes and number drawn from near its bounds and past them."""
    origin = typing.get_origin(kind)
    if origin in (Union, UnionType):
        return st.one_of(*(_values(part) for part in typing.get_args(kind)))
    if origin is tuple:
        return st.lists(_values(typing.get_args(kind)[0]), max_size=3).map(tuple)
    if origin is typing.Literal:
        return st.sampled_from(typing.get_args(kind))
    if attrs.has(kind):
        return st.builds(kind, *(_values(hint) for _, hint in wire._fields(kind)))
    scalars: dict[Any, st.SearchStrategy[Any]] = {
        str: _TEXT, bytes: _BYTES, int: _INT, bool: st.booleans(), type(None): st.none(), UUID: st.uuids(),
        datetime: st.datetimes(timezones=st.just(UTC)),
    }
    return scalars[kind]


def _row_reads_back(event: Any) -> None:
    """``event`` stored as a replica log's row reads back as itself, in the same bytes."""
    mapper = open_store(None)._app.mapper
    recorded = ReplicaLog.Recorded(  # type: ignore[call-arg]
        originator_id=UUID(int=1), originator_version=2, timestamp=T0, payload=event, link=b"",
    )
    stored = mapper.to_stored_event(recorded)
    again = mapper.to_domain_event(stored)
    assert getattr(again, "payload") == event
    assert bytes(mapper.to_stored_event(again).state) == bytes(stored.state)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(_values(Envelope))
def test_an_envelope_sync_decodes_is_one_admission_s_bounds_admit_and_a_store_reads_back(envelope: Envelope) -> None:
    """The decoder and admission hold an envelope to the same table; whatever they admit, a
    store's rows hold and read back as the same bytes, accepted or refused."""
    try:
        tree = orjson.loads(orjson.dumps(wire.plain(envelope)))
        decoded = wire.decode_tree(tree, Envelope, canonical=True)
    except (wire.WireError, orjson.JSONEncodeError, TypeError):
        decoded = None
    try:
        rules.envelope_within_bounds(envelope)
        admitted = True
    except PeerError as refusal:
        assert refusal.rule == "envelope_within_bounds"
        admitted = False
    assert admitted == (decoded is not None), envelope
    if decoded is not None:
        assert decoded == envelope
        _row_reads_back(EnvelopeAccepted(decoded, bytes(32), "local", T0))
        _row_reads_back(EnvelopeRefused(decoded, bytes(32), "mallory", "signature_verifies", "PEER_E_INVALID_RECORD", "no", T0))


@pytest.fixture(scope="module")
def ledger() -> Iterator[Club]:
    """A club whose administrator deletes whatever record carol sends."""
    yield _club()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.one_of(st.sampled_from([MAX_DWORD - 1, MAX_DWORD, MAX_DWORD + 1, 2**63 - 2, 2**63 - 1]), st.integers(2, 2**63 - 1)))
def test_whatever_version_a_record_comes_at_the_store_reads_back_what_its_deletion_writes(ledger: Club, version: int) -> None:
    """carol's record at ``version``, as sync delivers it (decoded from the batch's bytes,
    then judged), then deleted by alice if it was accepted: the store's every row reads back
    and verifies. Before the bounds, ``2**63 - 1`` was accepted and its deletion wrote
    ``2**63``, which no store reads."""
    envelope = by_carol(carols_version(version))(ledger)
    try:
        message: object = wire.decode(batch(envelope), sync.Message)  # type: ignore[arg-type]
    except wire.WireError:
        return
    assert isinstance(message, sync.Batch)
    if deliver(ledger, "alice", message.envelopes[0]) == 1:
        alice = ledger.peers["alice"]
        assert isinstance(envelope.payload, RecordPublished)
        try:
            alice.delete_record(alice.open_group(ledger.identities["alice"], ledger.group), envelope.payload.record.id)
        except PeerError as error:
            assert error.rule == "record_version_has_room"
    assert verify_store(ledger.stores["alice"]).findings == ()
    assert accepted(ledger.events("alice"))


@given(st.datetimes(timezones=st.just(UTC)), st.datetimes(max_value=datetime(9999, 12, 30), timezones=st.just(UTC)), st.booleans())
def test_a_peer_time_any_peer_sends_is_kept_as_an_offset_a_row_reads_back(remote: datetime, asked: datetime, synchronized: bool) -> None:
    """The one number a replica's own events hold that another peer sets: the peer time
    offset, in microseconds between two times of the years 1 to 9999 (under 2**59)."""
    offset = adjusted_offset(timedelta(days=-3), synchronized, remote, asked, asked + timedelta(seconds=1))
    if offset is not None:
        _row_reads_back(PeerTimeAdjusted(offset, "mallory", T0))
