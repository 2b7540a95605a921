"""``check`` matching (``docs/scenario-format.md`` §2.4), reporting where the first difference is.

A check names only what the scenario cares about: objects match on the keys they name,
lists match in any order unless ``$ordered`` says otherwise. Unordered lists are paired one
to one by a maximum bipartite matching, because a greedy pairing can take the one actual
item a later expected item needed and report a difference where there is none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from peerstate.scenario.problems import KeyPath, format_path


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


MISSING: Final = _Missing()
"""The actual value where the expected key is absent."""


def _show(value: Any) -> str:
    if value is MISSING:
        return "nothing"
    return json.dumps(value, ensure_ascii=False, default=repr)


@attrs.frozen
class Mismatch:
    """The first difference: where it is in the actual value, and the two sides there.
    ``sides`` is false where the problem says all there is to say (a ``$len`` that differs:
    the lengths, not the whole lists with every key and signature in them)."""

    path: KeyPath
    expected: Any
    actual: Any
    problem: str
    sides: bool = True

    def __str__(self) -> str:
        where = f"{format_path(self.path)}: {self.problem}"
        return f"{where}: expected {_show(self.expected)}, got {_show(self.actual)}" if self.sides else where


def _same_scalar(expected: Any, actual: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` is ``1.0``."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return not isinstance(actual, (dict, list)) and bool(expected == actual)


def _pairing(expected: list[Any], actual: list[Any], path: KeyPath) -> Mismatch | None:
    """Pair every expected item with its own matching actual item (Kuhn's augmenting paths);
    the first expected item left over is the difference."""
    fits = [
        [j for j, item in enumerate(actual) if mismatch(want, item) is None] for want in expected
    ]
    owner: dict[int, int] = {}

    def place(i: int, visited: set[int]) -> bool:
        for j in fits[i]:
            if j not in visited:
                visited.add(j)
                if j not in owner or place(owner[j], visited):
                    owner[j] = i
                    return True
        return False

    unpaired = [i for i in range(len(expected)) if not place(i, set())]
    if not unpaired:
        return None
    first = unpaired[0]
    free = [j for j in range(len(actual)) if j not in owner]
    if len(unpaired) == 1 and len(free) == 1:
        # One item on each side is left: their difference is the one to show.
        return mismatch(expected[first], actual[free[0]], (*path, free[0]))
    return Mismatch(path, expected[first], actual, f"no item left matches expected item [{first}]")


def _not_list(expected: Any, actual: Any, path: KeyPath) -> Mismatch | None:
    return None if isinstance(actual, list) else Mismatch(path, expected, actual, "not a list")


def _length(
    expected: Any, actual: list[Any], length: int, path: KeyPath, *, sides: bool = True
) -> Mismatch | None:
    if len(actual) == length:
        return None
    return Mismatch(path, expected, actual, f"{len(actual)} items where {length} are expected", sides)


def _unordered(items: list[Any], actual: Any, path: KeyPath) -> Mismatch | None:
    return (
        _not_list(items, actual, path)
        or _length(items, actual, len(items), path)
        or _pairing(items, actual, path)
    )


def _ordered(items: list[Any], actual: Any, path: KeyPath) -> Mismatch | None:
    found = _not_list(items, actual, path) or _length(items, actual, len(items), path)
    if found is not None:
        return found
    for index, (want, item) in enumerate(zip(items, actual)):
        found = mismatch(want, item, (*path, index))
        if found is not None:
            return found
    return None


def _contains(items: list[Any], actual: Any, path: KeyPath) -> Mismatch | None:
    return _not_list(items, actual, path) or _pairing(items, actual, path)


def _len(length: int, actual: Any, path: KeyPath) -> Mismatch | None:
    return _not_list({"$len": length}, actual, path) or _length(
        {"$len": length}, actual, length, path, sides=False
    )


def _any(_: object, actual: Any, path: KeyPath) -> Mismatch | None:
    return None


_MATCHERS: Final[Mapping[str, Callable[[Any, Any, KeyPath], Mismatch | None]]] = {
    "$ordered": _ordered,
    "$contains": _contains,
    "$len": _len,
    "$any": _any,
}


def mismatch(expected: Any, actual: Any, path: KeyPath = ()) -> Mismatch | None:
    """None when ``actual`` (an encoded result) matches ``expected`` (a check value whose
    variables are substituted), else the first difference. Matcher objects are as the
    schema allows: one key, one of ``$ordered``, ``$contains``, ``$len``, ``$any``."""
    if isinstance(expected, dict):
        if len(expected) == 1 and next(iter(expected)) in _MATCHERS:
            ((name, argument),) = expected.items()
            return _MATCHERS[name](argument, actual, path)
        if not isinstance(actual, Mapping):
            return Mismatch(path, expected, actual, "not an object")
        for key, want in expected.items():
            if key not in actual:
                return Mismatch((*path, key), want, MISSING, "missing")
            found = mismatch(want, actual[key], (*path, key))
            if found is not None:
                return found
        return None
    if isinstance(expected, list):
        return _unordered(expected, actual, path)
    if _same_scalar(expected, actual):
        return None
    return Mismatch(path, expected, actual, "differs")
