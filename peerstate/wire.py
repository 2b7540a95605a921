"""The canonical encoding of events and sync messages, and its strict decoding.

One encoding serves two jobs. Signatures and envelope ids are computed over it, so it must
give one byte string per value: orjson with sorted keys, bytes as base64, times as
ISO-8601 UTC, each attrs value tagged with its class name. And sync messages travel in it,
so decoding is strict: the expected type directs it, and anything that is not exactly a
value of that type (an unknown or missing field, a wrong type, a bool for an int, a naive
time) is refused with ``WireError`` before any of it is used.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import types
import typing
from datetime import UTC, datetime
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal, TypeAlias, TypeVar, Union
from uuid import UUID

import attrs
import orjson

from peerstate.bulk import without_gc

MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
"""Larger than any honest sync batch; a cap, so a hostile peer cannot make us parse more."""
_TAG: Final = "@type"
_INT_RANGE: Final = range(-(2**63), 2**63)
_T = TypeVar("_T")


class WireError(ValueError):
    """Bytes that are not a well-formed value of the expected type."""


def plain(value: Any) -> Any:
    """The tree of plain JSON values that stands for ``value``: what ``canonical`` encodes,
    and what a store's event rows hold."""
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return value
    if kind is bytes:
        return base64.b64encode(value).decode("ascii")
    if kind is tuple or kind is list:
        return [plain(item) for item in value]
    if attrs.has(kind):
        try:
            return _plain_attrs(value)
        except TypeError:  # a field holds what cannot be hashed (an edited row's dict): encode it uncached
            return _plain_attrs.__wrapped__(value)
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise WireError(f"{value!r} has no time zone")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise WireError(f"{type(value).__name__} has no canonical encoding")


@functools.lru_cache(maxsize=16384)
def _plain_attrs(value: Any) -> dict[str, Any]:
    """An attrs value's tree, kept for the values met lately: an envelope is encoded for
    its id, for its log's hash chain and in sync batches, and each costs more than the
    hash that finds it here. Equal values (of fixed field types) have one encoding."""
    kind: type = type(value)
    return {_TAG: kind.__name__, **{name: plain(getattr(value, name)) for name in _field_names(kind)}}


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(kind))


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


def decode(data: bytes, kind: type[_T], *, max_bytes: int = MAX_MESSAGE_BYTES) -> _T:
    """The value of type ``kind`` that ``data`` encodes, or ``WireError``."""
    if len(data) > max_bytes:
        raise WireError(f"the message has {len(data)} bytes; at most {max_bytes} are accepted")
    with without_gc():
        try:
            tree = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise WireError(f"not JSON: {error}") from None
        value: _T = decode_tree(tree, kind)
    return value


def decode_tree(tree: Any, kind: Any) -> Any:
    """The value of type ``kind`` that a parsed JSON ``tree`` stands for, or ``WireError``
    naming where in the tree it went wrong."""
    try:
        return decoder(kind)(tree)
    except _Mismatch as mismatch:
        raise WireError(f"${mismatch.where}: {mismatch.problem}") from None


class _Mismatch(Exception):
    """A part of a tree that is not a value of its type; ``where`` grows as it goes up."""

    def __init__(self, problem: str, where: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = where

    def inside(self, step: str) -> _Mismatch:
        return _Mismatch(self.problem, step + self.where)


Decoder: TypeAlias = Callable[[Any], Any]


@functools.cache
def decoder(kind: Any) -> Decoder:
    """The function that decodes a tree of type ``kind``, made once per type: looking a
    type's shape up again for every value cost more than decoding it (a store reads
    every event of a log through these)."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        return _union_decoder(typing.get_args(kind))
    if origin is Literal:
        return _literal_decoder(typing.get_args(kind))
    if origin is tuple:
        return _tuple_decoder(decoder(typing.get_args(kind)[0]))
    if kind is type(None):
        return _null
    if attrs.has(kind):
        return _attrs_decoder(kind)
    if kind in _SCALARS:
        return _SCALARS[kind]
    raise TypeError(f"{kind!r} has no wire decoding")


def _union_decoder(kinds: tuple[Any, ...]) -> Decoder:
    nullable = type(None) in kinds
    tagged = {kind.__name__: decoder(kind) for kind in kinds if attrs.has(kind)}
    others = [kind for kind in kinds if kind is not type(None) and not attrs.has(kind)]
    other = decoder(others[0]) if len(others) == 1 else None

    def union(tree: Any) -> Any:
        if tree is None and nullable:
            return None
        if tagged and type(tree) is dict:
            tag = tree.get(_TAG)
            chosen = tagged.get(tag) if type(tag) is str else None
            if chosen is None:
                raise _Mismatch(f"{tag!r} is none of {list(tagged)}")
            return chosen(tree)
        if other is None:
            raise _Mismatch(f"{tree!r} is none of the expected types")
        return other(tree)

    return union


def _literal_decoder(allowed: tuple[Any, ...]) -> Decoder:
    def literal(tree: Any) -> Any:
        if type(tree) is not str or tree not in allowed:
            raise _Mismatch(f"{tree!r} is not one of {allowed}")
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


def _attrs_decoder(kind: type) -> Decoder:
    hints = typing.get_type_hints(kind)
    names = _field_names(kind)
    fields = tuple((name, decoder(hints[name])) for name in names)
    keys = frozenset((_TAG, *names))
    tag = kind.__name__

    def value(tree: Any) -> Any:
        if type(tree) is not dict or tree.get(_TAG) != tag:
            raise _Mismatch(f"expected a {tag}")
        if tree.keys() != keys:
            raise _Mismatch(f"{tag} has fields {sorted(names)}, the message has {sorted(set(tree) - {_TAG})}")
        try:
            return kind(*[decode(tree[name]) for name, decode in fields])
        except _Mismatch:
            raise _first_mismatch((f".{name}", decode, tree[name]) for name, decode in fields) from None

    return value


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
    if type(tree) is not int or tree not in _INT_RANGE:
        raise _Mismatch(f"expected int, got {type(tree).__name__}")
    return tree


def _bytes(tree: Any) -> bytes:
    if type(tree) is not str:
        raise _Mismatch(f"expected bytes, got {type(tree).__name__}")
    try:
        raw = binascii.a2b_base64(tree, strict_mode=True)
    except ValueError:  # binascii.Error, and text that is not ASCII
        raise _Mismatch("not base64") from None
    if binascii.b2a_base64(raw, newline=False) != tree.encode():
        raise _Mismatch("not canonical base64")
    return raw


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


_SCALARS: Final[dict[Any, Decoder]] = {str: _str, bool: _bool, int: _int, bytes: _bytes, datetime: _datetime, UUID: _uuid}
