"""``Peer`` is a facade: each method says at its definition how it runs, and the runtime
holds every call to what it says."""

from __future__ import annotations

import inspect

import pytest

from peerstate import Peer
from peerstate.calls.runtime import Runtime
from peerstate.domain.events import IdentityDeleted

from tests.conftest import T0


def _methods() -> list[str]:
    return [name for name, value in vars(Peer).items() if not name.startswith("_") and inspect.isfunction(value)]


@pytest.mark.parametrize("name", _methods())
def test_each_method_says_how_it_runs(name: str) -> None:
    method = vars(Peer)[name]
    assert hasattr(method, "__wrapped__"), f"Peer.{name} is neither @reading nor @writing"
    assert method.__code__.co_qualname in ("reading.<locals>.call", "writing.<locals>.call")


def test_a_call_that_only_reads_cannot_store(peer: Peer) -> None:
    identity = peer.create_identity("alice")
    runtime: Runtime = peer._runtime
    head = runtime.store.head()
    with pytest.raises(AssertionError, match="only inside Runtime.writing"):
        runtime.reading(lambda: runtime.execute(lambda state: ([IdentityDeleted(identity, T0)], None)))
    assert runtime.store.head() == head and peer.identities()[0].peer_name == identity


def test_a_call_that_writes_inside_one_that_reads_is_refused(peer: Peer) -> None:
    runtime: Runtime = peer._runtime
    head = runtime.store.head()
    with pytest.raises(AssertionError, match="made inside one that only reads"):
        runtime.reading(lambda: peer.create_identity("alice"))
    assert runtime.store.head() == head and peer.identities() == []


def test_the_sync_port_is_no_name_of_peer() -> None:
    assert not [name for name in dir(Peer) if name.startswith("sync")]
