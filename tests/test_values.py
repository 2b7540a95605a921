"""``evolved`` is ``attrs.evolve``, faster: the same value for every field changed, and a
refusal for classes whose fields it cannot pass by position."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from immutables import Map

from peerstate.domain.group_state import GroupState
from peerstate.domain.replica import Guesses, ReplicaState
from peerstate.domain.values import evolved

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
STATE = ReplicaState(GroupState("g"), "me", "synchronized", "Global_", "Group", b"k", False, None, (b"c",), 2)
CHANGES = st.fixed_dictionaries({}, optional={
    "identity": st.text(max_size=4), "phase": st.sampled_from(["new", "joined", "synchronized", "deleted"]),
    "refused": st.integers(0, 9), "chain": st.lists(st.binary(max_size=3), max_size=2).map(tuple),
    "group": st.builds(GroupState, st.text(max_size=4), records=st.just(Map({1: 2}))),
    "wrong_passwords_in_group": st.builds(Guesses, st.integers(0, 3), st.just(T0)),
    "peer_time_offset": st.integers(-10, 10).map(lambda seconds: timedelta(seconds=seconds)),
})


@given(CHANGES)
def test_evolved_is_attrs_evolve(changes: dict[str, Any]) -> None:
    assert evolved(STATE, **changes) == attrs.evolve(STATE, **changes)


def test_a_field_it_does_not_have_is_refused() -> None:
    with pytest.raises(KeyError):
        evolved(STATE, colour="red")


def test_a_class_with_keyword_only_fields_is_refused() -> None:
    @attrs.frozen(kw_only=True)
    class Named:
        a: int
        b: int

    with pytest.raises(TypeError, match="positional"):
        evolved(Named(a=1, b=2), a=3)


def test_a_slotted_value_is_evolved_through_its_init() -> None:
    @attrs.frozen
    class Slotted:
        a: int
        b: str

    assert evolved(Slotted(1, "x"), b="y") == Slotted(1, "y")
    with pytest.raises(KeyError):
        evolved(Slotted(1, "x"), c=2)


def test_a_validator_runs_on_the_value_made() -> None:
    @attrs.frozen(slots=False)
    class Checked:
        a: int = attrs.field(validator=attrs.validators.instance_of(int))

    assert evolved(Checked(1), a=2) == Checked(2)
    with pytest.raises(TypeError):
        evolved(Checked(1), a="two")


def test_the_value_evolved_from_is_left_as_it_was() -> None:
    changed = evolved(STATE, refused=7)
    assert STATE.refused == 2 and changed.refused == 7 and changed.group is STATE.group
