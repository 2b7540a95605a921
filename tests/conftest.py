"""Shared fixtures: peers on in-memory stores with a fixed clock, and a no-change assertion."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from peerstate import Peer, PeerError, PeerStore, open_store, registry
from peerstate.storage import peer_store

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def store() -> PeerStore:
    return open_store(None)


@pytest.fixture
def peer(store: PeerStore) -> Peer:
    return Peer(store, clock=lambda: T0)


@contextmanager
def refused(peer: Peer, store: PeerStore, name: str) -> Iterator[None]:
    """The block must raise a ``PeerError`` called ``name`` and leave the peer as it was."""
    identities, head = peer.identities(), store.head()
    with pytest.raises(PeerError) as caught:
        yield
    assert caught.value.name == name, caught.value
    assert peer.identities() == identities
    assert store.head() == head




@pytest.fixture(autouse=True)
def frequent_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with a snapshot of a replica log every few events, so that every
    behaviour is also shown on logs opened from snapshots (``logs.snapshot_due``, replaced
    where ``peer_store`` reads it)."""
    monkeypatch.setattr(peer_store, "snapshot_due", lambda log: log.version - log.snapshot_version >= 3)


REACHED_ENV = "PEERSTATE_RULES_REACHED"
"""With this set to a file's path, the run records which tests and scenarios make each rule
refuse, for ``tests/rules_index.py``, which writes ``docs/rules.md`` from it."""
_reached: dict[str, set[str]] = {}


def pytest_configure(config: pytest.Config) -> None:
    """Record every refusal under the test running then (pytest names it in
    ``PYTEST_CURRENT_TEST``, for this suite's tests and the scenario files alike)."""
    if not os.environ.get(REACHED_ENV):
        return
    error = registry.Rule.error

    def recorded(rule: registry.Rule, refusal: registry.Refusal) -> PeerError:
        test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        _reached.setdefault(rule.name, set()).add(test.split("::")[0] if test.startswith("scenarios/") else test)
        return error(rule, refusal)

    registry.Rule.error = recorded  # type: ignore[method-assign]


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get(REACHED_ENV)
    if path:
        Path(path).write_text(json.dumps({name: sorted(nodes) for name, nodes in sorted(_reached.items())}, indent=1))


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every refusal the registry makes during the test: (rule, HRESULT)."""
    made: list[tuple[str, str]] = []
    error = registry.Rule.error

    def recorded(rule: registry.Rule, refusal: registry.Refusal) -> object:
        made.append((rule.name, refusal.code or rule.codes[0]))
        return error(rule, refusal)

    monkeypatch.setattr(registry.Rule, "error", recorded)
    yield made
