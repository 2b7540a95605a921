"""The canonical encoding of events and sync messages, and its strict decoding.

One encoding serves two jobs. Signatures and envelope ids are computed over it, so it must
give one byte string per value: orjson with sorted keys, bytes as base64, times as
ISO-8601 UTC, each attrs value tagged with its class name. And sync messages travel in it,
so decoding is strict: the expected type directs it, and anything that is not exactly a
value of that type (an unknown or missing field, a wrong type, a bool for an int, a naive
time, another spelling of the same value) is refused with ``WireError`` before any of it is
used. A store's rows hold the same trees and are read by the same decoders, without the
spelling checks, which the audit makes on every row.

Each class's decoder and tree writer is written out as Python source and compiled
(``generated``), handing what it does not expect to the careful decoder here; what both
must spell alike is in ``spelling``.
"""

from __future__ import annotations

import functools
import hashlib
import reprlib
import types
import typing
from datetime import UTC, datetime
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal, TypeVar, Union
from uuid import UUID

import attrs
import orjson

from peerstate.bounds import FIELDS, MAX_FRAME_BYTES, Bound
from peerstate.bulk import young_collections_only
from peerstate.domain.added_fields import ADDED
from peerstate.wire import generated
from peerstate.wire.generated import Decoder, Fields
from peerstate.wire.spelling import INT_RANGE, TAG, base64_text as base64_text, from_base64 as from_base64

_T = TypeVar("_T")


class WireError(ValueError):
    """Bytes that are not a well-formed value of the expected type."""




def plain(value: Any) -> Any:
    """The tree of plain JSON values that stands for ``value``: what ``canonical`` encodes,
    and what a store's event rows hold."""
    kind = type(value)
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        encoder = _ENCODERS[kind] = _encoder(kind)
    return encoder(value)


def _encoder(kind: type) -> Callable[[Any], Any]:
    """How values of ``kind`` are made plain, looked up once per type."""
    if kind in (str, int, bool, type(None)):
        return _itself
    if kind is bytes:
        return base64_text
    if kind is tuple or kind is list:
        return lambda value: [plain(item) for item in value]
    if attrs.has(kind):
        return _attrs_tree
    if issubclass(kind, datetime):
        return _datetime_text
    if issubclass(kind, UUID):
        return str
    if issubclass(kind, (str, bool, int)):
        return _itself
    raise WireError(f"{kind.__name__} has no canonical encoding")


def _itself(value: Any) -> Any:
    return value


def _datetime_text(value: datetime) -> str:
    if value.utcoffset() is None:
        raise WireError(f"{value!r} has no time zone")
    return value.astimezone(UTC).isoformat()


class _Trees:
    """The trees of the attrs values met lately, by identity: an envelope is encoded for
    its id, its signed part, its log's hash chain, its row and sync batches, each time the
    same object. A value decoded from canonical bytes brings its tree along
    (``decoder(kind, canonical=True)``). The oldest are forgotten first.

    Keyed by ``id``, not by value: hashing every new value to find it cost a tenth of a
    sync's ingest. A kept entry holds its value, so its id is not reused while it is here."""

    SIZE: Final = 32768
    """Enough for a sync batch's envelopes with their payloads and records."""

    def __init__(self) -> None:
        self._trees: OrderedDict[int, tuple[Any, dict[str, Any]]] = OrderedDict()
        """Oldest first; an ``OrderedDict`` forgets its oldest in constant time, where a
        dict's first key is found past every slot deleted before it."""

    def get(self, value: Any) -> dict[str, Any] | None:
        kept = self._trees.get(id(value))  # held here, so no other value has its id
        return None if kept is None else kept[1]

    def keep(self, value: Any, tree: dict[str, Any]) -> None:
        if len(self._trees) >= self.SIZE:
            self._trees.popitem(last=False)
        self._trees[id(value)] = (value, tree)


_TREES: Final = _Trees()


def _attrs_tree(value: Any) -> dict[str, Any]:
    """An attrs value's tree: its class name and its fields'."""
    tree = _TREES.get(value)
    if tree is None:
        tree = _attrs_tree_of(value)
        _TREES.keep(value, tree)
    return tree


def _attrs_tree_of(value: Any) -> dict[str, Any]:
    kind: type = type(value)
    return _tree_writer(kind)(value)


@functools.cache
def _tree_writer(kind: type) -> Callable[[Any], dict[str, Any]]:
    """The function giving the tree of an attrs ``kind``'s value, written out as one
    function (``generated``): a snapshot of a large group makes the trees of all its
    records, and a call of ``plain`` per field cost more than the encoding."""
    return generated.tree_writer(kind, _fields(kind), plain, _added(kind))


_ENCODERS: Final[dict[type, Callable[[Any], Any]]] = {}


@functools.cache
def _fields(kind: type) -> Fields:
    """An attrs ``kind``'s fields in order, each with its type: an added field's
    (``domain.added_fields``) without its None, which its tree never holds."""
    hints = typing.get_type_hints(kind)
    return tuple(
        (field.name, _not_none(hints[field.name]) if field.metadata.get(ADDED) else hints[field.name])
        for field in attrs.fields(kind)
    )


@functools.cache
def _added(kind: type) -> frozenset[str]:
    """The names of ``kind``'s added fields (``domain.added_fields``): None is left out of
    the tree, and a tree that lacks one is None."""
    return frozenset(field.name for field in attrs.fields(kind) if field.metadata.get(ADDED))


def _not_none(hint: Any) -> Any:
    """``hint`` less its None: ``X | None`` is ``X``."""
    kinds = tuple(kind for kind in typing.get_args(hint) if kind is not type(None))
    return kinds[0] if len(kinds) == 1 else Union[kinds]


def canonical(value: Any) -> bytes:
    """The one byte string that stands for ``value``."""
    return orjson.dumps(plain(value), option=orjson.OPT_SORT_KEYS)


def canonical_unsigned(value: Any) -> bytes:
    """The canonical encoding of a signed attrs value with its ``signature`` field empty:
    what its author signs. Made from the value's own encoding, which is kept, so that a
    verification and the id that follows it encode the value once."""
    return orjson.dumps({**plain(value), "signature": ""}, option=orjson.OPT_SORT_KEYS)


def digest(value: Any) -> bytes:
    """SHA-256 of the canonical encoding: the id of an envelope, the digest of a state."""
    return hashlib.sha256(canonical(value)).digest()


def decode(data: bytes, kind: type[_T], *, max_bytes: int = MAX_FRAME_BYTES) -> _T:
    """The value of type ``kind`` that ``data`` encodes, or ``WireError``: no more than
    ``max_bytes`` are parsed (a sync frame's bound unless the caller names another), and
    every field is held to its bound (``peerstate.bounds.FIELDS``)."""
    if len(data) > max_bytes:
        raise WireError(f"the message has {len(data)} bytes; at most {max_bytes} are accepted")
    with young_collections_only():
        try:
            tree = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise WireError(f"not JSON: {error}") from None
        value: _T = decode_tree(tree, kind, canonical=True)
    return value


def decode_tree(tree: Any, kind: Any, *, canonical: bool = False) -> Any:
    """The value of type ``kind`` that a parsed JSON ``tree`` stands for, or ``WireError``
    (``tree_decoder``)."""
    return tree_decoder(kind, canonical)(tree)


@functools.cache
def tree_decoder(kind: Any, canonical: bool = False) -> Callable[[Any], Any]:
    """The function giving the value of type ``kind`` that a parsed JSON tree stands for,
    or ``WireError`` naming where in the tree it went wrong.

    With ``canonical``, only the tree ``plain`` makes of the value is accepted (bytes in
    canonical base64, a time in UTC as ``isoformat`` writes it, a GUID in lower case), each
    field within its bound (``peerstate.bounds.FIELDS``: what comes from another peer), and
    the tree of each attrs value is kept as its encoding: a received envelope is not
    encoded again for its id and signature. A store's rows are read without: the audit
    checks that each row is exactly as peerstate writes it, and a store written before a
    bound was drawn keeps opening."""
    return _checked(decoder(kind, canonical))


def _checked(decode: Decoder) -> Decoder:
    """``decode`` raising ``WireError`` with the path from the tree's root."""

    def checked(tree: Any) -> Any:
        try:
            return decode(tree)
        except _Mismatch as mismatch:
            raise WireError(f"${mismatch.where}: {mismatch.problem}") from None

    return checked


class _Mismatch(Exception):
    """A part of a tree that is not a value of its type; ``where`` grows as it goes up. What it
    quotes of the tree it quotes through ``reprlib``: megabytes from a peer make a short
    message, which a refusal can carry back."""

    def __init__(self, problem: str, where: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = where

    def inside(self, step: str) -> _Mismatch:
        return _Mismatch(self.problem, step + self.where)


@functools.cache
def decoder(kind: Any, canonical: bool = False) -> Decoder:
    """The function that decodes a tree of type ``kind`` (``decode_tree``), made once per
    type: looking a type's shape up again for every value cost more than decoding it (a
    store reads every event of a log through these)."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        return _union_decoder(typing.get_args(kind), canonical)
    if origin is Literal:
        return _literal_decoder(typing.get_args(kind))
    if origin is tuple:
        return _tuple_decoder(decoder(typing.get_args(kind)[0], canonical))
    if kind is type(None):
        return _null
    if attrs.has(kind):
        return _attrs_decoder(kind, canonical)
    scalars = _CANONICAL_SCALARS if canonical else _SCALARS
    if kind in scalars:
        return scalars[kind]
    raise TypeError(f"{kind!r} has no wire decoding")


def _union_decoder(kinds: tuple[Any, ...], canonical: bool) -> Decoder:
    nullable = type(None) in kinds
    tagged = {kind.__name__: decoder(kind, canonical) for kind in kinds if attrs.has(kind)}
    others = [kind for kind in kinds if kind is not type(None) and not attrs.has(kind)]
    other = decoder(others[0], canonical) if len(others) == 1 else None

    def union(tree: Any) -> Any:
        if tree is None and nullable:
            return None
        if tagged and type(tree) is dict:
            tag = tree.get(TAG)
            chosen = tagged.get(tag) if type(tag) is str else None
            if chosen is None:
                raise _Mismatch(f"{reprlib.repr(tag)} is none of {list(tagged)}")
            return chosen(tree)
        if other is None:
            raise _Mismatch(f"{reprlib.repr(tree)} is none of the expected types")
        return other(tree)

    return union


def _literal_decoder(allowed: tuple[Any, ...]) -> Decoder:
    def literal(tree: Any) -> Any:
        if type(tree) is not str or tree not in allowed:
            raise _Mismatch(f"{reprlib.repr(tree)} is not one of {allowed}")
        return tree

    return literal


def _tuple_decoder(item: Decoder) -> Decoder:
    def items(tree: Any) -> tuple[Any, ...]:
        if type(tree) is not list:
            raise _Mismatch("expected a list")
        try:
            return tuple(map(item, tree))
        except _Mismatch:
            raise _first_mismatch((f"[{index}]", item, element) for index, element in enumerate(tree)) from None

    return items


def _attrs_decoder(kind: type, canonical: bool) -> Decoder:
    """``kind``'s written-out decoder (``generated``), which hands what it does not expect
    to the careful one made here. Canonical, each field is held to its bound."""
    fields = _fields(kind)
    names = tuple(name for name, _ in fields)
    bounds = FIELDS.get(kind.__name__, {}) if canonical else {}
    decoders = tuple(_field_decoder(hint, canonical, bounds.get(name)) for name, hint in fields)
    tag = kind.__name__
    added = _added(kind)

    def careful(tree: Any) -> Any:
        if type(tree) is not dict or tree.get(TAG) != tag:
            raise _Mismatch(f"expected a {tag}")
        made = kind(*_decoded_fields(tree, tag, names, decoders, (TAG,), added))
        if canonical:
            _TREES.keep(made, tree)
        return made

    return generated.class_decoder(
        kind, fields, canonical, careful, _field_decoder, _TREES.keep if canonical else None, bounds, added,
    )


def _field_decoder(hint: Any, canonical: bool, bound: Bound | None) -> Decoder:
    """The decoder of a field of type ``hint``, and its value then held to ``bound``."""
    decode = decoder(hint, canonical)
    if bound is None:
        return decode

    def bounded(tree: Any) -> Any:
        value = decode(tree)
        problem = bound.problem(value)
        if problem is not None:
            raise _Mismatch(problem)
        return value

    return bounded


def fields_decoder(fields: Fields, what: str) -> Callable[[Any], dict[str, Any]]:
    """The function giving a dict of the values a JSON object holds, one of each type in
    ``fields`` (name, type) and no more, or ``WireError``: a store's event row, whose
    class ``what`` stands for."""
    names = tuple(name for name, _ in fields)
    decoders = tuple(decoder(hint) for _, hint in fields)

    def careful(tree: Any) -> dict[str, Any]:
        if type(tree) is not dict:
            raise _Mismatch(f"expected a {what}")
        return dict(zip(names, _decoded_fields(tree, what, names, decoders)))

    return _checked(generated.fields_decoder(what, fields, careful, _field_decoder))


def _decoded_fields(
    tree: dict[str, Any], what: str, names: tuple[str, ...], decoders: tuple[Decoder, ...], tags: tuple[str, ...] = (),
    added: frozenset[str] = frozenset(),
) -> list[Any]:
    """Each field's value, in order, with where the first one wrong is wrong; an ``added``
    field the tree lacks is None."""
    if tree.keys() - added != {*tags, *names} - added:
        extra, missing = sorted(set(tree) - {*tags, *names}), sorted(set(names) - added - set(tree))
        raise _Mismatch(f"{what} has fields {sorted(names)}; the message has {reprlib.repr(extra)} besides, and lacks {missing}")
    values: list[Any] = []
    for name, decode in zip(names, decoders):
        if name in added and name not in tree:
            values.append(None)
            continue
        try:
            values.append(decode(tree[name]))
        except _Mismatch as mismatch:
            raise mismatch.inside(f".{name}") from None
    return values


def _first_mismatch(parts: Iterable[tuple[str, Decoder, Any]]) -> _Mismatch:
    """Where a container's decoding failed: each part decoded again until one fails (only
    once something failed, so the way that succeeds builds no locations)."""
    for step, decode, tree in parts:
        try:
            decode(tree)
        except _Mismatch as mismatch:
            return mismatch.inside(step)
    raise AssertionError("a part failed once and not again")


def _null(tree: Any) -> None:
    if tree is not None:
        raise _Mismatch("expected null")


def _str(tree: Any) -> str:
    if type(tree) is not str:
        raise _Mismatch(f"expected str, got {type(tree).__name__}")
    return tree


def _bool(tree: Any) -> bool:
    if type(tree) is not bool:
        raise _Mismatch(f"expected bool, got {type(tree).__name__}")
    return tree


def _int(tree: Any) -> int:
    if type(tree) is not int or tree not in INT_RANGE:
        raise _Mismatch(f"expected int, got {type(tree).__name__}")
    return tree


def _bytes(tree: Any) -> bytes:
    if type(tree) is not str:
        raise _Mismatch(f"expected bytes, got {type(tree).__name__}")
    try:
        return from_base64(tree)
    except ValueError:  # binascii.Error, and text that is not ASCII
        raise _Mismatch("not base64") from None


def _datetime(tree: Any) -> datetime:
    if type(tree) is not str:
        raise _Mismatch(f"expected datetime, got {type(tree).__name__}")
    try:
        moment = datetime.fromisoformat(tree)
    except ValueError:
        raise _Mismatch("not an ISO-8601 time") from None
    if moment.tzinfo is UTC:  # how every time is written: nothing to convert
        return moment
    if moment.utcoffset() is None:
        raise _Mismatch("a time without a zone")
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _Mismatch("a time outside the years 1 to 9999 in UTC") from None


def _uuid(tree: Any) -> UUID:
    if type(tree) is not str:
        raise _Mismatch(f"expected UUID, got {type(tree).__name__}")
    try:
        return UUID(tree)
    except ValueError:
        raise _Mismatch("not a GUID") from None


def _canonical_bytes(tree: Any) -> bytes:
    raw = _bytes(tree)
    if base64_text(raw) != tree:
        raise _Mismatch("not canonical base64")
    return raw


def _canonical_datetime(tree: Any) -> datetime:
    moment = _datetime(tree)
    if moment.isoformat() != tree:
        raise _Mismatch("a time not written in UTC as peerstate writes it")
    return moment


def _canonical_uuid(tree: Any) -> UUID:
    guid = _uuid(tree)
    if str(guid) != tree:
        raise _Mismatch("a GUID not written in lower case with hyphens")
    return guid


_SCALARS: Final[dict[Any, Decoder]] = {str: _str, bool: _bool, int: _int, bytes: _bytes, datetime: _datetime, UUID: _uuid}
_CANONICAL_SCALARS: Final[dict[Any, Decoder]] = {
    **_SCALARS, bytes: _canonical_bytes, datetime: _canonical_datetime, UUID: _canonical_uuid,
}
