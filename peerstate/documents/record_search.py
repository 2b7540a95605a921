"""The query of ``PeerGroupSearchRecords`` (the Record Search Query Format) and its evaluation.

A query is read once into values (``Clause``, ``AllOf``, ``AnyOf``) and then evaluated
against the typed attributes of each record, so no record's text is read per clause and no
query text is read per record. The query comes from the caller and is parsed like any
untrusted text (``formats.safe_parse``); its depth and clause count are capped, and string
patterns are compiled so that matching never backtracks, so no query can cost much.

Where Windows does not say, peerstate chooses, and these choices are part of the contract:

- A clause holds only when the record has an attribute of exactly that name and of the
  clause's type; a missing attribute or one of another type makes the clause false, for
  ``notequal`` too, so ``notequal`` never selects records that lack the attribute.
- String comparisons are case-sensitive, and ``less``, ``greater`` and the others order
  strings by code point, with wildcards taken literally (``\\*`` and ``*`` both mean ``*``).
- Elements must be in no namespace: declarations (``xmlns:xs``) are allowed anywhere, but a
  default namespace (``xmlns="..."``) makes ``<peersearch>`` another element, which is refused.

Everything malformed is ``PEER_E_INVALID_SEARCH``, except the one case Windows documents as
``E_INVALIDARG``: a backslash in a string value that does not escape ``*``, ``?`` or ``\\``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final, Literal, TypeAlias, TypeGuard, TypeVar, get_args
from xml.etree.ElementTree import Element

import attrs

from peerstate.bounds import MAX_SEARCH_CLAUSES, MAX_SEARCH_DEPTH
from peerstate.documents import formats
from peerstate.errors import InvalidArgument
from peerstate.registry import Refusal, rule
from peerstate.documents.record_attributes import (
    Attribute,
    AttributeType,
    AttributeValue,
    is_attribute_name,
    is_attribute_type,
    parse_scalar,
    require_elements_only,
    value_of_declared_type,
)

Compare: TypeAlias = Literal["equal", "notequal", "less", "greater", "lessorequal", "greaterorequal"]

_ESCAPABLE: Final = frozenset("*?\\")
_ORDERS: Final[Mapping[Compare, frozenset[int]]] = {
    "equal": frozenset({0}), "notequal": frozenset({-1, 1}),
    "less": frozenset({-1}), "greater": frozenset({1}),
    "lessorequal": frozenset({-1, 0}), "greaterorequal": frozenset({0, 1}),
}
"""For each comparison, the orders of the record's value against the clause's that satisfy it."""
_Ordered = TypeVar("_Ordered", str, int, datetime)


@attrs.frozen
class Wildcard:
    """A string clause's value: ``text`` with its escapes undone, which the orderings compare,
    and ``pattern``, which ``equal`` and ``notequal`` match against the whole attribute."""

    text: str
    pattern: re.Pattern[str]

    def matches(self, value: str) -> bool:
        return self.pattern.fullmatch(value) is not None


ClauseValue: TypeAlias = Wildcard | int | datetime


@attrs.frozen
class Clause:
    """One ``<clause>``: ``attribute`` compared with ``value``, which is of ``type``."""

    attribute: str
    type: AttributeType
    compare: Compare
    value: ClauseValue = attrs.field(
        validator=value_of_declared_type({"string": Wildcard, "int": int, "date": datetime})
    )


@attrs.frozen
class AllOf:
    """An ``<and>``."""

    parts: tuple[Query, ...]


@attrs.frozen
class AnyOf:
    """An ``<or>``."""

    parts: tuple[Query, ...]


Query: TypeAlias = Clause | AllOf | AnyOf


def is_compare(text: str) -> TypeGuard[Compare]:
    return text in get_args(Compare)


def read_wildcard(text: str) -> Wildcard:
    """The pattern of a string clause: ``*`` any run of characters, ``?`` any one character,
    ``\\*``, ``\\?`` and ``\\\\`` those characters themselves; another backslash is ``E_INVALIDARG``.

    The pattern is anchored pieces between stars. Each middle piece is matched at its leftmost
    place and kept there (an atomic group): a later place never leaves more room for what
    follows, so nothing is retried, and matching costs at most the value's length times the
    pattern's, whatever the stars. Consecutive stars are one star.
    """
    string_value_escapes_are_known(text)
    unescaped: list[str] = []
    pieces: list[str] = [""]
    characters = iter(text)
    for character in characters:
        if character == "*":
            if pieces[-1] or len(pieces) == 1:
                pieces.append("")
        elif character == "?":
            pieces[-1] += "."
        else:
            if character == "\\":
                character = next(characters)  # an escapable one: string_value_escapes_are_known
            pieces[-1] += re.escape(character)
        unescaped.append(character)
    first, *rest = pieces
    source = first if not rest else first + "".join(f"(?>.*?{piece})" for piece in rest[:-1]) + ".*" + rest[-1]
    return Wildcard("".join(unescaped), re.compile(source, re.DOTALL))


@rule("E_INVALIDARG")
def string_value_escapes_are_known(text: str) -> None:
    """A backslash in a string clause's value escapes ``*``, ``?`` or a backslash, and nothing
    else (``E_INVALIDARG``)."""
    characters = iter(text)
    for character in characters:
        if character == "\\":
            escaped = next(characters, "")
            if escaped not in _ESCAPABLE:
                found = f"before {escaped!r}" if escaped else "at its end"
                raise Refusal(
                    f"pwzCriteria: the string value {text!r} has a backslash {found};"
                    " a backslash may only escape *, ? or \\"
                )


def read_search(text: str) -> Query:
    """The query of ``pwzCriteria``: ``PEER_E_INVALID_SEARCH`` saying what is wrong where, or
    ``E_INVALIDARG`` for a bad escape in a string value."""
    return search_is_well_formed(text)


@rule("PEER_E_INVALID_SEARCH")
def search_is_well_formed(text: str) -> Query:
    """A search is a ``<peersearch>`` document of the search schema, one ``<clause>``,
    ``<and>`` or ``<or>`` at its top, nested at most ``MAX_SEARCH_DEPTH`` deep with at most
    ``MAX_SEARCH_CLAUSES`` clauses, each naming an attribute, a type, a comparison and a value of
    that type (``PEER_E_INVALID_SEARCH``): the query. A malformed query is refused here
    before a bad escape in it is (``string_value_escapes_are_known``)."""
    try:
        root = formats.safe_parse(text)
        if root.tag != "peersearch":
            raise formats.MalformedDocument(f"the root element is <{root.tag}>, not <peersearch>")
        _require_structure(root, "/peersearch")
        if len(root) != 1:
            raise formats.MalformedDocument("<peersearch> must contain exactly one <clause>, <and> or <or>")
        if (clauses := sum(1 for _ in root.iter("clause"))) > MAX_SEARCH_CLAUSES:
            raise formats.MalformedDocument(f"the query has {clauses} clauses; at most {MAX_SEARCH_CLAUSES} are read")
        try:
            return _query(root[0], f"/peersearch/{root[0].tag}", 1, escapes=True)
        except InvalidArgument:
            _query(root[0], f"/peersearch/{root[0].tag}", 1, escapes=False)  # a malformed query comes first
            raise
    except formats.MalformedDocument as error:
        raise Refusal(f"pwzCriteria: {error}") from None


def _require_structure(element: Element, where: str) -> None:
    """``<peersearch>``, ``<and>`` and ``<or>`` hold elements only and have no XML attributes
    (namespace declarations are not attributes once parsed)."""
    if element.attrib:
        raise formats.MalformedDocument(f"{where} has XML attributes {sorted(element.attrib)}; it may have none")
    try:
        require_elements_only(element)
    except formats.MalformedDocument as error:
        raise formats.MalformedDocument(f"{where}: {error}") from None


def _query(element: Element, where: str, depth: int, *, escapes: bool) -> Query:
    """The query below ``element``; with ``escapes`` False, string values are read as if
    every backslash were escaped, so that only ``PEER_E_INVALID_SEARCH`` can come out."""
    if element.tag == "clause":
        return _clause(element, where, escapes)
    if element.tag not in ("and", "or"):
        raise formats.MalformedDocument(f"{where}: <{element.tag}> is not <clause>, <and> or <or>")
    if depth > MAX_SEARCH_DEPTH:
        raise formats.MalformedDocument(f"{where}: <and> and <or> nest more than {MAX_SEARCH_DEPTH} deep")
    _require_structure(element, where)
    if not len(element):
        raise formats.MalformedDocument(f"{where} must contain at least one <clause>, <and> or <or>")
    parts = tuple(
        _query(child, f"{where}/{child.tag}[{index}]", depth + 1, escapes=escapes) for index, child in enumerate(element, 1)
    )
    return AllOf(parts) if element.tag == "and" else AnyOf(parts)


def _clause(element: Element, where: str, escapes: bool) -> Clause:
    if len(element):
        raise formats.MalformedDocument(f"{where} contains <{element[0].tag}>; a clause's value is text only")
    if not {"attrib", "type"} <= element.attrib.keys() <= {"attrib", "type", "compare"}:
        raise formats.MalformedDocument(
            f"{where} has XML attributes {sorted(element.attrib)}; it needs attrib and type, and may have compare"
        )
    name, type_ = element.attrib["attrib"], element.attrib["type"]
    compare = element.attrib.get("compare", "equal")
    if not is_attribute_name(name):
        raise formats.MalformedDocument(f"{where}: attrib {name!r} is not letters and digits only")
    if not is_attribute_type(type_):
        raise formats.MalformedDocument(f"{where}: type {type_!r} is not string, date or int")
    if not is_compare(compare):
        raise formats.MalformedDocument(f"{where}: compare {compare!r} is not one of {', '.join(_ORDERS)}")
    text = element.text or ""
    if type_ == "string":
        return Clause(name, type_, compare, read_wildcard(text if escapes else text.replace("\\", "\\\\")))
    try:
        return Clause(name, type_, compare, parse_scalar(type_, text))
    except ValueError as error:
        raise formats.MalformedDocument(f"{where}: {error}") from None


def matches(query: Query, attributes: Iterable[Attribute]) -> bool:
    """Whether a record with ``attributes`` (its own and the reserved ones the caller adds)
    is selected by ``query``."""
    return _holds(query, tuple(attributes))


def _holds(query: Query, attributes: tuple[Attribute, ...]) -> bool:
    match query:
        case AllOf(parts):
            return all(_holds(part, attributes) for part in parts)
        case AnyOf(parts):
            return any(_holds(part, attributes) for part in parts)
        case Clause():
            return any(
                attribute.name == query.attribute and _satisfies(query, attribute.value) for attribute in attributes
            )


def _satisfies(clause: Clause, value: AttributeValue) -> bool:
    """Values pair by their Python types, which ``Attribute`` and ``Clause`` tie to their
    declared types, so a value of another type than the clause's pairs with no case."""
    match clause.value, value:
        case Wildcard() as wildcard, str() as string if clause.compare in ("equal", "notequal"):
            return wildcard.matches(string) == (clause.compare == "equal")
        case Wildcard() as wildcard, str() as string:
            return _order(string, wildcard.text) in _ORDERS[clause.compare]
        case int() as wanted, int() as number:
            return _order(number, wanted) in _ORDERS[clause.compare]
        case datetime() as wanted, datetime() as moment:
            return _order(moment, wanted) in _ORDERS[clause.compare]
    return False


def _order(left: _Ordered, right: _Ordered) -> int:
    return (left > right) - (left < right)
