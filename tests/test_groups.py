"""Group calls through ``Peer``: every refused call leaves the store and the replica as they were."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from peerstate.peer import sync_port
from peerstate import Peer, PeerError, open_store, views

from tests.conftest import T0


@pytest.fixture
def creator() -> tuple[Peer, Any, str, str]:
    store = open_store(None)
    peer = Peer(store, clock=lambda: T0)
    name = peer.create_identity("alice")
    handle = peer.create_group(name, "chess", authentication_schemes=2, password="knight-e4-e5",
                               password_role="PEER_GROUP_ROLE_MEMBER")
    return peer, store, name, handle


CALLS: list[tuple[str, Callable[[Peer, str, str], object], str]] = [
    ("create without creator", lambda p, n, h: p.create_group(None), "E_INVALIDARG"),
    ("create with a spaced classifier", lambda p, n, h: p.create_group(n, "a b"), "PEER_E_INVALID_CLASSIFIER"),
    ("create with a short password", lambda p, n, h: p.create_group(n, authentication_schemes=2, password="short",
                                                                     password_role="PEER_GROUP_ROLE_ADMIN"),
     "PEER_E_PASSWORD_DOES_NOT_MEET_POLICY"),
    ("create on an unseen cloud", lambda p, n, h: p.create_group(n, cloud="SiteLocal_"), "PEER_E_NO_CLOUD"),
    ("create for a stranger", lambda p, n, h: p.create_group("0123456789abcdef0123456789abcdef01234567.x"),
     "PEER_E_INVALID_PEER_NAME"),
    ("create with unknown flags", lambda p, n, h: p.create_group(n, flags=0x80), "PEER_E_INVALID_GROUP_PROPERTIES"),
    ("set a fixed property", lambda p, n, h: p.set_group_properties(h, classifier="go"), "PEER_E_INVALID_GROUP_PROPERTIES"),
    ("set a short password", lambda p, n, h: p.set_group_properties(h, password="short"),
     "PEER_E_PASSWORD_DOES_NOT_MEET_POLICY"),
    ("set an unknown property", lambda p, n, h: p.set_group_properties(h, colour="red"), "E_INVALIDARG"),
    ("status of a made-up handle", lambda p, n, h: p.group_status("HGROUP:nope:1"), "PEER_E_INVALID_GROUP"),
    ("open an unknown group", lambda p, n, h: p.open_group(n, "0.nothing"), "PEER_E_NOT_FOUND"),
    ("delete an identity with groups", lambda p, n, h: p.delete_identity(n), "PEER_E_GROUPS_EXIST"),
    ("parse a non-invitation", lambda p, n, h: p.parse_invitation("<x/>"), "PEER_E_INVITATION_NOT_TRUSTED"),
    ("join by a non-invitation", lambda p, n, h: p.password_join(n, "<x/>", "pw"), "PEER_E_INVITATION_NOT_TRUSTED"),
    ("peer time without a time", lambda p, n, h: p.peer_time_to_universal(h, None), "E_INVALIDARG"),
]


@pytest.mark.parametrize("call, expected", [(c, e) for _, c, e in CALLS], ids=[i for i, _, _ in CALLS])
def test_a_refused_call_changes_nothing(
    creator: tuple[Peer, Any, str, str], call: Callable[[Peer, str, str], object], expected: str,
) -> None:
    peer, store, name, handle = creator
    head, groups = store.head(), peer.groups(name)
    digest = views.group_digest(sync_port(peer).sync_replica((name, groups[0].peer_name)).state.group)
    with pytest.raises(PeerError) as caught:
        call(peer, name, handle)
    assert caught.value.name == expected, caught.value
    assert store.head() == head
    assert peer.groups(name) == groups
    assert views.group_digest(sync_port(peer).sync_replica((name, groups[0].peer_name)).state.group) == digest


def test_a_closed_handle_is_invalid_and_deleting_the_group_frees_the_identity(creator: tuple[Peer, Any, str, str]) -> None:
    peer, store, name, handle = creator
    group = peer.groups(name)[0].peer_name
    other = peer.open_group(name, group)
    peer.close_group(handle)
    with pytest.raises(PeerError, match="not an open group handle"):
        peer.group_status(handle)
    peer.delete_group(name, group)
    with pytest.raises(PeerError) as caught:
        peer.group_status(other)
    assert caught.value.name == "PEER_E_INVALID_GROUP"
    assert peer.groups(name) == []
    peer.delete_identity(name)
    assert peer.identities() == []


def test_a_group_survives_a_restart_of_its_store(tmp_path: Any) -> None:
    store = open_store(tmp_path / "alice")
    peer = Peer(store, clock=lambda: T0)
    name = peer.create_identity("alice")
    handle = peer.create_group(name, "chess", friendly_name="Chess")
    properties = peer.group_properties(handle)
    store.close()
    again = Peer(open_store(tmp_path / "alice"), clock=lambda: T0)
    reopened = again.open_group(name, properties.group_peer_name)
    assert again.group_properties(reopened) == properties
