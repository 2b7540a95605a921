"""Type and size checks of caller arguments: the E_INVALIDARG cases common to every call.

A C caller cannot pass an int where a string goes; a Python caller can, and must get the
HRESULT that a malformed argument gets in Windows, not a TypeError from deep inside.
"""

from __future__ import annotations

import reprlib
from datetime import datetime
from typing import Final, overload, Literal
from uuid import UUID

from peerstate.errors import InvalidArgument

MAX_ARGUMENT_CHARS: Final = 64 * 1024
"""Longer than any document or name of these APIs: a cap, so no call reads unbounded input."""
MAX_PASSWORD_CHARS: Final = 1024


@overload
def text(value: object, parameter: str, *, required: Literal[True] = ..., max_chars: int = ...) -> str: ...
@overload
def text(value: object, parameter: str, *, required: Literal[False], max_chars: int = ...) -> str | None: ...


def text(value: object, parameter: str, *, required: bool = True, max_chars: int = MAX_ARGUMENT_CHARS) -> str | None:
    """``value`` as a string parameter: None only where the parameter is optional."""
    if value is None:
        if required:
            raise InvalidArgument(f"{parameter} is required")
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{parameter} must be a string, not {type(value).__name__}")
    if len(value) > max_chars:
        raise InvalidArgument(f"{parameter} has {len(value)} characters; at most {max_chars} are accepted")
    if "\x00" in value:
        raise InvalidArgument(f"{parameter} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgument(f"{parameter} contains a lone surrogate, which is not a character") from None
    return value


def filled(value: object, parameter: str, *, max_chars: int = MAX_ARGUMENT_CHARS) -> str:
    """A required string that means nothing when empty (a password, an address)."""
    result = text(value, parameter, max_chars=max_chars)
    if not result:
        raise InvalidArgument(f"{parameter} must not be empty")
    return result


def password(value: object, parameter: str) -> str:
    return filled(value, parameter, max_chars=MAX_PASSWORD_CHARS)


def shown(value: object) -> str:
    """A caller's value as an error message may quote it: short, and never failing (Python
    refuses to write an integer of more than 4300 digits)."""
    try:
        return reprlib.repr(value)
    except ValueError:
        return f"<a {type(value).__name__}>"


def dword(value: object, parameter: str) -> int:
    """An unsigned 32-bit number (DWORD, ULONG); a bool is not one."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"{parameter} must be a number, not {type(value).__name__}")
    if not 0 <= value <= 0xFFFFFFFF:
        raise InvalidArgument(f"{parameter} {shown(value)} does not fit in 32 bits")
    return int(value)  # a flag enum member becomes the plain number that events store


def moment(value: object, parameter: str) -> datetime:
    """A required FILETIME: an aware datetime."""
    if not isinstance(value, datetime):
        raise InvalidArgument(f"{parameter} must be a time, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise InvalidArgument(f"{parameter} has no time zone")
    return value


def guid(value: object, parameter: str) -> UUID:
    """A GUID: a ``UUID``, or its string with or without braces."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise InvalidArgument(f"{parameter} must be a GUID, not {type(value).__name__}")
    try:
        return UUID(value)
    except ValueError:
        raise InvalidArgument(f"{parameter} {value!r} is not a GUID") from None
