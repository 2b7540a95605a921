"""Type and size checks of caller arguments: the E_INVALIDARG cases common to every call.

A C caller cannot pass an int where a string goes; a Python caller can, and must get the
HRESULT that a malformed argument gets in Windows, not a TypeError from deep inside.
"""

from __future__ import annotations

from typing import Final, overload, Literal

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
    return value


def password(value: object, parameter: str) -> str:
    """A required, non-empty password."""
    result = text(value, parameter, max_chars=MAX_PASSWORD_CHARS)
    if not result:
        raise InvalidArgument(f"{parameter} must not be empty")
    return result
