"""The functions a scenario may call, as one value that loading and replaying are given.

By default that is ``peerstate.winapi``; tests give a small fake instead, so the loader's
and the runner's rules can be tested without a real peer.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Final

import attrs

from peerstate import winapi


@attrs.frozen
class Api:
    """Every function name a scenario may use, and those implemented so far with their
    in- and out-parameter names. A name in ``all_functions`` but not in ``functions`` is
    "not supported yet": its steps fail, never pass."""

    all_functions: Collection[str]
    functions: Mapping[str, winapi.WinFunction]
    out_parameters: Mapping[str, tuple[str, ...]]
    in_parameters: Callable[[str], tuple[str, ...]]


WINAPI: Final = Api(
    winapi.ALL_FUNCTIONS, winapi.FUNCTIONS, winapi.OUT_PARAMETERS, winapi.in_parameters
)
"""The p2p.h functions of ``peerstate.winapi``; its mappings are live views, so functions it
registers later are seen too."""
