"""A loaded, checked scenario: what the runner replays.

Values in ``args`` and ``check`` stay as the file wrote them (with FILETIME strings of
``check`` made canonical): variables and ``inSeconds`` times can only be resolved when the
step runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import attrs

from peerstate.peer import PeerSettings


@attrs.frozen
class CallStep:
    """One p2p.h call: ``out`` maps out-parameter names to variable names."""

    peer: str
    call: str
    args: Mapping[str, Any]
    out: Mapping[str, str]
    expect: str
    check: Mapping[str, Any]

    @property
    def action(self) -> str:
        return self.call


@attrs.frozen
class AdvanceClock:
    seconds: float
    peer: ClassVar[None] = None
    action: ClassVar[str] = "advance_clock"


@attrs.frozen
class Restart:
    """The peer's process ends and starts again, with ``passphrase`` (None: none given)."""

    peer: str
    passphrase: str | None
    action: ClassVar[str] = "restart"


@attrs.frozen
class Sync:
    """Exchange group data among ``peers`` (None: every peer brought up so far)."""

    peers: tuple[str, ...] | None
    peer: ClassVar[None] = None
    action: ClassVar[str] = "sync"


@attrs.frozen
class Converged:
    """Every synchronized replica of the group ``group`` names (a value that may hold
    variables) reports the same group state digest."""

    group: Any
    peer: ClassVar[None] = None
    action: ClassVar[str] = "converged"


Step: TypeAlias = CallStep | AdvanceClock | Restart | Sync | Converged
"""Every step has ``action`` (the function, or the kind of sim step) and ``peer`` (None
where no one peer acts)."""


@attrs.frozen
class Scenario:
    file: Path
    clock: datetime
    peers: Mapping[str, PeerSettings]
    """Settings of the peers the file's ``peers`` names; any other peer gets the defaults."""
    steps: tuple[Step, ...]

    def settings(self, peer: str) -> PeerSettings:
        return self.peers.get(peer, PeerSettings())

    def peer_names(self) -> frozenset[str]:
        """Every peer a step may bring up (and so give a store)."""
        named = {step.peer for step in self.steps if step.peer is not None}
        for step in self.steps:
            if isinstance(step, Sync) and step.peers is not None:
                named.update(step.peers)
        return frozenset(named)
