"""Record attribute XML: every documented shape read into typed values, everything else refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peerstate.bounds import MAX_DOCUMENT_CHARS
from peerstate.errors import PeerError
from peerstate.documents.record_attributes import (
    RESERVED_ATTRIBUTE_NAMES,
    Attribute,
    AttributeType,
    AttributeValue,
    parse_int64,
    parse_w3c_datetime,
    read_attributes,
)

UTC = timezone.utc
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def document(*attributes: tuple[str, str, str]) -> str:
    return "<attributes>" + "".join(
        f"<attribute name={quoteattr(name)} type={quoteattr(kind)}>{escape(value)}</attribute>"
        for name, kind, value in attributes
    ) + "</attributes>"


def refused(text: str, reason: str, rule: str = "attributes_follow_the_schema") -> None:
    with pytest.raises(PeerError, match=reason) as caught:
        read_attributes(text)
    assert (caught.value.rule, caught.value.name) == (rule, "PEER_E_INVALID_ATTRIBUTES")
    assert "pwzAttributes" in caught.value.message


@pytest.mark.parametrize("text", [None, ""])
def test_no_text_is_no_attributes(text: str | None) -> None:
    assert read_attributes(text) == ()


def test_an_empty_attributes_element_is_no_attributes() -> None:
    assert read_attributes("<attributes/>") == ()


def test_each_type_is_read_as_its_value_in_document_order() -> None:
    text = document(("title", "string", "Chess & co"), ("size", "int", "-42"), ("when", "date", "2003-01-31"))
    assert read_attributes(text) == (
        Attribute("title", "string", "Chess & co"),
        Attribute("size", "int", -42),
        Attribute("when", "date", datetime(2003, 1, 31, tzinfo=UTC)),
    )


def test_an_xml_declaration_and_layout_are_allowed() -> None:
    text = '<?xml version="1.0" encoding="utf-8"?>\n<attributes>\n\t<attribute name="a" type="int">1</attribute>\r\n</attributes>'
    assert read_attributes(text) == (Attribute("a", "int", 1),)


def test_namespace_declarations_are_not_attributes_of_the_root() -> None:
    text = '<attributes xmlns:xs="http://www.w3.org/2001/XMLSchema"><attribute name="a" type="int">1</attribute></attributes>'
    assert read_attributes(text) == (Attribute("a", "int", 1),)


def test_a_string_value_is_its_text_exactly() -> None:
    assert read_attributes(document(("a", "string", "  two\nlines  "), ("b", "string", ""))) == (
        Attribute("a", "string", "  two\nlines  "), Attribute("b", "string", ""),
    )


def test_int_and_date_values_may_have_white_space_around_them() -> None:
    assert read_attributes(document(("a", "int", "\n +7 \t"), ("b", "date", " 2003 "))) == (
        Attribute("a", "int", 7), Attribute("b", "date", datetime(2003, 1, 1, tzinfo=UTC)),
    )


def test_a_date_is_converted_to_utc() -> None:
    (attribute,) = read_attributes(document(("when", "date", "2003-01-31T23:30:00-05:00")))
    assert attribute.value == datetime(2003, 2, 1, 4, 30, tzinfo=UTC)
    assert isinstance(attribute.value, datetime) and attribute.value.tzinfo is UTC


@pytest.mark.parametrize("name", ["größe", "名前", "x2", "2x", "ÉTÉ"])
def test_unicode_letters_and_digits_make_a_name(name: str) -> None:
    assert read_attributes(document((name, "int", "1")))[0].name == name


def test_names_differing_in_case_are_different_attributes() -> None:
    assert len(read_attributes(document(("size", "int", "1"), ("Size", "int", "2")))) == 2


def test_the_same_text_is_read_once() -> None:
    text = document(("cached", "int", "1"))
    assert read_attributes(text) is read_attributes(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<attributes>", "not well-formed"),
        ("<attributes></attribute>", "not well-formed"),
        ('<!DOCTYPE attributes><attributes/>', "forbidden XML feature"),
        ('<!DOCTYPE a [<!ENTITY e "x">]><attributes>&e;</attributes>', "forbidden XML feature"),
        ("<attribute name='a' type='int'>1</attribute>", "root element is <attribute>, not <attributes>"),
        ("<attributes xmlns='urn:x'/>", r"root element is <\{urn:x\}attributes>"),
        ("<attributes version='1'/>", r"<attributes> has XML attributes \['version'\]"),
        ("<attributes><attr name='a' type='int'>1</attr></attributes>", "contains <attr>; only <attribute>"),
        ("<attributes>text<attribute name='a' type='int'>1</attribute></attributes>", "text outside"),
        ("<attributes><attribute name='a' type='int'>1</attribute>tail</attributes>", "text outside"),
        ("<attributes>\u00a0</attributes>", "text outside"),
        ("<attributes><attribute name='a' type='string'><b/></attribute></attributes>", "contains <b>; a value is text only"),
        ("<attributes><attribute type='int'>1</attribute></attributes>", "exactly name and type"),
        ("<attributes><attribute name='a'>1</attribute></attributes>", "exactly name and type"),
        ("<attributes><attribute name='a' type='int' x='1'>1</attribute></attributes>", "exactly name and type"),
        (document(("a-b", "int", "1")), "letters and digits only"),
        (document(("a_b", "int", "1")), "letters and digits only"),
        (document(("a b", "int", "1")), "letters and digits only"),
        (document(("", "int", "1")), "letters and digits only"),
        (document(("x\u00b2", "int", "1")), "letters and digits only"),
        (document(("e\u0301", "int", "1")), "letters and digits only"),
        (document(("PeerCreatorId", "string", "x")), "reserved"),
        (document(("a", "bool", "1")), "type 'bool' is not string, date or int"),
        (document(("a", "String", "1")), "type 'String' is not string, date or int"),
        (document(("a", "int", "")), "not an optional sign and decimal digits"),
        (document(("a", "int", "1.0")), "not an optional sign and decimal digits"),
        (document(("a", "int", "0x10")), "not an optional sign and decimal digits"),
        (document(("a", "int", "1_000")), "not an optional sign and decimal digits"),
        (document(("a", "int", "1 2")), "not an optional sign and decimal digits"),
        (document(("a", "int", "\u0661")), "not an optional sign and decimal digits"),
        (document(("a", "int", str(INT64_MAX + 1))), "does not fit in a signed 64-bit integer"),
        (document(("a", "int", str(INT64_MIN - 1))), "does not fit in a signed 64-bit integer"),
        (document(("a", "date", "31/01/2003")), "not a W3C date-time"),
        (document(("a", "date", "2003-02-30")), "not a valid date-time"),
    ],
)
def test_malformed_attributes_are_refused(text: str, reason: str) -> None:
    refused(text, reason)


def test_an_attribute_named_twice_is_refused() -> None:
    text = document(("a", "int", "1"), ("b", "int", "2"), ("a", "string", "x"))
    refused(text, r"\['a'\] are given more than once", rule="attribute_names_are_unique")


@pytest.mark.parametrize("name", sorted(RESERVED_ATTRIBUTE_NAMES))
def test_every_reserved_name_is_refused_in_any_case(name: str) -> None:
    for spelled in (name, name.upper(), name.title()):
        refused(document((spelled, "string", "x")), f"<attribute name='{spelled}'>: the name is reserved")


def test_a_document_over_the_size_cap_is_refused() -> None:
    refused(document(("a", "string", "x" * MAX_DOCUMENT_CHARS)), "at most")


@pytest.mark.parametrize(
    ("kind", "value"),
    [("int", "1"), ("int", True), ("string", 1), ("date", "2003"), ("date", datetime(2003, 1, 1))],
)
def test_an_attribute_cannot_hold_a_value_of_another_type(kind: str, value: object) -> None:
    with pytest.raises(TypeError, match=f"a {kind} value cannot be"):
        Attribute("a", kind, value)  # type: ignore[arg-type]


# Values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [(str(INT64_MIN), INT64_MIN), (str(INT64_MAX), INT64_MAX), ("+0", 0), ("-0", 0), ("+12", 12),
     ("-" + "0" * 10_000 + "9", -9)],
)
def test_int64_extremes_signs_and_leading_zeros_are_read(text: str, expected: int) -> None:
    assert parse_int64(text) == expected


def test_a_long_number_is_refused_by_its_length() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        parse_int64("9" * 10_000)


@given(st.integers())
def test_an_int_is_read_exactly_when_it_fits_in_64_bits(number: int) -> None:
    if INT64_MIN <= number <= INT64_MAX:
        assert parse_int64(str(number)) == number
    else:
        with pytest.raises(ValueError, match="does not fit"):
            parse_int64(str(number))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1997", datetime(1997, 1, 1, tzinfo=UTC)),
        ("1997-07", datetime(1997, 7, 1, tzinfo=UTC)),
        ("1997-07-16", datetime(1997, 7, 16, tzinfo=UTC)),
        ("1997-07-16T19:20+01:00", datetime(1997, 7, 16, 18, 20, tzinfo=UTC)),
        ("1997-07-16T19:20:30+01:00", datetime(1997, 7, 16, 18, 20, 30, tzinfo=UTC)),
        ("1997-07-16T19:20:30.45+01:00", datetime(1997, 7, 16, 18, 20, 30, 450000, tzinfo=UTC)),
        ("1997-07-16T19:20:30.1234569Z", datetime(1997, 7, 16, 19, 20, 30, 123456, tzinfo=UTC)),
        ("1997-07-16T19:20Z", datetime(1997, 7, 16, 19, 20, tzinfo=UTC)),
        ("1997-07-16T19:20-00:30", datetime(1997, 7, 16, 19, 50, tzinfo=UTC)),
        ("2004-02-29", datetime(2004, 2, 29, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_every_w3c_form_is_read_as_utc(text: str, expected: datetime) -> None:
    parsed = parse_w3c_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "", "97", "19970", "1997-7", "1997-07-16T19:20", "1997-07-16T19:20:30", "1997-07-16T19Z",
        "1997-07-16 19:20Z", "1997-07-16t19:20z", "1997-07-16T19:20:30.Z", "1997-07-16T19:20+0100",
        "1997-07-16T19:20+01", " 1997", "1997-07-16Z", "\u0661\u0669\u0669\u0667",
    ],
)
def test_other_forms_are_not_w3c_date_times(text: str) -> None:
    with pytest.raises(ValueError, match="not a W3C date-time"):
        parse_w3c_datetime(text)


@pytest.mark.parametrize(
    "text",
    [
        "0000", "2003-00", "2003-13", "2003-02-30", "2003-02-29", "2003-01-32", "2003-01-01T24:00Z",
        "2003-01-01T23:60Z", "2003-01-01T23:59:60Z", "2003-01-01T00:00+24:00", "2003-01-01T00:00+00:60",
        "9999-12-31T23:59-01:00", "0001-01-01T00:00+01:00",
    ],
)
def test_dates_off_the_calendar_or_out_of_range_in_utc_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a valid date-time"):
        parse_w3c_datetime(text)


WHOLE_MINUTE_ZONES = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))
AWARE_DATETIMES = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=WHOLE_MINUTE_ZONES,
)


@given(AWARE_DATETIMES)
def test_a_utc_isoformat_with_z_round_trips(moment: datetime) -> None:
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    assert parse_w3c_datetime(text) == moment


@given(AWARE_DATETIMES)
def test_an_isoformat_with_its_offset_is_the_same_instant(moment: datetime) -> None:
    parsed = parse_w3c_datetime(moment.isoformat())
    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0)


# Round trip ------------------------------------------------------------------------------------

NAMES = st.text(st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo", "Nd"]), min_size=1, max_size=8).filter(
    lambda name: name.casefold() not in RESERVED_ATTRIBUTE_NAMES
)
XML_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="\ufffe\uffff") | st.sampled_from("\t\n"))
VALUES: st.SearchStrategy[AttributeValue] = st.one_of(
    XML_TEXT, st.integers(INT64_MIN, INT64_MAX), AWARE_DATETIMES.map(lambda moment: moment.astimezone(timezone.utc)),
)


def _written(value: AttributeValue) -> tuple[AttributeType, str]:
    if isinstance(value, datetime):
        return "date", value.isoformat()
    if isinstance(value, int):
        return "int", str(value)
    return "string", value


@given(st.dictionaries(NAMES, VALUES, max_size=6))
def test_written_attributes_read_back_as_themselves(values: dict[str, AttributeValue]) -> None:
    written = [(name, *_written(value)) for name, value in values.items()]
    assert read_attributes(document(*written)) == tuple(
        Attribute(name, kind, value) for (name, kind, _), value in zip(written, values.values(), strict=True)
    )
