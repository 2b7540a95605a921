"""The group database: the precedence of record versions, what a replica shows, the
publication rules a received record meets, peer time, the database file, and (Hypothesis)
that any interleaving of record calls and syncs over three peers converges.

alice creates the club and is its administrator; bob and carol are members, each on a
machine of their own, all three synchronized.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from uuid import UUID

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerstate.calls import envelopes
from peerstate.peer import sync_port
from peerstate.sync.port import Neighbor
from peerstate import Peer, PeerError, PeerSettings, crypto, network, open_store, views
from peerstate.sync import admission, batches
from peerstate.crypto import credentials
from peerstate.documents import database_files
from peerstate.constants import PeerGroupEventType, PeerRecordChangeType
from peerstate.domain.group_events import CredentialIssued, Envelope, EnvelopeRefused, Record, RecordPublished
from peerstate.domain.records import (
    DELETED,
    RecordVersion,
    creator_tag,
    in_change_order,
    LiveRecords,
    precedence,
    record_changes,
    shown_versions,
    refresh_due,
    refreshed_expiration,
    winner,
)
from peerstate.names import ROLE_MEMBER
from peerstate.calls.sessions import Interest
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

KIND = UUID("11111111-2222-3333-4444-555555555555")
IDENTITY_KEYS = [crypto.generate_identity_key() for _ in range(3)]
"""Made once: a new RSA key per identity per example would make the property test slow."""


class Clock:
    """One simulated clock for every machine of a club."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@attrs.define
class Club:
    peers: dict[str, Peer]
    stores: dict[str, PeerStore]
    names: dict[str, str]
    handles: dict[str, str]
    group: str
    clock: Clock

    def key(self, who: str) -> tuple[str, str]:
        return (self.names[who], self.group)

    def digest(self, who: str) -> str:
        return views.group_digest(sync_port(self.peers[who]).sync_replica(self.key(who)).state.group)

    def sync(self, *who: str) -> None:
        network.synchronize({name: self.peers[name] for name in (who or self.peers)})


def _club(offsets: dict[str, timedelta] | None = None) -> Club:
    clock = Clock()
    stores = {who: open_store(None) for who in ("alice", "bob", "carol")}
    peers = {
        who: Peer(store, clock=clock, settings=PeerSettings(address=who, clock_offset=(offsets or {}).get(who, timedelta(0))))
        for who, store in stores.items()
    }
    names = {who: peers[who].create_identity(who, who.title(), key=IDENTITY_KEYS[index]) for index, who in enumerate(peers)}
    handles = {"alice": peers["alice"].create_group(names["alice"], "club")}
    peers["alice"].connect(handles["alice"])
    group = peers["alice"].group_properties(handles["alice"]).group_peer_name
    for who in ("bob", "carol"):
        invitation = peers["alice"].create_invitation(handles["alice"], peers[who].identity_xml(names[who]), roles=[ROLE_MEMBER])
        handles[who] = peers[who].join(names[who], invitation)
        peers[who].connect(handles[who])
    club = Club(peers, stores, names, handles, group, clock)
    club.sync()
    return club


@pytest.fixture(scope="module")
def club() -> Iterator[Club]:
    yield _club()


def _record(version: int = 1, modified_by: str = "a", modified: datetime = T0, **changes: object) -> Record:
    fields: dict[str, object] = {
        "id": UUID(bytes=bytes(8) + creator_tag("a")), "type": KIND, "version": version, "flags": 0,
        "creator": "a", "modified_by": modified_by, "attributes": "", "data": b"", "created": T0,
        "modified": modified, "expiration": T0 + timedelta(hours=1),
    }
    fields.update(changes)
    return Record(**fields)  # type: ignore[arg-type]


# Which version wins ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    [
        (RecordVersion(_record(3), b"a"), RecordVersion(_record(2, modified=T0 + timedelta(hours=1)), b"z")),
        (RecordVersion(_record(2, modified=T0 + timedelta(seconds=1)), b"a"), RecordVersion(_record(2), b"z")),
        (RecordVersion(_record(2, "b", T0 + timedelta(seconds=1)), b"a"), RecordVersion(_record(2, "a", T0 + timedelta(seconds=9)), b"z")),
        (RecordVersion(_record(2, "a", T0 + timedelta(seconds=2)), b"a"), RecordVersion(_record(2, "a", T0 + timedelta(seconds=1)), b"z")),
        (RecordVersion(_record(2, "a", T0 + timedelta(seconds=1)), b"aa"), RecordVersion(_record(2, "a", T0 + timedelta(seconds=1)), b"z")),
        (RecordVersion(_record(2, "a", T0 + timedelta(seconds=1)), b"b"), RecordVersion(_record(2, "a", T0 + timedelta(seconds=1)), b"a")),
    ],
    ids=["higher version", "updated over never updated", "higher modifier", "later modification", "larger security data", "higher security data"],
)
def test_each_rule_of_windows_precedence_decides_when_the_ones_before_tie(stronger: RecordVersion, weaker: RecordVersion) -> None:
    assert precedence(stronger) > precedence(weaker)
    assert winner(weaker, stronger) == winner(stronger, weaker) == stronger


versions = st.builds(
    lambda version, modifier, seconds, security: RecordVersion(
        _record(version, modifier, T0 + timedelta(seconds=seconds)), security,
    ),
    st.integers(1, 4), st.sampled_from(["a", "b"]), st.integers(0, 3), st.binary(max_size=2),
)


@given(st.lists(versions, min_size=1, max_size=6), st.randoms())
def test_the_winner_does_not_depend_on_the_order_versions_arrive_in(held: list[RecordVersion], random: object) -> None:
    shuffled = list(held)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    first = second = None
    for version in held:
        first = winner(first, version)
    for version in shuffled:
        second = winner(second, version)
    assert first == second == max(held, key=precedence)


def test_a_read_shows_records_neither_deleted_nor_expired_unless_expiry_is_deferred() -> None:
    live = RecordVersion(_record(), b"")
    expired = RecordVersion(_record(id=UUID(int=1), expiration=T0 + timedelta(seconds=1)), b"")
    deleted = RecordVersion(_record(2, modified=T0 + timedelta(seconds=1), id=UUID(int=2), flags=DELETED), b"")
    records = {held.record.id: held for held in (live, expired, deleted)}
    now = T0 + timedelta(seconds=5)
    assert LiveRecords(records, now) == {live.record.id: live}
    assert LiveRecords(records, now, expiring=False) == {live.record.id: live, expired.record.id: expired}


def test_a_reader_learns_what_was_added_updated_deleted_and_expired_since_it_looked() -> None:
    kept, updated, deleted = (RecordVersion(_record(id=UUID(int=n)), bytes([n])) for n in range(3))
    expired, gone = (RecordVersion(_record(id=UUID(int=n), expiration=T0 + timedelta(seconds=1)), bytes([n])) for n in (3, 4))
    shown = shown_versions({held.record.id: held for held in (kept, updated, deleted, expired)})
    rival = RecordVersion(updated.record, b"rival")  # the same version number, another version
    tombstone = RecordVersion(_record(2, modified=T0 + timedelta(seconds=1), id=deleted.record.id, flags=DELETED), b"t")
    added = RecordVersion(_record(id=UUID(int=9)), b"a")
    records = {held.record.id: held for held in (kept, rival, added, tombstone, expired, gone)}
    assert record_changes(shown, LiveRecords(records, T0 + timedelta(seconds=5))) == [
        (added.record.id, PeerRecordChangeType.PEER_RECORD_ADDED),
        (rival.record.id, PeerRecordChangeType.PEER_RECORD_UPDATED),
        (deleted.record.id, PeerRecordChangeType.PEER_RECORD_DELETED),
        (expired.record.id, PeerRecordChangeType.PEER_RECORD_EXPIRED),
    ]


def test_an_autorefresh_record_is_due_within_twenty_seconds_of_expiry_and_keeps_its_lifetime() -> None:
    held = RecordVersion(_record(flags=1, expiration=T0 + timedelta(seconds=300)), b"")
    assert not refresh_due(held, "a", T0 + timedelta(seconds=279))
    assert refresh_due(held, "a", T0 + timedelta(seconds=280))
    assert not refresh_due(held, "b", T0 + timedelta(seconds=280))
    assert not refresh_due(held, "a", T0 + timedelta(seconds=300))
    assert refreshed_expiration(held.record, T0 + timedelta(seconds=290)) == T0 + timedelta(seconds=590)


# Records met at sync -----------------------------------------------------------------------


def _publish(club: Club, who: str, record: Record) -> Envelope:
    """An envelope by ``who`` carrying ``record``, signed with its own key and credential,
    as a hostile member could write it by hand."""
    peer = club.peers[who]
    name = club.names[who]
    group = sync_port(peer).sync_replica(club.key(who)).state.group
    credential = group.credential_of(name, club.clock())
    assert credential is not None
    head = sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.group.heads[name]
    envelope = Envelope(club.group, name, credential.fingerprint, head.seq + 1, head.last, club.clock(), RecordPublished(record), b"")
    key = peer._runtime.identity_key(peer._runtime.state.identities[name])
    return attrs.evolve(envelope, signature=credentials.sign(key, admission.signed_part(envelope)))


def _alices_record(club: Club) -> Record:
    alice = club.peers["alice"]
    record_id = alice.add_record(club.handles["alice"], KIND, T0 + timedelta(hours=1), data=b"alice's")
    return alice.get_record(club.handles["alice"], record_id).record


@pytest.mark.parametrize(
    ("forge", "rule", "error"),
    [
        (lambda r, bob: attrs.evolve(r, version=2, modified_by=bob, data=b"bob's"), "modifier_may_touch", "PEER_E_NOT_AUTHORIZED"),
        (lambda r, bob: attrs.evolve(r, version=9, creator=bob, modified_by=bob), "record_is_well_formed", "PEER_E_INVALID_RECORD"),
        (lambda r, bob: attrs.evolve(r, id=UUID(int=7), creator=bob, modified_by=bob), "record_is_well_formed", "PEER_E_INVALID_RECORD"),
        (
            lambda r, bob: attrs.evolve(r, id=UUID(bytes=bytes(8) + creator_tag(bob)), creator=bob, modified_by=bob, type=UUID(int=1 << 120)),
            "record_type_not_reserved", "PEER_E_NOT_AUTHORIZED",
        ),
        (
            lambda r, bob: attrs.evolve(r, id=UUID(bytes=bytes(8) + creator_tag(bob)), creator=bob, modified_by=bob, expiration=T0 + timedelta(days=365 * 1001)),
            "record_within_credential", "PEER_E_INVALID_RECORD_EXPIRATION",
        ),
        (
            lambda r, bob: attrs.evolve(r, id=UUID(bytes=bytes(8) + creator_tag(bob)), creator=bob, modified_by=bob, attributes="<attributes><attribute name='a-b' type='int'>1</attribute></attributes>"),
            "attributes_are_well_formed", "PEER_E_INVALID_ATTRIBUTES",
        ),
    ],
    ids=["a member's version of another's record", "a version under another creator", "an id not bound to its creator", "a reserved type", "outliving the credential", "attributes off the schema"],
)
def test_a_received_record_that_breaks_a_rule_is_refused_and_kept(
    club: Club, forge: Callable[[Record, str], Record], rule: str, error: str,
) -> None:
    envelope = _publish(club, "bob", forge(_alices_record(club), club.names["bob"]))
    before, refused = club.digest("alice"), sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.refused
    assert sync_port(club.peers["alice"]).sync_receive(club.key("alice"), [envelope], Neighbor("bob", "bob")).accepted == 0
    assert club.digest("alice") == before
    assert sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.refused == refused + 1
    last = [event for event in club.stores["alice"].replica_events(*club.key("alice")) if isinstance(event, EnvelopeRefused)][-1]
    assert (last.rule, last.error) == (rule, error)


def test_an_administrators_version_of_a_members_record_is_accepted() -> None:
    club = _club()
    bob = club.peers["bob"]
    record_id = bob.add_record(club.handles["bob"], KIND, T0 + timedelta(hours=1), data=b"bob's")
    club.sync()
    held = club.peers["alice"].get_record(club.handles["alice"], record_id)
    changed = attrs.evolve(held.record, version=2, modified_by=club.names["alice"], data=b"alice's", modified=T0 + timedelta(seconds=1))
    club.clock.now = T0 + timedelta(seconds=1)
    assert sync_port(club.peers["bob"]).sync_receive(club.key("bob"), [_publish(club, "alice", changed)], Neighbor("alice", "alice")).accepted == 1
    assert bob.get_record(club.handles["bob"], record_id).record.data == b"alice's"


# Calls that fail leave nothing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda club, r: club.peers["bob"].update_record(club.handles["bob"], r, KIND, 0, T0 + timedelta(hours=2)), "PEER_E_NOT_AUTHORIZED"),
        (lambda club, r: club.peers["bob"].delete_record(club.handles["bob"], r), "PEER_E_NOT_AUTHORIZED"),
        (lambda club, r: club.peers["alice"].update_record(club.handles["alice"], r, KIND, 0, T0 + timedelta(minutes=30)), "PEER_E_INVALID_RECORD_EXPIRATION"),
        (lambda club, r: club.peers["alice"].update_record(club.handles["alice"], r, UUID(int=5), 0, T0 + timedelta(hours=2)), "E_INVALIDARG"),
        (lambda club, r: club.peers["alice"].add_record(club.handles["alice"], KIND, T0, data=b"x"), "PEER_E_INVALID_RECORD_EXPIRATION"),
        (lambda club, r: club.peers["alice"].add_record(club.handles["alice"], KIND, T0 + timedelta(hours=1), data=bytes(1024 * 1024 + 1)), "PEER_E_MAX_RECORD_SIZE_EXCEEDED"),
        (lambda club, r: club.peers["alice"].add_record(club.handles["alice"], UUID("01000000-0000-0000-0000-000000000000"), T0 + timedelta(hours=1)), "PEER_E_NOT_AUTHORIZED"),
        (lambda club, r: club.peers["alice"].get_record(club.handles["alice"], UUID(int=3)), "PEER_E_RECORD_NOT_FOUND"),
    ],
    ids=["update by a member", "delete by a member", "an expiration lowered", "another type", "an expiration passed", "too large", "a reserved type", "no such record"],
)
def test_a_record_call_that_fails_stores_nothing_and_changes_nothing(
    club: Club, call: Callable[[Club, UUID], object], error: str,
) -> None:
    record_id = _alices_record(club)
    club.sync()
    heads = {who: store.head() for who, store in club.stores.items()}
    digests = {who: club.digest(who) for who in club.peers}
    with pytest.raises(PeerError) as caught:
        call(club, record_id.id)
    assert caught.value.name == error, caught.value
    assert {who: store.head() for who, store in club.stores.items()} == heads
    assert {who: club.digest(who) for who in club.peers} == digests


def test_a_record_of_exactly_the_max_size_is_accepted_and_one_byte_more_refused(club: Club) -> None:
    alice, handle = club.peers["alice"], club.handles["alice"]
    attributes = "<attributes><attribute name='n' type='string'>" + "x" * 1000 + "</attribute></attributes>"
    room = 1024 * 1024 - 2 * len(attributes)
    record_id = alice.add_record(handle, KIND, T0 + timedelta(hours=1), attributes=attributes, data=bytes(room))
    assert len(alice.get_record(handle, record_id).record.data) == room
    for call in (
        lambda: alice.add_record(handle, KIND, T0 + timedelta(hours=1), attributes=attributes, data=bytes(room + 1)),
        lambda: alice.update_record(handle, record_id, KIND, 0, T0 + timedelta(hours=2), attributes=attributes, data=bytes(room + 1)),
        lambda: alice.add_record(handle, UUID("01000000-0000-0000-0000-000000000000"), T0, data=bytes(room * 2)),
    ):
        with pytest.raises(PeerError) as caught:
            call()
        assert caught.value.name == "PEER_E_MAX_RECORD_SIZE_EXCEEDED"
    with pytest.raises(PeerError) as caught:
        alice.add_record(handle, KIND, T0 + timedelta(hours=1), data=bytes(room * 2), flags=DELETED)
    assert caught.value.name == "PEER_E_INVALID_RECORD"


# Peer time ---------------------------------------------------------------------------------


def test_a_joiner_with_a_skewed_clock_adopts_the_groups_peer_time() -> None:
    club = _club({"bob": timedelta(seconds=90)})
    bob, handle = club.peers["bob"], club.handles["bob"]
    assert sync_port(bob).sync_replica(club.key("bob")).state.peer_time_offset == timedelta(seconds=-90)
    bobs_clock = T0 + timedelta(seconds=90)
    assert bob.universal_to_peer_time(handle, bobs_clock) == T0
    assert bob.peer_time_to_universal(handle, T0) == bobs_clock
    record_id = bob.add_record(handle, KIND, T0 + timedelta(minutes=5))
    assert bob.get_record(handle, record_id).record.created == T0


def test_a_synchronized_replica_moves_a_quarter_of_the_way_to_a_skewed_member() -> None:
    club = _club()
    carol = club.peers["carol"]
    sync_port(carol).sync_peer_time(club.key("carol"), T0 + timedelta(seconds=40), "skewed", T0)
    assert sync_port(carol).sync_replica(club.key("carol")).state.peer_time_offset == timedelta(seconds=10)


# The database as a file --------------------------------------------------------------------


def _exported(club: Club, tmp_path: Path) -> Path:
    _alices_record(club)
    path = tmp_path / "club.peerdb"
    club.peers["alice"].export_database(club.handles["alice"], str(path))
    return path


def _fresh_joiner(club: Club) -> tuple[Peer, PeerStore, str]:
    """dave, joined but not yet connected: where an import may go."""
    store = open_store(None)
    dave = Peer(store, clock=club.clock, settings=PeerSettings(address="dave"))
    name = dave.create_identity("dave")
    invitation = club.peers["alice"].create_invitation(club.handles["alice"], dave.identity_xml(name))
    return dave, store, dave.join(name, invitation)


def test_an_exported_database_imported_by_a_joiner_brings_every_envelope(club: Club, tmp_path: Path) -> None:
    path = _exported(club, tmp_path)
    exported = sync_port(club.peers["alice"]).sync_replica(club.key("alice")).state.group
    dave, _, handle = _fresh_joiner(club)
    dave.import_database(handle, str(path))
    imported = sync_port(dave).sync_replica((dave.identities()[0].peer_name, club.group)).state.group
    assert imported.heads == exported.heads
    assert imported.records == exported.records


def _rewritten(path: Path, change: Callable[[database_files.DatabaseSnapshot], database_files.DatabaseSnapshot]) -> None:
    snapshot = database_files.decode(path.read_bytes())
    path.write_bytes(database_files.encode(change(snapshot)))


ALTERATIONS: dict[str, Callable[[Path], object]] = {
    "an envelope left out": lambda path: _rewritten(path, lambda s: attrs.evolve(s, envelopes=s.envelopes[:-1])),
    "a record's data changed": lambda path: _rewritten(path, lambda s: attrs.evolve(s, envelopes=(
        *s.envelopes[:-1],
        attrs.evolve(s.envelopes[-1], payload=RecordPublished(attrs.evolve(s.envelopes[-1].payload.record, data=b"forged"))),  # type: ignore[union-attr]
    ))),
    "another exporter named": lambda path: _rewritten(path, lambda s: attrs.evolve(s, exporter=next(e.author for e in s.envelopes if e.author != s.exporter))),
    "a byte flipped": lambda path: path.write_bytes(path.read_bytes().replace(b'"format"', b'"formaT"')),
    "cut short": lambda path: path.write_bytes(path.read_bytes()[:-10]),
}


@pytest.mark.parametrize("alter", ALTERATIONS.values(), ids=ALTERATIONS.keys())
def test_an_altered_database_file_is_refused_whole(club: Club, tmp_path: Path, alter: Callable[[Path], object]) -> None:
    path = _exported(club, tmp_path)
    alter(path)
    dave, store, handle = _fresh_joiner(club)
    head = store.head()
    with pytest.raises(PeerError) as caught:
        dave.import_database(handle, str(path))
    assert caught.value.name == "PEER_E_INVALID_DATABASE", caught.value
    assert store.head() == head


def test_group_data_larger_than_a_batch_travels_in_rounds_and_a_joiner_waits_for_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """A password joiner's credential is the last thing the listener sends; with one
    envelope a batch the joiner must wait for it, not fail and ask again for another."""
    clock = Clock()
    alice, dave = (Peer(open_store(None), clock=clock, settings=PeerSettings(address=who)) for who in ("alice", "dave"))
    alice_name, dave_name = alice.create_identity("alice", key=IDENTITY_KEYS[0]), dave.create_identity("dave", key=IDENTITY_KEYS[1])
    handle = alice.create_group(alice_name, "club", authentication_schemes=2, password="correct horse", password_role=ROLE_MEMBER)
    alice.connect(handle)
    for index in range(3):
        alice.add_record(handle, KIND, T0 + timedelta(hours=1), data=bytes([index]) * 2000)
    monkeypatch.setattr(batches, "BATCH_BYTES", 1)  # one envelope a message
    joined = dave.password_join(dave_name, alice.create_password_invitation(handle), "correct horse")
    dave.connect(joined.handle)
    failures = dave.register_event(joined.handle, [Interest(PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED)])
    network.synchronize({"alice": alice, "dave": dave})
    group = alice.group_properties(handle).group_peer_name
    issued = [
        envelope for envelope in envelopes.accepted(alice._runtime, (alice_name, group))
        if isinstance(envelope.payload, CredentialIssued) and envelope.payload.credential.subject == dave_name
    ]
    assert len(issued) == 1
    assert dave.event_data(failures) is None
    assert len(dave.records(joined.handle)) == 3
    assert views.group_digest(sync_port(dave).sync_replica((dave_name, group)).state.group) == views.group_digest(
        sync_port(alice).sync_replica((alice_name, group)).state.group
    )


def test_an_export_that_cannot_be_written_leaves_no_file(club: Club, tmp_path: Path) -> None:
    with pytest.raises(PeerError) as caught:
        club.peers["alice"].export_database(club.handles["alice"], str(tmp_path / "missing" / "club.peerdb"))
    assert caught.value.name == "ERROR_PATH_NOT_FOUND"
    assert os.listdir(tmp_path) == []


def test_an_export_replaces_the_file_it_names(club: Club, tmp_path: Path) -> None:
    path = tmp_path / "club.peerdb"
    path.write_bytes(b"old")
    club.peers["alice"].export_database(club.handles["alice"], str(path))
    assert database_files.decode(path.read_bytes()).group == club.group
    assert os.listdir(tmp_path) == ["club.peerdb"]


def test_a_share_path_cannot_climb_out_of_its_directory(tmp_path: Path) -> None:
    assert database_files.resolve("/a/b.db", tmp_path) == tmp_path / "a" / "b.db"
    assert database_files.resolve("C:\\a\\b.db", tmp_path) == tmp_path / "C" / "a" / "b.db"
    for path in ("/../b.db", "/a/../../b.db", "relative.db", "/"):
        with pytest.raises(PeerError):
            database_files.resolve(path, tmp_path)


# Convergence -------------------------------------------------------------------------------

WHO = st.sampled_from(["alice", "bob", "carol"])
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), WHO, st.just(0), st.booleans()),
        st.tuples(st.just("update"), WHO, st.integers(0, 2), st.booleans()),
        st.tuples(st.just("delete"), WHO, st.integers(0, 2), st.booleans()),
        st.tuples(st.just("race"), WHO, st.integers(0, 2), st.booleans()),
        st.tuples(st.just("sync"), WHO, st.integers(0, 2), st.booleans()),
        st.tuples(st.just("tick"), WHO, st.integers(1, 400), st.booleans()),
    ),
    max_size=16,
)
"""Few records, and a "race": a member adds a record, alice (the administrator) gets it,
then its creator updates it while alice deletes it, so that replicas hold rival versions."""


def _attempt(club: Club, who: str, call: Callable[[Peer, str], object]) -> None:
    """Make the call; one the rules refuse must leave that peer's replica as it was."""
    digest = club.digest(who)
    try:
        call(club.peers[who], club.handles[who])
    except PeerError as error:
        assert error.name in ("PEER_E_NOT_AUTHORIZED", "PEER_E_RECORD_NOT_FOUND"), error
        assert club.digest(who) == digest


def _update(record_id: UUID, expiration: datetime) -> Callable[[Peer, str], object]:
    def update(peer: Peer, handle: str) -> None:
        held = peer.get_record(handle, record_id)
        peer.update_record(handle, record_id, KIND, held.record.flags, max(expiration, held.record.expiration), data=b"v")
    return update


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_any_interleaving_of_record_calls_and_syncs_converges(operations: list[tuple[str, str, int, bool]]) -> None:
    club = _club()
    ids: list[UUID] = []
    for kind, who, number, flag in operations:
        expiration = club.clock() + timedelta(seconds=300 if flag else 3600)
        if kind == "add":
            _attempt(club, who, lambda peer, handle: ids.append(peer.add_record(handle, KIND, expiration, data=b"added", flags=int(flag))))
        elif kind == "race":
            record_id = club.peers[who].add_record(club.handles[who], KIND, expiration)
            ids.append(record_id)
            club.sync(who, "alice")
            _attempt(club, who, _update(record_id, expiration))
            _attempt(club, "alice", lambda peer, handle: peer.delete_record(handle, record_id))
        elif kind in ("update", "delete") and ids:
            record_id = ids[-1 - number % len(ids)]
            if kind == "delete":
                _attempt(club, who, lambda peer, handle: peer.delete_record(handle, record_id))
            else:
                _attempt(club, who, _update(record_id, expiration))
        elif kind == "sync":
            club.sync(who, ("alice", "bob", "carol")[number % 3])
        elif kind == "tick":
            club.clock.now += timedelta(seconds=number)
    club.sync()
    assert len({club.digest(who) for who in club.peers}) == 1
    shown = [[held.record for held in club.peers[who].records(club.handles[who])] for who in club.peers]
    assert shown[0] == shown[1] == shown[2]


@given(st.lists(st.tuples(st.uuids(), st.sampled_from(list(PeerRecordChangeType))), unique_by=lambda change: change[0]))
def test_changes_are_told_in_change_type_order_then_in_the_order_of_the_ids_text(changes: list[tuple[UUID, PeerRecordChangeType]]) -> None:
    assert in_change_order(changes) == sorted(changes, key=lambda change: (change[1], str(change[0])))
