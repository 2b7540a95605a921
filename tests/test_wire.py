"""Canonical decoding: a received value keeps the tree it came in as its encoding, so only
the one spelling ``plain`` writes is accepted from a peer; a store's rows are read without
that check (the audit makes it), and are written with one spelling whichever way their
trees were made."""

from __future__ import annotations

import binascii
import uuid
from datetime import datetime, timedelta, timezone

import attrs
import orjson
import pytest
from hypothesis import given, strategies as st

from peerstate import wire
from peerstate.sync import admission
from peerstate.domain.group_events import Envelope, EnvelopeAccepted, Record, RecordPublished
from peerstate.storage.logs import ReplicaLog
from peerstate.storage.opening import open_store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
RECORD = Record(
    uuid.UUID("aa478da7-03e8-3a9f-59af-827c0e115193"), uuid.UUID("0b0e5c4a-7e57-4d1c-9a3e-000000000001"), 1, 0,
    "1.alice", "1.alice", "", b"A", T0, T0, T0 + timedelta(days=1),
)
ENVELOPE = Envelope("2.group", "1.alice", b"\x01" * 32, 2, b"\x02" * 32, T0, RecordPublished(RECORD), b"\x03" * 256)
MESSAGE = wire.canonical(ENVELOPE)

SPELLINGS = {
    "a time with Z": (b'"2026-01-01T00:00:00+00:00"', b'"2026-01-01T00:00:00Z"'),
    "a time in another zone": (b'"2026-01-01T00:00:00+00:00"', b'"2026-01-01T01:00:00+01:00"'),
    "a GUID in capitals": (b'"aa478da7-03e8-3a9f-59af-827c0e115193"', b'"AA478DA7-03E8-3A9F-59AF-827C0E115193"'),
    "a GUID without hyphens": (b'"aa478da7-03e8-3a9f-59af-827c0e115193"', b'"aa478da703e83a9f59af827c0e115193"'),
    "base64 with padding bits set": (b'"data":"QQ=="', b'"data":"QR=="'),
    "a long base64 with padding bits set": (b'AwMDAw=="', b'AwMDAx=="'),  # the signature's end: pybase64 reads it
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
def test_a_message_spelled_another_way_is_refused_and_a_row_so_spelled_still_reads(spelling: str) -> None:
    canonical, other = SPELLINGS[spelling]
    assert canonical in MESSAGE
    respelled = MESSAGE.replace(canonical, other, 1)
    with pytest.raises(wire.WireError):
        wire.decode(respelled, Envelope)
    assert wire.decode_tree(orjson.loads(respelled), Envelope) == ENVELOPE
    assert wire.canonical(ENVELOPE) == MESSAGE  # the refused spelling was not kept as the envelope's tree


def test_a_received_value_encodes_to_the_bytes_it_came_in_and_has_the_same_id() -> None:
    received = wire.decode(MESSAGE, Envelope)
    assert received == ENVELOPE and received is not ENVELOPE
    assert wire.canonical(received) == MESSAGE
    assert admission.envelope_id(received) == admission.envelope_id(ENVELOPE)
    assert admission.signed_part(received) == admission.signed_part(ENVELOPE)


@pytest.mark.parametrize("canonical", [False, True])
def test_a_written_out_guid_is_the_uuid_its_text_makes(canonical: bool) -> None:
    """The written-out decoder makes each ``UUID`` without its ``__init__``: it must be the
    same value in every respect a reader can see."""
    made = wire.decoder(Envelope, canonical)(orjson.loads(MESSAGE)).payload.record.id
    expected = uuid.UUID("aa478da7-03e8-3a9f-59af-827c0e115193")
    assert type(made) is uuid.UUID and made == expected and hash(made) == hash(expected)
    assert (str(made), made.is_safe, made.version) == (str(expected), expected.is_safe, expected.version)


def test_the_place_of_a_mismatch_is_named() -> None:
    broken = MESSAGE.replace(b'"aa478da7-03e8-3a9f-59af-827c0e115193"', b'"r1"')
    with pytest.raises(wire.WireError, match=r"^\$\.payload\.record\.id: not a GUID$"):
        wire.decode(broken, Envelope)
    extra = MESSAGE.replace(b'"seq":2', b'"seq":2,"zzz":1')
    with pytest.raises(wire.WireError, match=r"^\$: Envelope has fields .* the message has .*'zzz'"):
        wire.decode(extra, Envelope)


def test_a_row_has_one_spelling_whichever_way_its_trees_were_made() -> None:
    """A fresh value's tree has its fields in declaration order; a received one's, in the
    sender's sorted order. The row must not tell them apart: the audit re-encodes rows."""
    mapper = open_store(None)._app.mapper
    other = attrs.evolve(ENVELOPE, seq=3)

    def row(accepted_id: bytes) -> bytes:
        recorded = ReplicaLog.Recorded(  # type: ignore[call-arg]
            originator_id=uuid.UUID(int=1), originator_version=2, timestamp=T0,
            payload=EnvelopeAccepted(other, accepted_id, "local", T0), link=b"",
        )
        stored = mapper.to_stored_event(recorded)
        assert getattr(mapper.to_domain_event(stored), "payload") == recorded.payload
        return bytes(stored.state)

    made_here = row(b"\x04" * 32)
    wire.decode(wire.canonical(other), Envelope)  # the envelope's kept tree is now the received one
    received = row(b"\x05" * 32)
    assert received == made_here.replace(wire.plain(b"\x04" * 32).encode(), wire.plain(b"\x05" * 32).encode())


ODD_LEAVES = [
    True, False, 0, 1, -1, 2**63, 1.5, "", "x", None, [], {}, "QR==", "QQ==", "2026-01-01T00:00:00Z",
    "2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00", "AA478DA7-03E8-3A9F-59AF-827C0E115193", "RecordPublished", "Record",
    "aa478da703e83a9f59af827c0e115193", "{aa478da7-03e8-3a9f-59af-827c0e115193}", "urn:uuid:aa478da7-03e8-3a9f-59af-827c0e115193",
    "aa478da7-03e8-3a9f-59af-827c0e11519_", "+a478da7-03e8-3a9f-59af-827c0e115193", "aa478da7-03e8-3a9f-59af827c0e11-5193",
    "QUJD" * 30, "QUJD" * 30 + "QQ==", "QUJD" * 30 + "QR==", "QUJD" * 30 + "QQ", "QUJD" * 30 + "\n", "QUJD" * 30 + "QQ==QQ==",
    2**32 - 1, 2**32, "y" * 191, "QUJD" * 10 + "QUI=", "QUJD" * 11, "QUJD" * 682 + "QUI=", "QUJD" * 683,
]
"""What each node of a message is replaced with: other JSON types, other spellings, and
values at their bounds and past them (``peerstate.bounds``: a DWORD, a peer name, a digest,
a signature)."""
DELETED = object()


def _places(tree: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """The path of every node of a JSON tree below the root."""
    children: list[tuple[object, object]] = (
        list(tree.items()) if isinstance(tree, dict) else list(enumerate(tree)) if isinstance(tree, list) else []
    )
    return [place for key, child in children for place in [(*path, key), *_places(child, (*path, key))]]


def _edited(tree: object, place: tuple[object, ...], leaf: object) -> object:
    edited = orjson.loads(orjson.dumps(tree))
    *parents, last = place
    parent = edited
    for key in parents:
        parent = parent[key]
    if leaf is DELETED:
        del parent[last]
    else:
        parent[last] = leaf
    return edited


def _decoders_agree(tree: object) -> None:
    """Whatever ``Envelope``'s written-out decoder accepts, the careful one it hands the
    uncommon to accepts as the same value (the other way holds by construction)."""
    for canonical in (False, True):
        written_out = wire.decoder(Envelope, canonical)
        careful = written_out.__globals__["_careful"]
        try:
            value = written_out(tree)
        except Exception as refused:
            with pytest.raises(type(refused)):
                careful(tree)
        else:
            assert careful(tree) == value, tree


def test_the_written_out_decoders_accept_only_what_the_careful_ones_do() -> None:
    """Every node of a message replaced by every odd leaf, or deleted."""
    message = orjson.loads(MESSAGE)
    for place in _places(message):
        for leaf in [*ODD_LEAVES, DELETED]:
            _decoders_agree(_edited(message, place, leaf))


@given(st.lists(st.tuples(st.integers(0), st.sampled_from([*ODD_LEAVES, DELETED])), min_size=2, max_size=4))
def test_the_written_out_decoders_agree_with_the_careful_ones_on_several_edits(edits: list[tuple[int, object]]) -> None:
    tree = orjson.loads(MESSAGE)
    for index, leaf in edits:
        places = _places(tree)
        if places:
            tree = _edited(tree, places[index % len(places)], leaf)
    _decoders_agree(tree)


@st.composite
def base64_like(draw: st.DrawFn) -> str:
    """Base64, short or long, with one edit: a character put in, or in place of one or two,
    padding among them, and what strict base64 refuses."""
    text = wire.base64_text(draw(st.one_of(st.binary(max_size=60), st.binary(min_size=40, max_size=300))))
    place = draw(st.integers(0, len(text)))
    odd = draw(st.sampled_from(["", "=", "==", "A", "\n", " ", "-", "_", "é", "QQ=="]))
    return text[:place] + odd + text[place + draw(st.integers(0, 2)):]


@given(st.binary(max_size=600))
def test_bytes_are_written_as_binascii_writes_them_and_read_back(raw: bytes) -> None:
    text = wire.base64_text(raw)
    assert text == binascii.b2a_base64(raw, newline=False).decode("ascii")
    assert wire.from_base64(text) == raw


@given(base64_like())
def test_base64_of_any_length_is_read_as_binascii_reads_it_strictly(text: str) -> None:
    """Long text goes to pybase64, short to binascii: what one refuses, the other does;
    what either reads, it reads to the same bytes. pybase64 alone also refuses padding
    after whole groups of four, a spelling ``base64_text`` never writes."""
    try:
        expected = binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        with pytest.raises(ValueError):
            wire.from_base64(text)
        return
    try:
        assert wire.from_base64(text) == expected
    except ValueError:
        assert len(text) > 64 and text.endswith("=") and wire.base64_text(expected) != text


class _Label(str):
    """A str subclass: not the type a written-out writer takes its fast way for."""


def test_a_written_out_tree_writer_gives_each_field_the_tree_plain_gives_it() -> None:
    """A value's fields may hold other types than they declare (attrs does not check):
    each is then made plain as itself, as ``plain`` would make it."""
    odd = attrs.evolve(RECORD, data="not bytes", created=T0.astimezone(timezone(timedelta(hours=2))), creator=_Label("1.alice"), version=True)
    tree = wire.plain(odd)
    assert tree == {"@type": "Record", **{field.name: wire.plain(getattr(odd, field.name)) for field in attrs.fields(Record)}}
    assert (tree["data"], tree["created"], tree["version"]) == ("not bytes", "2026-01-01T00:00:00+00:00", True)
    with pytest.raises(wire.WireError, match="no time zone"):
        wire.plain(attrs.evolve(RECORD, modified=datetime(2026, 1, 1)))
