"""Read a scenario file as JSON, refusing what ``json`` would silently accept.

``json.loads`` keeps the last of two equal keys and accepts ``NaN``; a scenario file with
either is ambiguous, so both are file errors, found with the key path of the offending key.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from peerstate.scenario.problems import KeyPath, KeyPathError


class _DuplicatedKeys(dict[str, Any]):
    """A JSON object that repeated keys; remembers which, so the walk can report where."""

    def __init__(self, pairs: list[tuple[str, Any]], duplicates: list[str]) -> None:
        super().__init__(pairs)
        self.duplicates = duplicates


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    duplicates = [key for key, count in Counter(key for key, _ in pairs).items() if count > 1]
    return _DuplicatedKeys(pairs, duplicates) if duplicates else dict(pairs)


def _no_constant(name: str) -> NoReturn:
    raise KeyPathError((), f"{name} is not a JSON value")


def _first_duplicate(value: Any, path: KeyPath) -> KeyPath | None:
    if isinstance(value, _DuplicatedKeys):
        return (*path, value.duplicates[0])
    if isinstance(value, dict):
        children: Iterable[tuple[str | int, Any]] = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return None
    for key, child in children:
        found = _first_duplicate(child, (*path, key))
        if found is not None:
            return found
    return None


def _said(error: json.JSONDecodeError) -> str:
    """What ``json`` found wrong and where, as one clause: some of its messages end in "at"
    already ("Unterminated string starting at"), and say where with it."""
    what = error.msg.removesuffix(" at")
    return f"{what[:1].lower()}{what[1:]} at line {error.lineno} column {error.colno}"


def read_document(file: Path) -> Any:
    """The JSON value in ``file``. ``OSError``/``UnicodeError`` when it cannot be read;
    ``KeyPathError`` for invalid JSON, a duplicate key or a non-finite number."""
    text = file.read_text(encoding="utf-8")
    try:
        document = json.loads(text, object_pairs_hook=_object, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise KeyPathError((), f"not valid JSON: {_said(error)}") from None
    duplicate = _first_duplicate(document, ())
    if duplicate is not None:
        raise KeyPathError(duplicate, "duplicate key")
    return document
