"""Search queries: the documented format read into values, evaluated against typed attributes."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peerstate.errors import InvalidArgument, PeerError
from peerstate.documents.record_attributes import Attribute
from peerstate.bounds import MAX_SEARCH_CLAUSES, MAX_SEARCH_DEPTH
from peerstate.documents.record_search import (
    AllOf,
    AnyOf,
    Clause,
    Compare,
    Query,
    matches,
    read_search,
    read_wildcard,
)

UTC = timezone.utc
COMPARES: tuple[Compare, ...] = ("equal", "notequal", "less", "greater", "lessorequal", "greaterorequal")
PYTHON_ORDER = {
    "equal": lambda a, b: a == b, "notequal": lambda a, b: a != b,
    "less": lambda a, b: a < b, "greater": lambda a, b: a > b,
    "lessorequal": lambda a, b: a <= b, "greaterorequal": lambda a, b: a >= b,
}
WINDOWS_EXAMPLE = """<?xml version="1.0" encoding="utf-8" ?>
<peersearch xmlns:xs="http://www.w3.org/2001/XMLSchema">
   <and>
      <clause attrib="peercreatorid" type="string" compare="equal">James P*</clause>
      <or>
         <clause attrib="peerlastmodificationtime" type="date" compare="greater">2003-01-31</clause>
         <clause attrib="size" type="int" compare="lessorequal">100</clause>
      </or>
   </and>
</peersearch>"""


def clause(attrib: str, kind: str, value: str, compare: str | None = None) -> str:
    compared = "" if compare is None else f" compare={quoteattr(compare)}"
    return f"<clause attrib={quoteattr(attrib)} type={quoteattr(kind)}{compared}>{escape(value)}</clause>"


def search(body: str) -> str:
    return f"<peersearch>{body}</peersearch>"


def selects(query_body: str, *attributes: Attribute) -> bool:
    return matches(read_search(search(query_body)), attributes)


def escaped(text: str) -> str:
    """``text`` as a pattern that means exactly it."""
    return re.sub(r"([\\*?])", r"\\\1", text)


def equal_matches(pattern: str, value: str) -> bool:
    return matches(Clause("s", "string", "equal", read_wildcard(pattern)), [Attribute("s", "string", value)])


# Reading ---------------------------------------------------------------------------------------


def test_the_windows_example_is_read_as_written() -> None:
    assert read_search(WINDOWS_EXAMPLE) == AllOf((
        Clause("peercreatorid", "string", "equal", read_wildcard("James P*")),
        AnyOf((
            Clause("peerlastmodificationtime", "date", "greater", datetime(2003, 1, 31, tzinfo=UTC)),
            Clause("size", "int", "lessorequal", 100),
        )),
    ))


def test_the_windows_example_selects_as_documented() -> None:
    query = read_search(WINDOWS_EXAMPLE)
    james = Attribute("peercreatorid", "string", "James Peters")
    recent = Attribute("peerlastmodificationtime", "date", datetime(2003, 2, 1, tzinfo=UTC))
    old = Attribute("peerlastmodificationtime", "date", datetime(2003, 1, 31, tzinfo=UTC))
    assert matches(query, [james, recent])
    assert matches(query, [james, old, Attribute("size", "int", 100)])
    assert not matches(query, [james, old, Attribute("size", "int", 101)])
    assert not matches(query, [Attribute("peercreatorid", "string", "Jim Peters"), recent])


def test_compare_defaults_to_equal() -> None:
    assert read_search(search(clause("size", "int", "5"))) == Clause("size", "int", "equal", 5)


def test_int_and_date_values_may_have_white_space_around_them() -> None:
    assert read_search(search(clause("size", "int", " -5\n"))) == Clause("size", "int", "equal", -5)
    assert read_search(search(clause("when", "date", " 2003\t"))) == Clause(
        "when", "date", "equal", datetime(2003, 1, 1, tzinfo=UTC)
    )


def test_a_string_value_is_not_stripped() -> None:
    body = clause("name", "string", " x ")
    assert selects(body, Attribute("name", "string", " x "))
    assert not selects(body, Attribute("name", "string", "x"))


def test_namespace_declarations_are_allowed_on_every_element() -> None:
    declared = ' xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:q="urn:q"'
    text = (
        f"<peersearch{declared}><or{declared}><and{declared}>"
        f'<clause{declared} attrib="a" type="int">1</clause></and></or></peersearch>'
    )
    assert read_search(text) == AnyOf((AllOf((Clause("a", "int", "equal", 1),)),))


def test_nesting_to_the_depth_limit_is_read() -> None:
    body = "<and>" * MAX_SEARCH_DEPTH + clause("a", "int", "1") + "</and>" * MAX_SEARCH_DEPTH
    query = read_search(search(body))
    for _ in range(MAX_SEARCH_DEPTH):
        assert isinstance(query, AllOf)
        (query,) = query.parts
    assert query == Clause("a", "int", "equal", 1)


def test_the_clause_limit_is_read() -> None:
    query = read_search(search("<or>" + clause("a", "int", "1") * MAX_SEARCH_CLAUSES + "</or>"))
    assert isinstance(query, AnyOf) and len(query.parts) == MAX_SEARCH_CLAUSES


def invalid_search(text: str, reason: str) -> None:
    with pytest.raises(PeerError, match=reason) as caught:
        read_search(text)
    assert (caught.value.rule, caught.value.name) == ("search_is_well_formed", "PEER_E_INVALID_SEARCH")
    assert "pwzCriteria" in caught.value.message


ONE = clause("a", "int", "1")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<peersearch>", "not well-formed"),
        ("", "not well-formed"),
        ("<!DOCTYPE peersearch><peersearch/>", "forbidden XML feature"),
        ('<!DOCTYPE a [<!ENTITY e "1">]><peersearch><clause attrib="a" type="int">&e;</clause></peersearch>', "forbidden"),
        (f"<search>{ONE}</search>", "root element is <search>, not <peersearch>"),
        (f"<peersearch xmlns='urn:x'>{ONE}</peersearch>", r"root element is <\{urn:x\}peersearch>"),
        (f"<peersearch version='1'>{ONE}</peersearch>", r"/peersearch has XML attributes \['version'\]"),
        (f"<peersearch>x{ONE}</peersearch>", "/peersearch: <peersearch> has text outside"),
        (f"<peersearch>{ONE}x</peersearch>", "text outside"),
        ("<peersearch/>", "exactly one"),
        (search(ONE + ONE), "exactly one"),
        (search(f"<and x='1'>{ONE}</and>"), r"/peersearch/and has XML attributes \['x'\]"),
        (search(f"<and>{ONE}<or a='1'>{ONE}</or></and>"), r"/peersearch/and/or\[2\] has XML attributes"),
        (search(f"<or>x{ONE}</or>"), "<or> has text outside"),
        (search("<and/>"), "/peersearch/and must contain at least one"),
        (search("<or></or>"), "/peersearch/or must contain at least one"),
        (search(f"<not>{ONE}</not>"), "<not> is not <clause>, <and> or <or>"),
        (search("<and><xs:clause xmlns:xs='urn:x' attrib='a' type='int'>1</xs:clause></and>"), "not <clause>"),
        (search("<clause attrib='a' type='int'>1<b/></clause>"), "contains <b>; a clause's value is text only"),
        (search("<clause type='int'>1</clause>"), "needs attrib and type"),
        (search("<clause attrib='a'>1</clause>"), "needs attrib and type"),
        (search("<clause attrib='a' type='int' weight='2'>1</clause>"), "needs attrib and type, and may have compare"),
        (search(clause("a-b", "int", "1")), "attrib 'a-b' is not letters and digits only"),
        (search(clause("", "int", "1")), "attrib '' is not letters and digits only"),
        (search(clause("a", "bool", "1")), "type 'bool' is not string, date or int"),
        (search(clause("a", "int", "1", "like")), "compare 'like' is not one of"),
        (search(clause("a", "int", "1", "Equal")), "compare 'Equal' is not one of"),
        (search(clause("a", "int", "1.5")), "not an optional sign and decimal digits"),
        (search(clause("a", "int", "")), "not an optional sign and decimal digits"),
        (search(clause("a", "int", str(2**63))), "does not fit in a signed 64-bit integer"),
        (search(clause("a", "date", "yesterday")), "not a W3C date-time"),
        (search(clause("a", "date", "2003-02-30")), "not a valid date-time"),
        (search("<and>" * (MAX_SEARCH_DEPTH + 1) + ONE + "</and>" * (MAX_SEARCH_DEPTH + 1)), f"nest more than {MAX_SEARCH_DEPTH} deep"),
        (search("<or>" + ONE * (MAX_SEARCH_CLAUSES + 1) + "</or>"), f"{MAX_SEARCH_CLAUSES + 1} clauses; at most {MAX_SEARCH_CLAUSES}"),
    ],
)
def test_malformed_searches_are_refused(text: str, reason: str) -> None:
    invalid_search(text, reason)


def test_the_error_names_where_a_nested_clause_is() -> None:
    body = f"<and>{ONE}<or>{ONE}{clause('b', 'int', 'x')}</or></and>"
    invalid_search(search(body), re.escape("/peersearch/and/or[2]/clause[2]: 'x' is not"))


@pytest.mark.parametrize("value", ["a\\b", "a\\", "\\n", "\\\\\\", "*\\ "])
def test_a_backslash_that_escapes_nothing_is_an_invalid_argument(value: str) -> None:
    with pytest.raises(InvalidArgument, match="a backslash may only escape") as caught:
        read_search(search(clause("name", "string", value)))
    assert (caught.value.rule, caught.value.name) == ("string_value_escapes_are_known", "E_INVALIDARG")


@pytest.mark.parametrize("bad_escape_first", [True, False])
def test_a_malformed_query_is_an_invalid_search_even_after_a_bad_escape(bad_escape_first: bool) -> None:
    escape, malformed = clause("name", "string", "a\\b"), clause("size", "int", "1", compare="like")
    body = f"<and>{escape}{malformed}</and>" if bad_escape_first else f"<and>{malformed}{escape}</and>"
    invalid_search(search(body), "compare 'like'")


def test_a_backslash_only_matters_in_string_values() -> None:
    invalid_search(search(clause("a", "int", "\\1")), "not an optional sign")


# Matching --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("James P*", "James P", True),
        ("James P*", "James Peters", True),
        ("James P*", "james peters", False),
        ("*", "", True),
        ("?", "", False),
        ("?", "x", True),
        ("?", "xy", False),
        ("a?c", "a\nc", True),
        ("a*c", "a\n\nc", True),
        ("a*b*c", "abbbc", True),
        ("a*b*c", "acb", False),
        ("*ab", "aab", True),
        ("*a*a", "aa", True),
        ("*a?*b", "aaxab", True),
        ("a*b*", "ab", True),
        ("a**b", "ab", True),
        ("\\*", "*", True),
        ("\\*", "x", False),
        ("\\?", "?", True),
        ("\\?", "x", False),
        ("\\\\", "\\", True),
        ("a.c", "abc", False),
        ("[ab]", "a", False),
        ("", "", True),
        ("", "x", False),
    ],
)
def test_string_equal_matches_the_whole_value_with_wildcards(pattern: str, value: str, expected: bool) -> None:
    assert equal_matches(pattern, value) is expected


def test_notequal_is_true_for_a_value_that_does_not_match() -> None:
    assert selects(clause("name", "string", "J*", "notequal"), Attribute("name", "string", "Bob"))
    assert not selects(clause("name", "string", "J*", "notequal"), Attribute("name", "string", "Jo"))


@pytest.mark.parametrize(
    ("compare", "value", "expected"),
    [
        ("less", "d", True), ("less", "c*", False), ("less", "c", False), ("less", "c+", True), ("less", "c?", True),
        ("greater", "b", True), ("greater", "c", True), ("greater", "c*", False), ("greater", "C*", True),
        ("lessorequal", "c*", True), ("lessorequal", "c", False),
        ("greaterorequal", "c*", True), ("greaterorequal", "c*d", False),
    ],
)
def test_string_orderings_compare_the_unescaped_text_by_code_point(compare: str, value: str, expected: bool) -> None:
    """The record's attribute is ``c*``; in the clause, ``\\*`` means the same ``*`` as ``*`` does
    (and ``?`` as ``\\?``), and ``*`` (0x2A) sorts before ``+``, ``?`` and the letters."""
    record = Attribute("name", "string", "c*")
    assert selects(clause("name", "string", escaped(value), compare), record) is expected
    assert selects(clause("name", "string", value, compare), record) is expected


@pytest.mark.parametrize(
    ("compare", "expected"),
    [("equal", False), ("notequal", True), ("less", True), ("greater", False), ("lessorequal", True), ("greaterorequal", False)],
)
def test_dates_compare_as_instants(compare: str, expected: bool) -> None:
    body = clause("when", "date", "2003-01-31T12:00:00+01:00", compare)
    assert selects(body, Attribute("when", "date", datetime(2003, 1, 31, 10, 59, tzinfo=UTC))) is expected


def test_a_date_compares_equal_to_the_start_of_its_day() -> None:
    assert selects(clause("when", "date", "2003-01-31"), Attribute("when", "date", datetime(2003, 1, 31, tzinfo=UTC)))


@pytest.mark.parametrize("compare", COMPARES)
def test_a_missing_attribute_satisfies_no_clause(compare: str) -> None:
    assert not selects(clause("size", "int", "5", compare), Attribute("other", "int", 5))


@pytest.mark.parametrize("compare", COMPARES)
def test_an_attribute_of_another_type_satisfies_no_clause(compare: str) -> None:
    assert not selects(clause("size", "int", "5", compare), Attribute("size", "string", "5"))
    assert not selects(clause("size", "string", "*", compare), Attribute("size", "int", 5))


def test_names_are_compared_exactly() -> None:
    assert not selects(clause("Size", "int", "5"), Attribute("size", "int", 5))


def test_and_needs_every_part_and_or_needs_one() -> None:
    parts = clause("a", "int", "1") + clause("b", "int", "2")
    only_a = (Attribute("a", "int", 1),)
    both = (Attribute("a", "int", 1), Attribute("b", "int", 2))
    assert not selects(f"<and>{parts}</and>", *only_a)
    assert selects(f"<and>{parts}</and>", *both)
    assert selects(f"<or>{parts}</or>", *only_a)
    assert not selects(f"<or>{parts}</or>", Attribute("c", "int", 1))


def test_attributes_may_be_any_iterable_read_once() -> None:
    query = read_search(search(f"<and>{clause('a', 'int', '1')}{clause('b', 'int', '2')}</and>"))
    assert matches(query, iter([Attribute("a", "int", 1), Attribute("b", "int", 2)]))


@pytest.mark.parametrize(
    ("kind", "value"), [("int", read_wildcard("1")), ("string", 1), ("date", 1), ("date", datetime(2003, 1, 1))],
)
def test_a_clause_cannot_hold_a_value_of_another_type(kind: str, value: object) -> None:
    with pytest.raises(TypeError, match=f"a {kind} value cannot be"):
        Clause("a", kind, "equal", value)  # type: ignore[arg-type]


def test_each_piece_between_stars_is_placed_once_and_never_retried() -> None:
    """A backtracking matcher tries every way to place six ``a``s among a hundred (about twenty
    seconds for Python's ``re`` with plain ``.*``). Each middle piece is an atomic group, so
    once placed it is never retried and matching stays linear; speed itself is for a
    benchmark, not a test."""
    pattern = read_wildcard("*a" * 6 + "*b")
    assert pattern.pattern.pattern.count("(?>") == 6
    assert not pattern.matches("a" * 100)


# Properties ------------------------------------------------------------------------------------

ANY_TEXT = st.text()
PATTERN_TOKENS = st.sampled_from(["a", "b", "\n", "*", "?", "\\*", "\\?", "\\\\"])


@functools.cache
def _reference_match(tokens: tuple[str, ...], text: str) -> bool:
    """Glob matching by its definition, token by token, with nothing clever."""
    if not tokens:
        return not text
    head, rest = tokens[0], tokens[1:]
    if head == "*":
        return any(_reference_match(rest, text[skip:]) for skip in range(len(text) + 1))
    if head == "?":
        return bool(text) and _reference_match(rest, text[1:])
    return text.startswith(head[-1]) and _reference_match(rest, text[1:])


@given(ANY_TEXT)
def test_an_escaped_string_equal_matches_itself(text: str) -> None:
    assert equal_matches(escaped(text), text)


@given(ANY_TEXT, ANY_TEXT)
def test_an_escaped_string_matches_no_other_string(text: str, other: str) -> None:
    assert equal_matches(escaped(text), other) is (text == other)


@given(st.text(alphabet="*?\\"), st.text(alphabet="*?\\ab"))
def test_an_escaped_string_of_wildcards_matches_only_itself(text: str, other: str) -> None:
    assert equal_matches(escaped(text), other) is (text == other)


@given(ANY_TEXT)
def test_a_star_equal_matches_every_string(text: str) -> None:
    assert equal_matches("*", text)


@settings(max_examples=1000)
@given(st.lists(PATTERN_TOKENS, max_size=10), st.text(alphabet="ab\n*?\\", max_size=12))
def test_wildcards_match_as_their_definition_says(tokens: list[str], text: str) -> None:
    assert equal_matches("".join(tokens), text) is _reference_match(tuple(tokens), text)


@given(st.lists(PATTERN_TOKENS, max_size=10), st.text(alphabet="ab\n*?\\", max_size=12))
def test_notequal_is_the_negation_of_equal_for_a_present_string(tokens: list[str], text: str) -> None:
    wildcard = read_wildcard("".join(tokens))
    attributes = [Attribute("s", "string", text)]
    equal = matches(Clause("s", "string", "equal", wildcard), attributes)
    assert matches(Clause("s", "string", "notequal", wildcard), attributes) is not equal


INT64 = st.integers(-(2**63), 2**63 - 1)


@given(INT64, INT64, st.sampled_from(COMPARES))
def test_int_compares_agree_with_python(value: int, wanted: int, compare: Compare) -> None:
    query = read_search(search(clause("n", "int", str(wanted), compare)))
    assert matches(query, [Attribute("n", "int", value)]) is PYTHON_ORDER[compare](value, wanted)


@given(st.datetimes(timezones=st.just(UTC)), st.datetimes(timezones=st.just(UTC)), st.sampled_from(COMPARES))
def test_date_compares_agree_with_python(value: datetime, wanted: datetime, compare: Compare) -> None:
    text = wanted.replace(tzinfo=None).isoformat() + "Z"
    query = read_search(search(clause("d", "date", text, compare)))
    assert matches(query, [Attribute("d", "date", value)]) is PYTHON_ORDER[compare](value, wanted)


@given(ANY_TEXT, ANY_TEXT, st.sampled_from(COMPARES[2:]))
def test_string_orderings_agree_with_python(value: str, wanted: str, compare: Compare) -> None:
    clause_ = Clause("s", "string", compare, read_wildcard(escaped(wanted)))
    assert matches(clause_, [Attribute("s", "string", value)]) is PYTHON_ORDER[compare](value, wanted)


def _queries() -> st.SearchStrategy[Query]:
    leaves = INT64.map(lambda n: Clause("n", "int", "equal", n))
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, min_size=1, max_size=3).flatmap(
            lambda parts: st.sampled_from([AllOf(tuple(parts)), AnyOf(tuple(parts))])
        ),
        max_leaves=8,
    )


def _truth(query: Query, value: int) -> bool:
    if isinstance(query, Clause):
        return query.value == value
    results = [_truth(part, value) for part in query.parts]
    return all(results) if isinstance(query, AllOf) else any(results)


@given(_queries(), INT64)
def test_and_and_or_combine_as_all_and_any(query: Query, value: int) -> None:
    assert matches(query, [Attribute("n", "int", value)]) is _truth(query, value)
