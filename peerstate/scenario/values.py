"""Scenario values to call arguments, and call results to scenario values.

A file writes what a person can read: flag and enum names, role names, ISO-8601 times,
base64. ``decode_args`` turns that into what the API takes, and ``encode`` turns what the API
returns into the same written form, so that a saved result can be passed back as an
argument and compared with a ``check``. Which fields are times and which are DWORD flags
follows the Windows names: FILETIME fields match ``p?ft[A-Z]`` and DWORD fields ``dw[A-Z]``.
"""

from __future__ import annotations

import base64
import enum
import functools
import operator
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from peerstate.constants import CONSTANTS
from peerstate.errors import HResult
from peerstate.names import ROLE_NAMES, ROLES
from peerstate.scenario.problems import KeyPath, KeyPathError

_FILETIME_FIELD = re.compile(r"p?ft[A-Z]")
_DWORD_FIELD = re.compile(r"dw[A-Z]")


def is_time_field(key: str) -> bool:
    """Whether ``key`` names a FILETIME field or parameter (``ftExpiration``, ``pftPeerTime``)."""
    return _FILETIME_FIELD.match(key) is not None


def parse_time(text: str) -> datetime:
    """An ISO-8601 UTC time as an aware datetime; ``ValueError`` for anything else."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 time") from None
    if moment.utcoffset() != timedelta(0):
        raise ValueError(f"{text!r} is not a UTC time: end it with Z")
    return moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """``2026-01-01T00:00:00Z``; fractions of a second only when there are some."""
    if moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone: the API returns UTC times")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _time(value: Any, now: datetime) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, dict) and value.keys() == {"inSeconds"}:
        return now + timedelta(seconds=value["inSeconds"])
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is neither an ISO-8601 time nor {{\"inSeconds\": n}}")
    return parse_time(value)


def _flags(names: list[Any]) -> int:
    """The OR of a list of flag names of one header type; ``[]`` is 0."""
    members: list[enum.IntFlag] = []
    for index, name in enumerate(names):
        member = CONSTANTS.get(name) if isinstance(name, str) else None
        if not isinstance(member, enum.IntFlag):
            raise KeyPathError((index,), f"{name!r} is not the name of a flag")
        if members and type(member) is not type(members[0]):
            raise KeyPathError(
                (index,),
                f"{name} is a {type(member).__name__}, "
                f"{members[0].name} a {type(members[0]).__name__}: one field has one flag type",
            )
        members.append(member)
    return functools.reduce(operator.or_, members, 0)


def _decode(value: Any, key: str, now: datetime, path: KeyPath) -> Any:
    try:
        if is_time_field(key):
            return _time(value, now)
        if _DWORD_FIELD.match(key) and isinstance(value, list):
            return _flags(value)
    except KeyPathError as error:
        raise error.under(path) from None
    except ValueError as error:
        raise KeyPathError(path, str(error)) from None
    if isinstance(value, str):
        return ROLES.get(value) or CONSTANTS.get(value, value)
    if isinstance(value, list):
        return [_decode(item, key, now, (*path, index)) for index, item in enumerate(value)]
    if isinstance(value, dict):
        return {field: _decode(item, field, now, (*path, field)) for field, item in value.items()}
    return value


def decode_args(args: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """In-parameters for a call, from ``args`` whose variables are already substituted.

    Role names become their GUIDs (GUID strings stay strings: the API parses them); a
    constant name becomes its ``constants`` member; a list in a DWORD field is OR-ed into one
    flag value; a FILETIME field's ISO string or ``{"inSeconds": n}`` (from ``now``, the
    simulated clock) becomes an aware datetime. ``KeyPathError`` names the bad value.
    """
    return {key: _decode(value, key, now, (key,)) for key, value in args.items()}


def _flag_names(flags: enum.IntFlag) -> list[str]:
    members = list(flags)
    if functools.reduce(operator.or_, members, 0) != flags:
        raise ValueError(f"{flags!r} has bits that no {type(flags).__name__} name covers")
    return [str(member.name) for member in members]


def encode(value: Any) -> Any:
    """What a result value is written as in a scenario: flags as lists of names, enumerated
    values and HRESULTs as names, times as ISO-8601 UTC (``Z``), role GUIDs as role names and
    other UUIDs as strings, bytes as base64; mappings and sequences item by item."""
    if isinstance(value, enum.IntFlag):
        return _flag_names(value)
    if isinstance(value, enum.IntEnum):
        return value.name
    if isinstance(value, HResult):
        return value.name
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, UUID):
        return ROLE_NAMES.get(value, str(value))
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    return value


def canonical_times(tree: Any, key: str = "", path: KeyPath = ()) -> Any:
    """``tree`` (a ``check`` value) with each literal time in a FILETIME field written as
    ``format_time`` writes it, so ``+00:00`` or ``.000`` in a file still match; a string
    there that is not a UTC time raises ``KeyPathError``. A matcher keeps its field's key."""
    if isinstance(tree, str) and is_time_field(key) and not tree.startswith("$"):
        try:
            return format_time(parse_time(tree))
        except ValueError as error:
            raise KeyPathError(path, str(error)) from None
    if isinstance(tree, list):
        return [canonical_times(item, key, (*path, index)) for index, item in enumerate(tree)]
    if isinstance(tree, dict):
        return {
            field: canonical_times(item, key if field.startswith("$") else field, (*path, field))
            for field, item in tree.items()
        }
    return tree
