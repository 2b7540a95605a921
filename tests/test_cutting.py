"""The rule that cuts a sender off (``sync.cutting``): every rule that can refuse an envelope
is said, once, to cut its sender off or not; a refusal under any other name is an error."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from peerstate.errors import peer_error
from peerstate.registry import RULES
from peerstate.sync import admission, cutting


def _referred(node: ast.AST, names: dict[str, Any]) -> Any:
    """What a name, or a module's attribute, in a function's source stands for."""
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and isinstance(module := names.get(node.value.id), ModuleType):
        return getattr(module, node.attr, None)
    return None


def _followed(module: str) -> bool:
    """Whether the rules of ``module`` can be named by a refusal of an envelope when admission
    reaches them: the domain's, the names', admission's own. A reader a rule calls (a
    document's) is not followed: the rule tells its refusals as its own."""
    return module.startswith("peerstate.domain.") or module in ("peerstate.names", admission.__name__)


def rules_that_judge_envelopes() -> set[str]:
    """Every registered rule whose name a refusal of ``admission.admit`` can store: the rules
    it refers to (calls, or hands to another to call), and theirs, through every function of
    the modules that judge envelopes (the innermost rule that refused is the one named,
    ``_followed``)."""
    found: set[str] = set()
    seen: set[Callable[..., Any]] = set()
    waiting: list[Callable[..., Any]] = [admission.admit]
    while waiting:
        function = inspect.unwrap(waiting.pop())
        if function in seen:
            continue
        seen.add(function)
        if function.__name__ in RULES and RULES[function.__name__].module == function.__module__:
            found.add(function.__name__)
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
            referred = _referred(node, function.__globals__)
            if inspect.isfunction(referred) and _followed(inspect.unwrap(referred).__module__):
                waiting.append(referred)
    return found


def test_every_rule_that_judges_an_envelope_is_said_to_cut_its_sender_off_or_not() -> None:
    judging = rules_that_judge_envelopes()
    assert {"envelope_is_for_group", "signature_verifies", "may_grant_roles", "record_fits", "attributes_are_well_formed"} <= judging
    assert not cutting.CUTS_OFF & cutting.NEEDS_CONTEXT, "in both sets"
    assert judging <= cutting.CUTS_OFF | cutting.NEEDS_CONTEXT, f"in neither set: {sorted(judging - cutting.CUTS_OFF - cutting.NEEDS_CONTEXT)}"
    assert cutting.CUTS_OFF | cutting.NEEDS_CONTEXT <= set(RULES), "a name no rule answers to"


def test_a_refusal_no_one_sorted_is_an_error_not_a_guess() -> None:
    assert cutting.cuts_off(peer_error("PEER_E_INVALID_RECORD", "forged", "signature_verifies"))
    assert not cutting.cuts_off(peer_error("PEER_E_INVALID_RECORD", "a gap", "author_chain_continues"))
    for rule in ("identity_is_live", None):
        with pytest.raises(AssertionError, match="cuts its sender off"):
            cutting.cuts_off(peer_error("PEER_E_NOT_FOUND", "no", rule))
