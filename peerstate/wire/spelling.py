"""How the wire spells what is not plain JSON: bytes as base64, an attrs value's class under
a tag, integers in 64 bits. Shared by the careful decoders and encoders
(``peerstate.wire``) and the written-out ones (``peerstate.wire.generated``), which must
read and write exactly the same."""

from __future__ import annotations

import binascii
from typing import Final

import pybase64

TAG: Final = "@type"
"""The key under which an attrs value's tree names its class."""
INT_RANGE: Final = range(-(2**63), 2**63)
"""The integers the wire accepts: signed 64-bit ones."""
SHORT_BASE64: Final = 64
"""Base64 text up to this length is read by ``binascii``, longer by ``pybase64``: its SIMD
reads a signature's 344 characters in a fifth of ``binascii``'s time, but its call alone
costs more than ``binascii``'s whole read of a 44-character digest."""


def base64_text(raw: bytes) -> str:
    """``raw`` in standard base64, padded, on one line: how the wire writes bytes."""
    text: str = pybase64.b64encode_as_string(raw)
    return text


def from_base64(text: str) -> bytes:
    """The bytes strict standard base64 ``text`` stands for; ``ValueError`` (``binascii.Error``)
    for anything but the alphabet with its padding, or for text that is not ASCII. Only
    ``binascii`` lets padding after whole groups of four pass: a spelling ``base64_text``
    never writes, which canonical decoding refuses whatever its length."""
    if len(text) > SHORT_BASE64:
        raw: bytes = pybase64.b64decode(text, None, True)  # positional: its keywords' parsing costs as much as the read
        return raw
    return binascii.a2b_base64(text, strict_mode=True)
