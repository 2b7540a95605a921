"""A faster ``attrs.evolve`` for the fold's frozen values: a speed trick, kept here.

Folding an envelope makes a new replica state and group state, and ``attrs.evolve`` reads
every field's definition again each time: half of a log's fold went there. How a class is
evolved is worked out once per class instead. The two states, of which only a few are
alive at once, keep their fields in a ``__dict__`` (``attrs.frozen(slots=False)``): a new
one is the old one's dict with the changes, with no call of ``__init__``, which for a
frozen class sets each of its fields in turn (a third of an envelope's fold).

Where it is used: every step of the folds that makes a value with some fields changed, in
place of ``attrs.evolve``: ``replica.py`` (a replica's state), ``group_state.py`` (the
group state and its members) and ``state.py`` (the identity store's state and its
identities).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

_V = TypeVar("_V")
_Evolver = Callable[[Any, dict[str, Any]], Any]


@functools.cache
def _evolver(cls: type) -> _Evolver:
    """How a value of ``cls`` is made with some fields changed: by copying its ``__dict__``
    when it has one and nothing of attrs' would run on the new values (no validator, no
    converter), else by passing every field to ``__init__`` by position."""
    fields = attrs.fields(cls)
    if any(not field.init or field.kw_only or field.alias != field.name for field in fields):
        raise TypeError(f"{cls.__name__}'s fields are not all positional arguments of its __init__")
    names = [field.name for field in fields]
    if cls.__dictoffset__ and not any(field.validator or field.converter for field in fields):
        return functools.partial(_by_dict, cls, frozenset(names))
    getter = operator.attrgetter(*names) if len(names) > 1 else (lambda value: (getattr(value, names[0]),))
    return functools.partial(_by_position, cls, getter, {name: place for place, name in enumerate(names)})


def _by_dict(cls: type, names: frozenset[str], value: Any, changes: dict[str, Any]) -> Any:
    if not changes.keys() <= names:
        raise KeyError(f"{cls.__name__} has no field {sorted(changes.keys() - names)}")
    made: Any = object.__new__(cls)
    object.__setattr__(made, "__dict__", {**value.__dict__, **changes})
    return made


def _by_position(cls: type, getter: Callable[[Any], tuple[Any, ...]], places: dict[str, int], value: Any, changes: dict[str, Any]) -> Any:
    arguments = list(getter(value))
    for name, changed in changes.items():
        arguments[places[name]] = changed
    return cls(*arguments)


def evolved(value: _V, **changes: Any) -> _V:
    """``value`` with ``changes`` made, as ``attrs.evolve`` gives it (validators included)."""
    kind: type = type(value)
    made: _V = _evolver(kind)(value, changes)
    return made
