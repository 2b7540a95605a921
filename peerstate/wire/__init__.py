"""The canonical encoding of events and sync messages, and its strict decoding.

One encoding serves two jobs. Signatures and envelope ids are computed over it, so it must
give one byte string per value: orjson with sorted keys, bytes as base64, times as
ISO-8601 UTC, each attrs value tagged with its class name. And sync messages travel in it,
so decoding is strict: the expected type directs it, and anything that is not exactly a
value of that type (an unknown or missing field, a wrong type, a bool for an int, a naive
time, another spelling of the same value) is refused with ``WireError`` before any of it is
used. A store's rows hold the same trees and are read by the same decoders, without the
spelling checks, which the audit makes on every row.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import types
import typing
from datetime import UTC, datetime
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final, Literal, TypeAlias, TypeVar, Union
from uuid import UUID, SafeUUID

import attrs
import orjson
import pybase64

from peerstate.storage.bulk import young_collections_only

MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024
"""Larger than any honest sync batch; a cap, so a hostile peer cannot make us parse more."""
_TAG: Final = "@type"
_INT_RANGE: Final = range(-(2**63), 2**63)
_T = TypeVar("_T")
_SHORT_BASE64: Final = 64
"""Base64 text up to this length is read by ``binascii``, longer by ``pybase64``: its SIMD
reads a signature's 344 characters in a fifth of ``binascii``'s time, but its call alone
costs more than ``binascii``'s whole read of a 44-character digest."""


def base64_text(raw: bytes) -> str:
    """``raw`` in standard base64, padded, on one line: how the wire writes bytes."""
    text: str = pybase64.b64encode_as_string(raw)
    return text


def from_base64(text: str) -> bytes:
    """The bytes strict standard base64 ``text`` stands for; ``ValueError`` (``binascii.Error``)
    for anything but the alphabet with its padding, or for text that is not ASCII. Only
    ``binascii`` lets padding after whole groups of four pass: a spelling ``base64_text``
    never writes, which canonical decoding refuses whatever its length."""
    if len(text) > _SHORT_BASE64:
        raw: bytes = pybase64.b64decode(text, None, True)  # positional: its keywords' parsing costs as much as the read
        return raw
    return binascii.a2b_base64(text, strict_mode=True)


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


_WRITTEN_OUT: Final = {
    str: "{0} if type({0}) is str else _plain({0})",
    int: "{0} if type({0}) is int else _plain({0})",
    bool: "{0} if type({0}) is bool else _plain({0})",
    bytes: "_base64_text({0}) if type({0}) is bytes else _plain({0})",
    datetime: "{0}.isoformat() if type({0}) is _datetime and {0}.tzinfo is _UTC else _plain({0})",
    UUID: "str({0}) if type({0}) is _UUID else _plain({0})",
}
"""How a field of each scalar type is made plain, written out; any other value (of another
type than its field's) goes through ``plain``, so the two give the same tree."""


@functools.cache
def _tree_writer(kind: type) -> Callable[[Any], dict[str, Any]]:
    """The function giving the tree of an attrs ``kind``'s value, written out as one
    function as its decoder is (``_generated_decoder``): a snapshot of a large group makes
    the trees of all its records, and a call of ``plain`` per field cost more than the
    encoding."""
    hints = typing.get_type_hints(kind)
    names = _field_names(kind)
    lines = ["def generated(value):", *(f"    a{index} = value.{name}" for index, name in enumerate(names))]
    fields = ", ".join(
        f"{name!r}: " + _WRITTEN_OUT.get(hints[name], "_plain({0})").format(f"a{index}") for index, name in enumerate(names)
    )
    lines.append(f"    return {{{_TAG!r}: {kind.__name__!r}, {fields}}}")
    namespace: dict[str, Any] = {"_plain": plain, "_base64_text": base64_text, "_datetime": datetime, "_UTC": UTC, "_UUID": UUID}
    write: Callable[[Any], dict[str, Any]] = _compiled(lines, f"tree writer of {kind.__qualname__}", namespace)
    return write


def _compiled(lines: list[str], title: str, namespace: dict[str, Any]) -> Any:
    """The function ``generated`` that ``lines`` define, run in ``namespace``; ``title`` names it in tracebacks."""
    exec(compile("\n".join(lines), f"<wire {title}>", "exec"), namespace)
    return namespace["generated"]


_ENCODERS: Final[dict[type, Callable[[Any], Any]]] = {}


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
    canonical base64, a time in UTC as ``isoformat`` writes it, a GUID in lower case), and
    the tree of each attrs value is kept as its encoding: a received envelope is not
    encoded again for its id and signature. A store's rows are read without: the audit
    checks that each row is exactly as peerstate writes it."""
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
    """A part of a tree that is not a value of its type; ``where`` grows as it goes up."""

    def __init__(self, problem: str, where: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.where = where

    def inside(self, step: str) -> _Mismatch:
        return _Mismatch(self.problem, step + self.where)


Decoder: TypeAlias = Callable[[Any], Any]


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


def _attrs_decoder(kind: type, canonical: bool) -> Decoder:
    hints = typing.get_type_hints(kind)
    names = _field_names(kind)
    decoders = tuple(decoder(hints[name], canonical) for name in names)
    tag = kind.__name__

    def careful(tree: Any) -> Any:
        if type(tree) is not dict or tree.get(_TAG) != tag:
            raise _Mismatch(f"expected a {tag}")
        made = kind(*_decoded_fields(tree, tag, names, decoders, (_TAG,)))
        if canonical:
            _TREES.keep(made, tree)
        return made

    return _generated_decoder(names, [hints[name] for name in names], canonical, careful, kind)


def fields_decoder(fields: tuple[tuple[str, Any], ...], what: str) -> Callable[[Any], dict[str, Any]]:
    """The function giving a dict of the values a JSON object holds, one of each type in
    ``fields`` (name, type) and no more, or ``WireError``: a store's event row, whose
    class ``what`` stands for."""
    names = tuple(name for name, _ in fields)
    decoders = tuple(decoder(hint) for _, hint in fields)

    def careful(tree: Any) -> dict[str, Any]:
        if type(tree) is not dict:
            raise _Mismatch(f"expected a {what}")
        return dict(zip(names, _decoded_fields(tree, what, names, decoders)))

    return _checked(_generated_decoder(names, [hint for _, hint in fields], False, careful))


def _decoded_fields(tree: dict[str, Any], what: str, names: tuple[str, ...], decoders: tuple[Decoder, ...], tags: tuple[str, ...] = ()) -> list[Any]:
    """Each field's value, in order, with where the first one wrong is wrong."""
    if tree.keys() != {*tags, *names}:
        raise _Mismatch(f"{what} has fields {sorted(names)}, the message has {sorted(set(tree) - set(tags))}")
    values = []
    for name, decode in zip(names, decoders):
        try:
            values.append(decode(tree[name]))
        except _Mismatch as mismatch:
            raise mismatch.inside(f".{name}") from None
    return values


class _Unlike(Exception):
    """Raised by a generated decoder's fast way at the first thing it does not expect."""


def _generated_decoder(names: tuple[str, ...], hints: list[Any], canonical: bool, careful: Decoder, kind: type | None = None) -> Decoder:
    """A decoder of the JSON object with fields ``names`` of types ``hints``, as an attrs
    ``kind`` (tagged) or else as a dict, written out as one function, as attrs writes
    ``__init__``: the checks of each scalar field inline, no call per field. A log's open
    decodes every event it holds, and calling a checker per field cost as much as the
    checks. It takes the common way only (a time already in UTC); at anything else it
    hands the tree to ``careful``, which decodes it or says exactly where it is wrong, so
    the two cannot disagree on what is accepted."""
    namespace: dict[str, Any] = {
        "_kind": kind, "_careful": careful, "_Unlike": _Unlike, "_keep": _TREES.keep, "_b64decode": pybase64.b64decode, "_a2b": binascii.a2b_base64,
        "_base64_text": base64_text, "_fromiso": datetime.fromisoformat, "_UTC": UTC, "_UUID": UUID,
        "_INT_RANGE": _INT_RANGE, "_new": object.__new__, "_set": object.__setattr__, "_UNKNOWN_SAFETY": SafeUUID.unknown,
    }
    shape = f"type(tree) is not dict or len(tree) != {len(names) + (kind is not None)}"
    if kind is not None:
        shape += f" or tree.get({_TAG!r}) != {kind.__name__!r}"
    lines = ["def generated(tree):", f"    if {shape}:", "        return _careful(tree)", "    try:"]
    for index, (name, hint) in enumerate(zip(names, hints)):
        lines.append(f"        t = tree[{name!r}]")
        lines.extend("        " + line for line in _field_lines(hint, f"a{index}", canonical, namespace))
    if kind is None:
        made = "{" + ", ".join(f"{name!r}: a{index}" for index, name in enumerate(names)) + "}"
    else:
        made = "_kind(" + ", ".join(f"a{index}" for index in range(len(names))) + ")"
    lines += [f"        made = {made}", "    except Exception:", "        return _careful(tree)"]
    if canonical and kind is not None:
        lines.append("    _keep(made, tree)")
    lines.append("    return made")
    decode: Decoder = _compiled(lines, f"decoder of {kind.__qualname__ if kind else names}", namespace)
    return decode


def _field_lines(hint: Any, target: str, canonical: bool, namespace: dict[str, Any]) -> list[str]:
    """Statements that set ``target`` to the value of type ``hint`` in the tree ``t``, or
    raise: a scalar's checks written out, anything else its own decoder called."""
    scalar = {
        str: ["if type(t) is not str: raise _Unlike", f"{target} = t"],
        bool: ["if type(t) is not bool: raise _Unlike", f"{target} = t"],
        int: ["if type(t) is not int or t not in _INT_RANGE: raise _Unlike", f"{target} = t"],
        bytes: ["if type(t) is not str: raise _Unlike", f"{target} = _b64decode(t, None, True) if len(t) > {_SHORT_BASE64} else _a2b(t, strict_mode=True)"]  # from_base64
        + ([f"if _base64_text({target}) != t: raise _Unlike"] if canonical else []),
        datetime: ["if type(t) is not str: raise _Unlike", f"{target} = _fromiso(t)", f"if {target}.tzinfo is not _UTC: raise _Unlike"]
        + ([f"if {target}.isoformat() != t: raise _Unlike"] if canonical else []),
        UUID: _uuid_lines(target, canonical),
    }.get(hint)
    if scalar is not None:
        return scalar
    kinds = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else ()
    if kinds and all(attrs.has(kind) for kind in kinds):
        return _union_lines(kinds, target, canonical, namespace)
    function = f"_decode_{target}"
    namespace[function] = decoder(hint, canonical)
    return [f"{target} = {function}(t)"]


def _union_lines(kinds: tuple[Any, ...], target: str, canonical: bool, namespace: dict[str, Any]) -> list[str]:
    """A union of attrs classes as the decoder of the class its tree's tag names, chosen
    in place of a call of the union's decoder (a row's event and its envelope's payload
    are both unions). A tree that is not a tagged object fails the lookup, and goes to
    the careful decoder as any other."""
    tags = f"_tags_{target}"
    namespace[tags] = {kind.__name__: decoder(kind, canonical) for kind in kinds}
    return [f"{target} = {tags}[t[{_TAG!r}]](t)"]


def _uuid_lines(target: str, canonical: bool) -> list[str]:
    """A GUID's hex digits read as ``UUID(t)`` reads them, and the ``UUID`` made as its own
    ``__init__`` makes it, less the forms that only ``__init__`` knows (braces, a URN): two
    per record, and ``UUID(t)`` cost as much as the rest of a record's fields. Canonical:
    only 32 lower-case digits, hyphens where ``str`` puts them."""
    shape = "type(t) is not str"
    if canonical:
        shape += " or len(t) != 36 or t[8] != '-' or t[13] != '-' or t[18] != '-' or t[23] != '-'"
    lines = [f"if {shape}: raise _Unlike", "h = t.replace('-', '')", "if len(h) != 32: raise _Unlike", "n = int(h, 16)"]
    if canonical:
        lines.append("if '%032x' % n != h: raise _Unlike")
    return lines + [f"{target} = _new(_UUID)", f"_set({target}, 'int', n)", f"_set({target}, 'is_safe', _UNKNOWN_SAFETY)"]


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
