"""The rule registry: every check that can refuse a call or an envelope, registered once,
under a stable name.

A rule is a function decorated with ``@rule(code, ...)``. Its name is the rule's name: a
stored refusal keeps it for ever, so a rule is renamed only with an entry in ``ALIASES``,
which maps the names refusals were stored under to the names of today. ``code`` is the
HRESULT it refuses with (a check that Windows documents with a different code for different
calls names each, and its caller chooses). Inside, the rule raises ``Refusal(message)``; the
decorator turns it into the rule's ``PeerError``, which carries the rule's name, so what a
refusal says does not depend on which helper happened to raise. A rule that calls another
lets the other's refusal through: the innermost rule that refused is the one named.

``docs/rules.md`` is made from this registry, and a test forbids raising a ``PeerError``
anywhere but in a registered rule: the calls only sequence rules.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeVar, cast

import attrs

from peerstate.errors import ErrorName, PeerError, peer_error

_Check = TypeVar("_Check", bound=Callable[..., Any])


class Refusal(Exception):
    """What a rule raises: why it refuses, in its own words; ``code``, for a rule that
    refuses with one of several HRESULTs, which one."""

    def __init__(self, message: str, code: ErrorName | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@attrs.frozen
class Rule:
    """One registered rule: its stable name, the HRESULTs it refuses with (the first unless
    a refusal names another), what it checks, and where it lives."""

    name: str
    codes: tuple[ErrorName, ...]
    summary: str
    module: str

    def error(self, refusal: Refusal) -> PeerError:
        """The ``PeerError`` this rule refuses with."""
        code = refusal.code or self.codes[0]
        if code not in self.codes:
            raise AssertionError(f"rule {self.name} refused with {code}, which it does not declare")
        return peer_error(code, refusal.message, self.name)


_RULES: dict[str, Rule] = {}
RULES: Final[Mapping[str, Rule]] = MappingProxyType(_RULES)
"""Every rule, by name, as the modules that hold them registered them on import."""

ALIASES: Final[Mapping[str, str]] = MappingProxyType({})
"""The names refusals were stored under before a rule was renamed, and the rule's name now."""


def current_name(stored: str) -> str:
    """The rule a stored refusal names, as the registry names it today."""
    return ALIASES.get(stored, stored)


def rule(*codes: ErrorName) -> Callable[[_Check], _Check]:
    """Register the decorated check as a rule named after it, refusing with ``codes``."""
    if not codes:
        raise TypeError("a rule refuses with at least one HRESULT")

    def register(check: _Check) -> _Check:
        entry = Rule(check.__name__, codes, _summary(check), check.__module__)
        if entry.name in _RULES:
            raise AssertionError(f"two rules named {entry.name}: {_RULES[entry.name].module} and {entry.module}")
        _RULES[entry.name] = entry

        @functools.wraps(check)
        def judged(*args: Any, **kwargs: Any) -> Any:
            try:
                return check(*args, **kwargs)
            except Refusal as refusal:
                raise entry.error(refusal) from None

        return cast(_Check, judged)

    return register


def _summary(check: Callable[..., Any]) -> str:
    """The first sentence of a rule's docstring: what it checks."""
    text = " ".join((inspect.getdoc(check) or "").split())
    if not text:
        raise AssertionError(f"rule {check.__name__} does not say what it checks")
    return text.split(". ")[0].rstrip(".") + "."
