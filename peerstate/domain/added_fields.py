"""Fields added to a signed or stored value's class after values of it were written.

An envelope's id and signature are computed over its canonical encoding, and a store's rows
hold the same trees: a field added to ``Envelope`` would change the bytes of every
envelope written before, and none would verify. An ``added`` field is None by default and
left out of the tree when None (``peerstate.wire``), so what was written before keeps its
bytes, and what is written now carries the field.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

ADDED: Final = "peerstate.added"
"""The metadata key that marks an ``added`` field."""


def added() -> Any:
    """A field added to an attrs class after values of it were signed or stored: None by
    default, and left out of the tree when None. A tree may lack it (None), but not hold it
    as null: one value, one encoding. It comes after every field without a default."""
    return attrs.field(default=None, metadata={ADDED: True})
