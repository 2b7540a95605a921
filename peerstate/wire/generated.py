"""Decoders and tree writers written out as Python source, one function per class, and
compiled: a speed trick of the wire, kept here.

What it speeds up: a log's open decodes every event it holds, a sync every envelope of its
batches, and a snapshot of a large group makes the tree of every record. Through the
general decoders and ``plain``, a call per field cost as much as the field's checks, or
more than the encoding. Written out, as attrs writes ``__init__``, a class's decoder is one
function with each scalar field's checks inline (a GUID read from its hex digits without
``UUID.__init__``, a union of classes chosen by the tree's tag in place), and its tree
writer one dict display. By how much, measured on the golden encodings of
``tests/compat`` (a value of every wire type) against the careful decoders alone and a
``plain`` per field: a row's tree is decoded in a third less time (6 µs a value against
10), a message in a tenth to a fifth less (22 µs against 27, most of it parsing and the
spelling checks), and a value's tree made in two fifths less (1.5 µs against 2.5).

Where it is used: ``peerstate.wire.decoder`` (every attrs class's decoder, so ``decode``,
``decode_tree`` and ``tree_decoder``: sync messages, documents, snapshots),
``peerstate.wire.fields_decoder`` (a store's event rows, ``storage/store_format.py``) and
``peerstate.wire.plain`` (every attrs value's tree: ``canonical``, ``digest``, rows).

A written-out decoder takes the common way only and hands anything else to the careful
decoder it is given, which decodes it or says exactly where it is wrong, so the two cannot
disagree on what is accepted (``tests/test_wire.py`` checks that they do not). Each
function is named for its class (``decode_Envelope``, ``tree_of_Record``) and its source
kept in ``linecache`` under a filename of its own, as attrs does for the methods it writes:
tracebacks, pdb and ``inspect.getsource`` show it.
"""

from __future__ import annotations

import binascii
import linecache
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias, Union
from uuid import UUID, SafeUUID

import attrs
import pybase64

from peerstate.bounds import Bound
from peerstate.wire.spelling import INT_RANGE, SHORT_BASE64, TAG, base64_text

Decoder: TypeAlias = Callable[[Any], Any]
"""A function from a parsed JSON tree to the value it stands for."""
Fields: TypeAlias = tuple[tuple[str, Any], ...]
"""An object's fields in order, each name with its type."""
Nested: TypeAlias = Callable[[Any, bool, Bound | None], Decoder]
"""The decoder of a field of any type, canonical or not, held to its bound when it has one
(``peerstate.wire``'s ``_field_decoder``)."""


def tree_writer(
    kind: type, fields: Fields, plain: Callable[[Any], Any], added: frozenset[str] = frozenset(),
) -> Callable[[Any], dict[str, Any]]:
    """The function giving the tree of an attrs ``kind``'s value, whose ``fields`` they
    are: its tag, and each field as ``plain`` makes it, written out for the scalar types;
    any other value (of another type than its field's) goes through ``plain`` itself. An
    ``added`` field is left out when None."""
    name = f"tree_of_{kind.__name__}"
    lines = [f"def {name}(value):", *(f"    a{index} = value.{field}" for index, (field, _) in enumerate(fields))]
    lines += ["    tree = {", f"        {TAG!r}: {kind.__name__!r},"]
    lines += [
        f"        {field!r}: " + _WRITTEN_OUT.get(hint, "_plain({0})").format(f"a{index}") + ","
        for index, (field, hint) in enumerate(fields) if field not in added
    ]
    lines.append("    }")  # a field a line: a traceback shows the field whose plain() raised
    for index, (field, _) in enumerate(fields):
        if field in added:
            lines += [f"    if a{index} is not None:", f"        tree[{field!r}] = _plain(a{index})"]
    lines.append("    return tree")
    namespace: dict[str, Any] = {"_plain": plain, "_base64_text": base64_text, "_datetime": datetime, "_UTC": UTC, "_UUID": UUID}
    write: Callable[[Any], dict[str, Any]] = _compiled(name, f"tree writer of {_qualified(kind)}", lines, namespace)
    return write


_WRITTEN_OUT: Final = {
    str: "{0} if type({0}) is str else _plain({0})",
    int: "{0} if type({0}) is int else _plain({0})",
    bool: "{0} if type({0}) is bool else _plain({0})",
    bytes: "_base64_text({0}) if type({0}) is bytes else _plain({0})",
    datetime: "{0}.isoformat() if type({0}) is _datetime and {0}.tzinfo is _UTC else _plain({0})",
    UUID: "str({0}) if type({0}) is _UUID else _plain({0})",
}
"""How a field of each scalar type is made plain, written out."""


class _Unlike(Exception):
    """Raised by a written-out decoder's common way at the first thing it does not expect."""


def class_decoder(
    kind: type, fields: Fields, canonical: bool, careful: Decoder, nested: Nested, keep: Callable[[Any, Any], None] | None,
    bounds: Mapping[str, Bound], added: frozenset[str] = frozenset(),
) -> Decoder:
    """A decoder of the tree of an attrs ``kind``'s value, whose ``fields`` they are,
    tagged with its class name; with ``canonical``, only in the spelling ``plain`` writes.
    ``keep`` is given each value made, with its tree; a field named in ``bounds`` is held to
    its bound; an ``added`` field the tree lacks is None."""
    made = "_kind(" + ", ".join(f"a{index}" for index in range(len(fields))) + ")"
    title = f"{'canonical ' if canonical else ''}decoder of {_qualified(kind)}"
    return _decoder(
        f"decode_{kind.__name__}", title, fields, canonical, careful, nested, made=made, kind=kind, keep=keep, bounds=bounds,
        added=added,
    )


def fields_decoder(what: str, fields: Fields, careful: Decoder, nested: Nested) -> Decoder:
    """A decoder of a JSON object holding ``fields`` and no tag, as a dict of their values
    by name: a store's event row, which ``what`` names."""
    made = "{" + ", ".join(f"{name!r}: a{index}" for index, (name, _) in enumerate(fields)) + "}"
    return _decoder("decode_fields", f"decoder of a {what}", fields, False, careful, nested, made=made)


def _decoder(
    name: str, title: str, fields: Fields, canonical: bool, careful: Decoder, nested: Nested, *, made: str,
    kind: type | None = None, keep: Callable[[Any, Any], None] | None = None, bounds: Mapping[str, Bound] | None = None,
    added: frozenset[str] = frozenset(),
) -> Decoder:
    """The function ``name`` decoding an object of ``fields`` to the value the expression
    ``made`` makes of them (``kind``'s value, tagged, or a dict): each scalar field's checks
    inline, its bound's among them, no call per field. It takes the common way only (a time
    already in UTC); at anything else it hands the tree to ``careful``."""
    namespace: dict[str, Any] = {
        "_kind": kind, "_careful": careful, "_Unlike": _Unlike, "_keep": keep, "_b64decode": pybase64.b64decode, "_a2b": binascii.a2b_base64,
        "_base64_text": base64_text, "_fromiso": datetime.fromisoformat, "_UTC": UTC, "_UUID": UUID,
        "_INT_RANGE": INT_RANGE, "_new": object.__new__, "_set": object.__setattr__, "_UNKNOWN_SAFETY": SafeUUID.unknown,
    }
    size = f"{len(fields) - len(added) + (kind is not None)}" + "".join(f" + ({field!r} in tree)" for field, _ in fields if field in added)
    shape = f"type(tree) is not dict or len(tree) != {size}"
    if kind is not None:
        shape += f" or tree.get({TAG!r}) != {kind.__name__!r}"
    lines = [f"def {name}(tree):", f"    if {shape}:", "        return _careful(tree)", "    try:"]
    for index, (field, hint) in enumerate(fields):
        bound = (bounds or {}).get(field)
        read = _field_lines(hint, f"a{index}", canonical, nested, namespace, bound)
        if field in added:  # absent is None; a null is no value of its type, and goes to _careful
            lines += [f"        t = tree.get({field!r}, _careful)", "        if t is _careful:", f"            a{index} = None", "        else:"]
            lines.extend("            " + line for line in read)
        else:
            lines.append(f"        t = tree[{field!r}]")
            lines.extend("        " + line for line in read)
    lines += [f"        made = {made}", "    except Exception:", "        return _careful(tree)"]
    if keep is not None:
        lines.append("    _keep(made, tree)")
    lines.append("    return made")
    decode: Decoder = _compiled(name, title, lines, namespace)
    return decode


def _field_lines(hint: Any, target: str, canonical: bool, nested: Nested, namespace: dict[str, Any], bound: Bound | None) -> list[str]:
    """Statements that set ``target`` to the value of type ``hint`` in the tree ``t``, or
    raise: a scalar's checks written out, its ``bound``'s among them (a text's length, a
    number's range, and bytes' length, on their base64 before it is read), anything else
    its own decoder called."""
    text_length = within = ""
    if bound is not None:
        text_length = f" or not {bound.least} <= len(t) <= {bound.most}"
        within = f"if not {bound.least} <= len({target}) <= {bound.most}: raise _Unlike"
    scalar = {
        str: [f"if type(t) is not str{text_length}: raise _Unlike", f"{target} = t"],
        bool: ["if type(t) is not bool: raise _Unlike", f"{target} = t"],
        int: [
            f"if type(t) is not int or not {bound.least} <= t <= {bound.most}: raise _Unlike" if bound is not None
            else "if type(t) is not int or t not in _INT_RANGE: raise _Unlike",
            f"{target} = t",
        ],
        bytes: [f"if type(t) is not str{_base64_length(bound)}: raise _Unlike", f"{target} = _b64decode(t, None, True) if len(t) > {SHORT_BASE64} else _a2b(t, strict_mode=True)"]  # from_base64
        + ([within] if within else []) + ([f"if _base64_text({target}) != t: raise _Unlike"] if canonical else []),
        datetime: ["if type(t) is not str: raise _Unlike", f"{target} = _fromiso(t)", f"if {target}.tzinfo is not _UTC: raise _Unlike"]
        + ([f"if {target}.isoformat() != t: raise _Unlike"] if canonical else []),
        UUID: _uuid_lines(target, canonical),
    }.get(hint)
    if scalar is not None:
        return scalar
    kinds = typing.get_args(hint) if typing.get_origin(hint) in (Union, types.UnionType) else ()
    if kinds and all(attrs.has(kind) for kind in kinds):
        return _union_lines(kinds, target, canonical, nested, namespace)
    function = f"_decode_{target}"
    namespace[function] = nested(hint, canonical, bound)
    return [f"{target} = {function}(t)"]


def _base64_length(bound: Bound | None) -> str:
    """The check that base64 text is no longer than what ``bound``'s most bytes are written
    in: a field far over its bound is refused before any of it is read."""
    return "" if bound is None else f" or len(t) > {4 * -(-bound.most // 3)}"


def _union_lines(kinds: tuple[Any, ...], target: str, canonical: bool, nested: Nested, namespace: dict[str, Any]) -> list[str]:
    """A union of attrs classes as the decoder of the class its tree's tag names, chosen
    in place of a call of the union's decoder (a row's event and its envelope's payload
    are both unions). A tree that is not a tagged object fails the lookup, and goes to
    the careful decoder as any other."""
    tags = f"_tags_{target}"
    namespace[tags] = {kind.__name__: nested(kind, canonical, None) for kind in kinds}
    return [f"{target} = {tags}[t[{TAG!r}]](t)"]


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


def _qualified(kind: type) -> str:
    """``kind``'s module and qualified name: a filename tells classes of one name apart."""
    return f"{kind.__module__}.{kind.__qualname__}"


def _compiled(name: str, title: str, lines: list[str], namespace: dict[str, Any]) -> Any:
    """The function ``name`` that ``lines`` define, run with ``namespace`` as its globals
    (``__module__`` this module, which made it). Its source is kept in ``linecache``
    first, as attrs keeps the methods it writes: tracebacks, pdb and ``inspect.getsource``
    read a function's source from there, and find none for a filename that is no file."""
    source = "".join(f"{line}\n" for line in lines)
    namespace["__name__"] = __name__
    exec(compile(source, _kept(source, title), "exec"), namespace)
    return namespace[name]


def _kept(source: str, title: str) -> str:
    """The filename under which ``linecache`` holds ``source``: ``<peerstate generated
    TITLE>``, or ``<peerstate generated TITLE-N>`` when another source has that name
    already (classes of one qualified name). The same source shares its filename."""
    lines = source.splitlines(keepends=True)
    count = 0
    while True:
        filename = f"<peerstate generated {title}-{count}>" if count else f"<peerstate generated {title}>"
        entry = (len(source), None, lines, filename)
        if linecache.cache.setdefault(filename, entry) == entry:
            return filename
        count += 1
