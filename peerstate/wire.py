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
import functools
import hashlib
import types
import typing
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeVar, Union
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


def _plain(value: Any) -> Any:
    kind = type(value)
    if value is None or kind is str or kind is bool or kind is int:
        return value
    if kind is bytes:
        return base64.b64encode(value).decode("ascii")
    if kind is tuple or kind is list:
        return [_plain(item) for item in value]
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
    return {_TAG: kind.__name__, **{name: _plain(getattr(value, name)) for name in _field_names(kind)}}


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in attrs.fields(kind))


@functools.cache
def _field_hints(kind: type) -> tuple[dict[str, Any], frozenset[str]]:
    """A class's field types and names, read once: resolving annotations costs more than
    decoding the value."""
    return typing.get_type_hints(kind), frozenset(_field_names(kind))


def canonical(value: Any) -> bytes:
    """The one byte string that stands for ``value``."""
    return orjson.dumps(_plain(value), option=orjson.OPT_SORT_KEYS)


def canonical_unsigned(value: Any) -> bytes:
    """The canonical encoding of a signed attrs value with its ``signature`` field empty:
    what its author signs. Made from the value's own encoding, which is kept, so that a
    verification and the id that follows it encode the value once."""
    return orjson.dumps({**_plain(value), "signature": ""}, option=orjson.OPT_SORT_KEYS)


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
        value: _T = _value(tree, kind, "$")
    return value


def _value(tree: Any, kind: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        return _union(tree, typing.get_args(kind), where)
    if origin is Literal:
        if tree not in typing.get_args(kind) or not isinstance(tree, str):
            raise WireError(f"{where}: {tree!r} is not one of {typing.get_args(kind)}")
        return tree
    if origin is tuple:
        item_kind = typing.get_args(kind)[0]
        if not isinstance(tree, list):
            raise WireError(f"{where}: expected a list")
        return tuple(_value(item, item_kind, f"{where}[{index}]") for index, item in enumerate(tree))
    if kind is type(None):
        if tree is not None:
            raise WireError(f"{where}: expected null")
        return None
    if attrs.has(kind):
        return _attrs_value(tree, kind, where)
    return _scalar(tree, kind, where)


def _union(tree: Any, kinds: tuple[Any, ...], where: str) -> Any:
    if tree is None and type(None) in kinds:
        return None
    tagged = [kind for kind in kinds if attrs.has(kind)]
    if tagged and isinstance(tree, dict):
        for kind in tagged:
            if tree.get(_TAG) == kind.__name__:
                return _attrs_value(tree, kind, where)
        raise WireError(f"{where}: {tree.get(_TAG)!r} is none of {[kind.__name__ for kind in tagged]}")
    others = [kind for kind in kinds if kind is not type(None) and not attrs.has(kind)]
    if len(others) != 1:
        raise WireError(f"{where}: {tree!r} is none of the expected types")
    return _value(tree, others[0], where)


def _attrs_value(tree: Any, kind: type, where: str) -> Any:
    if not isinstance(tree, dict) or tree.get(_TAG) != kind.__name__:
        raise WireError(f"{where}: expected a {kind.__name__}")
    hints, names = _field_hints(kind)
    given = set(tree) - {_TAG}
    if given != names:
        raise WireError(
            f"{where}: {kind.__name__} has fields {sorted(names)}, the message has {sorted(given)}"
        )
    return kind(**{name: _value(tree[name], hints[name], f"{where}.{name}") for name in names})


def _scalar(tree: Any, kind: Any, where: str) -> Any:
    if kind is str and isinstance(tree, str):
        return tree
    if kind is bool and isinstance(tree, bool):
        return tree
    if kind is int and isinstance(tree, int) and not isinstance(tree, bool) and tree in _INT_RANGE:
        return tree
    if kind is bytes and isinstance(tree, str):
        try:
            raw = base64.b64decode(tree, validate=True)
        except ValueError:  # binascii.Error, and text that is not ASCII
            raise WireError(f"{where}: not base64") from None
        if base64.b64encode(raw).decode("ascii") != tree:
            raise WireError(f"{where}: not canonical base64")
        return raw
    if kind is datetime and isinstance(tree, str):
        try:
            moment = datetime.fromisoformat(tree)
        except ValueError:
            raise WireError(f"{where}: not an ISO-8601 time") from None
        if moment.utcoffset() is None:
            raise WireError(f"{where}: a time without a zone")
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise WireError(f"{where}: a time outside the years 1 to 9999 in UTC") from None
    if kind is UUID and isinstance(tree, str):
        try:
            return UUID(tree)
        except ValueError:
            raise WireError(f"{where}: not a GUID") from None
    raise WireError(f"{where}: expected {getattr(kind, '__name__', kind)}, got {type(tree).__name__}")
