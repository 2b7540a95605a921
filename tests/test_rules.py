"""The identity rules and the fold, one behaviour each."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from peerstate.domain import rules
from peerstate.domain.events import FriendlyNameChanged, IdentityCreated, IdentityDeleted, IdentityExported
from peerstate.domain.group_state import GroupState
from peerstate.domain.state import IdentityStoreState, evolve
from peerstate.errors import PeerError

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def state_with(*events: object) -> IdentityStoreState:
    state = IdentityStoreState()
    for event in events:
        state = evolve(state, event)  # type: ignore[arg-type]
    return state


CREATED = IdentityCreated("0.a", "a", "A", b"c", b"k", False, "created", AT)


def test_the_fold_keeps_tombstones_and_counts_exports() -> None:
    state = state_with(CREATED, IdentityExported("0.a", AT), FriendlyNameChanged("0.a", "B", b"c2", AT), IdentityDeleted("0.a", AT))
    record = state.identities["0.a"]
    assert (record.friendly_name, record.certificate, record.exports, record.deleted_at) == ("B", b"c2", 1, AT)
    assert state.live("0.a") is None


def test_an_earlier_state_is_not_changed_by_the_fold() -> None:
    before = state_with(CREATED)
    evolve(before, IdentityDeleted("0.a", AT))
    assert before.live("0.a") is not None


def test_identity_is_live() -> None:
    assert rules.identity_is_live(state_with(CREATED), "0.a").peer_name == "0.a"
    for state, reason in (
        (IdentityStoreState(), "there is no identity '0.a' on this peer"),
        (state_with(CREATED, IdentityDeleted("0.a", AT)), "the identity '0.a' was deleted from this peer"),
    ):
        with pytest.raises(PeerError) as caught:
            rules.identity_is_live(state, "0.a")
        assert (caught.value.name, caught.value.message) == ("PEER_E_NOT_FOUND", reason)


def test_identity_is_new_allows_a_deleted_name_back() -> None:
    with pytest.raises(PeerError) as caught:
        rules.identity_is_new(state_with(CREATED), "0.a")
    assert caught.value.name == "PEER_E_ALREADY_EXISTS"
    rules.identity_is_new(state_with(CREATED, IdentityDeleted("0.a", AT)), "0.a")


def test_identity_has_no_groups() -> None:
    rules.identity_has_no_groups("0.a", [])
    with pytest.raises(PeerError) as caught:
        rules.identity_has_no_groups("0.a", ["g.chess"])
    assert caught.value.name == "PEER_E_GROUPS_EXIST" and "g.chess" in caught.value.message


def test_no_credential_for_an_identity_deleted_here_though_its_groups_never_heard() -> None:
    """A deletion on this peer is enough: the group log need not hold it yet."""
    group = GroupState("g.chess")
    rules.subject_not_deleted(state_with(CREATED), group, "0.a")
    with pytest.raises(PeerError) as caught:
        rules.subject_not_deleted(state_with(CREATED, IdentityDeleted("0.a", AT)), group, "0.a")
    assert (caught.value.rule, caught.value.name) == ("subject_not_deleted", "PEER_E_IDENTITY_DELETED")
