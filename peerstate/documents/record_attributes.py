"""A record's attributes: the XML of ``PEER_RECORD.pwzAttributes`` (the Record Attribute Schema).

The attributes are what ``PeerGroupSearchRecords`` searches, so they are read into typed
values once, when the text comes in, and every search compares values rather than text. The
text comes from other members, so it is parsed with ``formats.safe_parse`` and must have
exactly the documented shape; anything else is ``PEER_E_INVALID_ATTRIBUTES``.

The checks and value parsers that the search query format shares with this one are public
here, so that a query and a record agree on what a name, an int and a date are.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Final, Literal, Protocol, TypeAlias, TypeGuard, get_args
from xml.etree.ElementTree import Element

import attrs

from peerstate.documents import formats
from peerstate.registry import Refusal, rule

AttributeType: TypeAlias = Literal["string", "date", "int"]
AttributeValue: TypeAlias = str | int | datetime
"""A ``str`` for ``string``, an ``int`` for ``int``, an aware UTC ``datetime`` for ``date``."""

RESERVED_ATTRIBUTE_NAMES: Final[frozenset[str]] = frozenset({
    "peerlastmodifiedby", "peercreatorid", "peerlastmodificationtime",
    "peerrecordid", "peerrecordtype", "peercreationtime",
})
"""Names the infrastructure gives every record; a record may not carry them itself, in any case."""

XML_WHITESPACE: Final = " \t\r\n"
"""XML's own white space: a no-break space between elements is text, not layout."""

_PYTHON_TYPES: Final[Mapping[AttributeType, type]] = {"string": str, "int": int, "date": datetime}
_INT64: Final = re.compile(r"[+-]?[0-9]+")
_INT64_DIGITS: Final = 19
_W3C_DATETIME: Final = re.compile(
    r"(?P<year>[0-9]{4})(?:-(?P<month>[0-9]{2})(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?:Z|(?P<sign>[+-])(?P<zone_hour>[0-9]{2}):(?P<zone_minute>[0-9]{2})))?)?)?"
)
_CACHED_TEXTS: Final = 1024
"""Enough for the records a search goes over again and again, while a hostile stream of
distinct texts (at most ``formats.MAX_DOCUMENT_CHARS`` each) can hold only so much memory."""


class Typed(Protocol):
    """A value that declares its type: an attribute, or a search clause."""

    @property
    def type(self) -> AttributeType: ...


def value_of_declared_type(
    python_types: Mapping[AttributeType, type],
) -> Callable[[Typed, attrs.Attribute[Any], object], None]:
    """An attrs validator: a value built by hand (the reserved attributes a search is given)
    cannot declare one type and hold another, nor hold a date that cannot be compared with
    the others, so a search can tell a value's type from its Python type."""

    def check(instance: Typed, field: attrs.Attribute[Any], value: object) -> None:
        if (
            not isinstance(value, python_types[instance.type]) or isinstance(value, bool)
            or (isinstance(value, datetime) and value.utcoffset() is None)
        ):
            raise TypeError(f"a {instance.type} {field.name} cannot be {type(value).__name__} {value!r}")

    return check


@attrs.frozen
class Attribute:
    """One ``<attribute>``, its value already read as its type."""

    name: str
    type: AttributeType
    value: AttributeValue = attrs.field(validator=value_of_declared_type(_PYTHON_TYPES))


def is_attribute_type(text: str) -> TypeGuard[AttributeType]:
    return text in get_args(AttributeType)


def is_attribute_name(text: str) -> bool:
    """Letters and decimal digits only, as the schema says "alphanumeric": Unicode letters and
    digits count, but not other numerals (``²``, ``Ⅻ``) nor combining marks."""
    return bool(text) and all(char.isalpha() or char.isdecimal() for char in text)


def parse_int64(text: str) -> int:
    """An optional sign and decimal digits that fit a signed 64-bit integer, or ``ValueError``.

    The digits are counted before ``int`` reads them, so a long run of digits costs nothing and
    leading zeros never hit Python's limit on the length of an integer's text."""
    if _INT64.fullmatch(text) is None:
        raise ValueError(f"{text!r} is not an optional sign and decimal digits")
    sign = "-" if text.startswith("-") else ""
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) <= _INT64_DIGITS and -(2**63) <= (value := int(sign + digits)) < 2**63:
        return value
    raise ValueError(f"{text!r} does not fit in a signed 64-bit integer")


def parse_w3c_datetime(text: str) -> datetime:
    """A W3C date-time (https://www.w3.org/TR/NOTE-datetime) as an aware UTC ``datetime``.

    Missing parts are the earliest (``2003`` is 2003-01-01T00:00Z), so that a date alone can
    be compared with a full time. Fractions of a second beyond microseconds are cut off, not
    rounded: rounding up could carry into the next second, minute or year. Anything else,
    including dates not on the calendar and instants outside ``datetime``'s range once in UTC,
    is ``ValueError``.
    """
    match = _W3C_DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a W3C date-time (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.s]]TZD)")
    part = match.groupdict()
    try:
        local = datetime(
            int(part["year"]), int(part["month"] or 1), int(part["day"] or 1),
            int(part["hour"] or 0), int(part["minute"] or 0), int(part["second"] or 0),
            int((part["fraction"] or "").ljust(6, "0")[:6]), _zone(part["sign"], part["zone_hour"], part["zone_minute"]),
        )
        return local.astimezone(timezone.utc)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"{text!r} is not a valid date-time: {error}") from None


def _zone(sign: str | None, hours: str | None, minutes: str | None) -> timezone:
    if sign is None or hours is None or minutes is None:
        return timezone.utc
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"the time zone {sign}{hours}:{minutes} is not hh:mm")
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-offset if sign == "-" else offset)


def parse_scalar(kind: Literal["int", "date"], text: str) -> int | datetime:
    """The value of an int or date in either format, white space around it allowed."""
    value = text.strip(XML_WHITESPACE)
    return parse_int64(value) if kind == "int" else parse_w3c_datetime(value)


def require_elements_only(element: Element) -> None:
    """``MalformedDocument`` if ``element`` has text that is not layout between its children."""
    if (element.text or "").strip(XML_WHITESPACE) or any(
        (child.tail or "").strip(XML_WHITESPACE) for child in element
    ):
        raise formats.MalformedDocument(f"<{element.tag}> has text outside its elements")


def read_attributes(text: str | None) -> tuple[Attribute, ...]:
    """The attributes of a record's ``pwzAttributes``, in document order; no text, none.

    Raises ``PEER_E_INVALID_ATTRIBUTES`` saying what is wrong where. The result is cached,
    which is safe because it is immutable.
    """
    return _read_attributes(text) if text else ()


@functools.lru_cache(maxsize=_CACHED_TEXTS)
def _read_attributes(text: str) -> tuple[Attribute, ...]:
    attributes = attributes_follow_the_schema(text)
    attribute_names_are_unique(attributes)
    return attributes


@rule("PEER_E_INVALID_ATTRIBUTES")
def attributes_follow_the_schema(text: str) -> tuple[Attribute, ...]:
    """A record's attributes are an ``<attributes>`` document of the record attribute schema:
    ``<attribute name type>`` elements of text only, each name letters and digits and not a
    reserved one, each value of its declared type (``PEER_E_INVALID_ATTRIBUTES``): the
    attributes, in document order."""
    try:
        root = formats.safe_parse(text)
        if root.tag != "attributes":
            raise formats.MalformedDocument(f"the root element is <{root.tag}>, not <attributes>")
        if root.attrib:
            raise formats.MalformedDocument(f"<attributes> has XML attributes {sorted(root.attrib)}; it may have none")
        require_elements_only(root)
        return tuple(map(_attribute, root))
    except formats.MalformedDocument as error:
        raise Refusal(f"pwzAttributes: {error}") from None


@rule("PEER_E_INVALID_ATTRIBUTES")
def attribute_names_are_unique(attributes: tuple[Attribute, ...]) -> None:
    """A record names each of its attributes once (``PEER_E_INVALID_ATTRIBUTES``)."""
    counts = Counter(attribute.name for attribute in attributes)
    if duplicates := sorted(name for name, count in counts.items() if count > 1):
        raise Refusal(f"pwzAttributes: the attribute names {duplicates} are given more than once")


def _attribute(element: Element) -> Attribute:
    if element.tag != "attribute":
        raise formats.MalformedDocument(f"<attributes> contains <{element.tag}>; only <attribute> is allowed")
    if set(element.attrib) != {"name", "type"}:
        raise formats.MalformedDocument(
            f"<attribute> has XML attributes {sorted(element.attrib)}; it must have exactly name and type"
        )
    name, type_ = element.attrib["name"], element.attrib["type"]
    where = f"<attribute name={name!r}>"
    if not is_attribute_name(name):
        raise formats.MalformedDocument(f"{where}: a name must be letters and digits only")
    if name.casefold() in RESERVED_ATTRIBUTE_NAMES:
        raise formats.MalformedDocument(f"{where}: the name is reserved for the record's own properties")
    if not is_attribute_type(type_):
        raise formats.MalformedDocument(f"{where}: type {type_!r} is not string, date or int")
    if len(element):
        raise formats.MalformedDocument(f"{where} contains <{element[0].tag}>; a value is text only")
    text = element.text or ""
    if type_ == "string":
        return Attribute(name, type_, text)
    try:
        return Attribute(name, type_, parse_scalar(type_, text))
    except ValueError as error:
        raise formats.MalformedDocument(f"{where}: {error}") from None
