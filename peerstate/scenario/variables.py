"""Variables: ``"$name"`` and ``"$name.field[0].sub"`` stand for values saved by earlier steps.

Only string values are looked at (never keys, so matcher keys like ``$len`` are untouched),
and only here: a ``"$$..."`` string is the literal ``"$..."``, and once substituted a value is
data, so a saved string that begins with ``$`` is never read as a variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from peerstate.scenario.problems import KeyPath, KeyPathError

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_REFERENCE = re.compile(rf"\$({_NAME})((?:\.{_NAME}|\[[0-9]+\])*)")
_STEP = re.compile(rf"\.({_NAME})|\[([0-9]+)\]")


@attrs.frozen
class Reference:
    """``$variable`` followed by field names and list indexes into the saved value."""

    text: str
    variable: str
    steps: tuple[str | int, ...]

    def follow(self, value: Any) -> Any:
        """The part of ``value`` (the variable's saved value) that the steps name."""
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    raise LookupError(f"{self.text}: [{step}] is not an item of {value!r}")
            elif not isinstance(value, Mapping) or step not in value:
                raise LookupError(f"{self.text}: .{step} is not a field of {value!r}")
            value = value[step]
        return value


def parse_reference(text: str) -> Reference:
    """The reference a ``$`` string makes; ``ValueError`` when it is not one."""
    match = _REFERENCE.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a variable ($name, $name.field[0]); write $$ for a literal $"
        )
    steps = tuple(
        field if field else int(index) for field, index in _STEP.findall(match.group(2))
    )
    return Reference(text, match.group(1), steps)


Lookup = Callable[[Reference], Any]
"""The value a reference stands for; raises ``LookupError`` saying why there is none."""


def substitute(tree: Any, lookup: Lookup, path: KeyPath = ()) -> Any:
    """``tree`` with every variable replaced by its value and every ``$$`` escape undone;
    ``KeyPathError`` at the string that is malformed or cannot be looked up."""
    if isinstance(tree, str) and tree.startswith("$"):
        if tree.startswith("$$"):
            return tree[1:]
        try:
            return lookup(parse_reference(tree))
        except (ValueError, LookupError) as error:
            raise KeyPathError(path, str(error)) from None
    if isinstance(tree, list):
        return [substitute(item, lookup, (*path, index)) for index, item in enumerate(tree)]
    if isinstance(tree, dict):
        return {key: substitute(value, lookup, (*path, key)) for key, value in tree.items()}
    return tree
