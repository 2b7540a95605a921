"""``check`` matching as docs/scenario-format.md §2.4 defines it, and where it reports the difference."""

from __future__ import annotations

from typing import Any

import pytest

from peerstate.scenario.matching import MISSING, mismatch
from peerstate.scenario.problems import format_path


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ("a", "a"), (1, 1), (1, 1.0), (None, None), (True, True),
        ({"a": 1}, {"a": 1, "b": 2}),
        ({}, {"anything": []}),
        ({"a": {"b": [1, 2]}}, {"a": {"b": [2, 1], "c": 0}}),
        ([1, 2, 2], [2, 1, 2]),
        ([], []),
        ({"$ordered": [1, 2]}, [1, 2]),
        ({"$len": 2}, [{"x": 1}, None]),
        ({"$contains": [2]}, [1, 2, 3]),
        ({"$contains": [2, 2]}, [2, 1, 2]),
        ({"$contains": []}, []),
        ({"$any": True}, None),
        ({"a": {"$any": True}}, {"a": None}),
        ([{"$len": 1}, {"$len": 0}], [[], ["x"]]),
    ],
)
def test_these_match(expected: Any, actual: Any) -> None:
    assert mismatch(expected, actual) is None


@pytest.mark.parametrize(
    ("expected", "actual", "key_path", "problem"),
    [
        ("a", "b", "(top level)", "differs"),
        (1, True, "(top level)", "differs"),
        (False, 0, "(top level)", "differs"),
        ("1", 1, "(top level)", "differs"),
        (None, [], "(top level)", "differs"),
        ({"a": 1}, {"a": 2}, "a", "differs"),
        ({"a": 1}, {"b": 1}, "a", "missing"),
        ({"a": {"$any": True}}, {}, "a", "missing"),
        ({"a": 1}, [1], "(top level)", "not an object"),
        ({"a": [1, 2]}, {"a": [1]}, "a", "1 items where 2 are expected"),
        ([1], {"0": 1}, "(top level)", "not a list"),
        ([1, 1], [1, 2], "[1]", "differs"),
        ({"$ordered": [1, 2]}, [2, 1], "[0]", "differs"),
        ({"$ordered": [1]}, [1, 2], "(top level)", "2 items where 1 are expected"),
        ({"$ordered": [1]}, "1", "(top level)", "not a list"),
        ({"$len": 1}, [], "(top level)", "0 items where 1 are expected"),
        ({"$len": 0}, {}, "(top level)", "not a list"),
        ({"$contains": [2, 2]}, [2, 1], "[1]", "differs"),
        ({"$contains": [4, 5]}, [1, 2, 3], "(top level)", "no item left matches expected item [0]"),
        ([{"n": 1}, {"n": 2}, {"n": 3}], [{"n": 1}, {"n": 5}, {"n": 6}], "(top level)",
         "no item left matches expected item [1]"),
        ([{"a": 1}, {"a": 2}], [{"a": 2}, {"a": 3, "b": 0}], "[1].a", "differs"),
    ],
)
def test_these_differ_and_the_report_says_where(
    expected: Any, actual: Any, key_path: str, problem: str
) -> None:
    found = mismatch(expected, actual)
    assert found is not None
    assert (format_path(found.path), found.problem) == (key_path, problem)


def test_unordered_lists_pair_items_one_to_one_where_greedy_pairing_fails() -> None:
    # Greedy pairing gives the first expected item the first actual item it matches (the
    # only one the second expected item could have), then finds nothing for the second.
    expected = [{"role": "member"}, {"role": "member", "name": "bob"}]
    actual = [{"role": "member", "name": "bob"}, {"role": "member", "name": "carol"}]
    assert mismatch(expected, actual) is None
    assert mismatch({"$contains": expected}, [*actual, {"role": "admin"}]) is None
    # And each actual item serves one expected item only.
    assert mismatch([{"role": "member"}, {"role": "member", "name": "bob"}],
                    [{"role": "member", "name": "bob"}, {"role": "admin"}]) is not None


def test_a_longer_chain_of_reassignments_is_found() -> None:
    expected = [{"k": 1}, {"k": 1, "j": 1}, {"k": 1, "j": 1, "i": 1}]
    actual = [{"k": 1, "j": 1, "i": 1}, {"k": 1, "j": 1}, {"k": 1}]
    assert mismatch(expected, actual) is None


def test_the_report_carries_expected_and_actual_at_the_difference() -> None:
    found = mismatch({"phPeerEnum": [{"pwzFriendlyName": "Alice"}]},
                     {"phPeerEnum": [{"pwzFriendlyName": "Bob", "pwzPeerName": "x.y"}]})
    assert found is not None
    assert (found.path, found.expected, found.actual) == (
        ("phPeerEnum", 0, "pwzFriendlyName"), "Alice", "Bob"
    )
    assert str(found) == 'phPeerEnum[0].pwzFriendlyName: differs: expected "Alice", got "Bob"'
    missing = mismatch({"ppwzIdentity": "x"}, {})
    assert missing is not None and missing.actual is MISSING
    assert str(missing) == 'ppwzIdentity: missing: expected "x", got nothing'


def test_a_failed_len_says_the_lengths_and_not_the_items() -> None:
    actual = {"phPeerEnum": [{"pwzPeerName": "x.y", "key": "K" * 500}, {"pwzPeerName": "z.y"}]}
    found = mismatch({"phPeerEnum": {"$len": 1}}, actual)
    assert str(found) == "phPeerEnum: 2 items where 1 are expected"
