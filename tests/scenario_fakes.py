"""Fakes for the scenario tests: a tiny API, stores and peers that record what was done to
them, and a writer of scenario files."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from peerstate.errors import HRESULTS
from peerstate.scenario import Api, Host
from peerstate.winapi import WinResult


def scenario_file(directory: Path, steps: list[Any], name: str = "scenario.json", **top: Any) -> Path:
    """A scenario file with these steps (and any other top-level keys) in ``directory``."""
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": "peerstate-scenario/1", "name": "test", **top, "steps": steps}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


class FakeStore:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakePeer:
    def __init__(self, store: FakeStore, settings: Any, clock: Callable[[], datetime]) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self.closed = False
        self.things: list[str] = []

    def close(self) -> None:
        self.closed = True


class FakeHost:
    """Opens ``FakeStore`` and starts ``FakePeer``, keeping every one it made."""

    def __init__(self) -> None:
        self.stores: list[FakeStore] = []
        self.peers: list[FakePeer] = []

    def open_store(self, path: Path | None) -> Any:
        self.stores.append(FakeStore(path))
        return self.stores[-1]

    def start_peer(self, store: Any, settings: Any, clock: Callable[[], datetime]) -> Any:
        self.peers.append(FakePeer(store, settings, clock))
        return self.peers[-1]

    @property
    def host(self) -> Host:
        return Host(self.open_store, self.start_peer)


def _result(name: str, **out: Any) -> WinResult:
    return WinResult(HRESULTS[name], out, "" if name == "S_OK" else f"{name} because the fake said so")


def FakeMake(peer: FakePeer, pwzName: str | None = None, dwFlags: int = 0) -> WinResult:
    """Adds a thing; refuses an empty name; echoes the flags it got."""
    if not pwzName:
        return _result("E_INVALIDARG")
    peer.things.append(pwzName)
    return _result("S_OK", ppwzThing={"name": pwzName, "flags": dwFlags, "tags": ["a", "b"]})


def FakeList(peer: FakePeer) -> WinResult:
    return _result("S_OK", phPeerEnum=list(peer.things))


def FakeTime(peer: FakePeer, pftWhen: datetime | None = None) -> WinResult:
    """Returns the time it was given and the peer's clock."""
    return _result("S_OK", pftWhen=pftWhen, pftNow=peer.clock())


def FakeSettings(peer: FakePeer) -> WinResult:
    return _result("S_OK", pSettings={"passphrase": peer.settings.passphrase,
                                      "clouds": list(peer.settings.clouds)})


def FakeBoom(peer: FakePeer) -> WinResult:
    raise RuntimeError("the fake exploded")


FUNCTIONS: dict[str, Callable[..., WinResult]] = {
    function.__name__: function
    for function in (FakeMake, FakeList, FakeTime, FakeSettings, FakeBoom)
}
OUT_PARAMETERS = {
    "FakeMake": ("ppwzThing",), "FakeList": ("phPeerEnum",), "FakeTime": ("pftWhen", "pftNow"),
    "FakeSettings": ("pSettings",), "FakeBoom": (),
}
FAKE_API = Api(
    frozenset({*FUNCTIONS, "FakeLater"}),
    FUNCTIONS,
    OUT_PARAMETERS,
    lambda name: tuple(inspect.signature(FUNCTIONS[name]).parameters)[1:],
)
"""``FakeLater`` is a function a scenario may name that is not implemented yet."""
