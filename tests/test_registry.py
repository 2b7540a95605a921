"""The rule registry: a refusal carries the name of the rule that refused, given once, and
the HRESULT the rule declares."""

from __future__ import annotations

import pytest

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import peerstate
from peerstate import registry
from peerstate.domain import rules
from peerstate.domain.replica import WRONG_PASSWORD_RULE
from peerstate.errors import PeerError
from peerstate.registry import RULES, Refusal, rule


@pytest.fixture(autouse=True)
def _checks() -> Iterator[None]:
    """Two rules of these tests' own, registered for each test and taken out after, so that
    the registry's readers (``docs/rules.md``) never see them."""
    global _inner_check, _outer_check

    @rule("PEER_E_INVALID_RECORD")
    def _inner_check(fails: bool) -> None:
        """A check for these tests (``PEER_E_INVALID_RECORD``)."""
        if fails:
            raise Refusal("inner")

    @rule("PEER_E_NOT_AUTHORIZED", "PEER_E_INVALID_TIME_PERIOD")
    def _outer_check(inner_fails: bool, code: str | None) -> None:
        """Another, calling the first. Second sentence, not the summary."""
        _inner_check(inner_fails)
        if code is not None:
            raise Refusal("outer", code)  # type: ignore[arg-type]

    yield
    for name in ("_inner_check", "_outer_check"):
        registry._RULES.pop(name)


_inner_check: Callable[..., Any]
_outer_check: Callable[..., Any]


def test_a_refusal_is_the_rule_s_error_under_its_name() -> None:
    with pytest.raises(PeerError) as caught:
        _outer_check(False, "PEER_E_NOT_AUTHORIZED")
    assert (caught.value.rule, caught.value.name, caught.value.message) == ("_outer_check", "PEER_E_NOT_AUTHORIZED", "outer")
    with pytest.raises(PeerError) as caught:
        _outer_check(False, "PEER_E_INVALID_TIME_PERIOD")
    assert (caught.value.rule, caught.value.name) == ("_outer_check", "PEER_E_INVALID_TIME_PERIOD")


def test_the_innermost_rule_that_refused_is_named() -> None:
    with pytest.raises(PeerError) as caught:
        _outer_check(True, None)
    assert (caught.value.rule, caught.value.name) == ("_inner_check", "PEER_E_INVALID_RECORD")


def test_a_rule_refuses_only_with_the_codes_it_declares() -> None:
    with pytest.raises(AssertionError, match="does not declare"):
        _outer_check(False, "PEER_E_INVALID_RECORD")


def test_a_rule_is_registered_once_with_what_it_checks() -> None:
    assert RULES["_outer_check"].summary == "Another, calling the first."
    assert RULES["_outer_check"].codes == ("PEER_E_NOT_AUTHORIZED", "PEER_E_INVALID_TIME_PERIOD")
    with pytest.raises(AssertionError, match="two rules named _inner_check"):
        rule("PEER_E_INVALID_RECORD")(_inner_check.__wrapped__)  # type: ignore[attr-defined]
    with pytest.raises(AssertionError, match="does not say what it checks"):
        rule("PEER_E_INVALID_RECORD")(lambda: None)


def test_a_stored_name_reads_as_the_rule_s_name_today() -> None:
    assert registry.current_name("author_chain_continues") == "author_chain_continues"
    assert all(new in RULES for new in registry.ALIASES.values())


def test_the_fold_counts_wrong_passwords_under_the_rule_that_refuses_them() -> None:
    assert RULES[WRONG_PASSWORD_RULE].module == rules.__name__
    assert rules.password_proof_matches.__name__ == WRONG_PASSWORD_RULE


STORED_NAMES: frozenset[str] = frozenset("""
    attributes_are_well_formed author_chain_continues author_has_not_forked author_holds_credential caller_created_record
    caller_holds_credential caller_is_creator credential_in_force_in_context caller_may_delete_record chain_has_room chain_not_circular
    classifier_is_valid context_is_here context_is_well_formed creator_is_live credential_matches_certificate credential_within_issuer
    envelope_is_for_group envelope_time_follows_context envelope_time_reached envelope_within_bounds presence_within_credential expiration_ahead expiration_not_lowered
    fixed_properties_unchanged friendly_name_is_valid genesis_comes_first
    genesis_names_its_creator group_uses_password identity_has_no_groups identity_is_here identity_is_live
    identity_is_new identity_not_retired invitation_in_time invitation_is_for issuer_within_rank keys_unlocked may_grant_roles
    member_list_holds_credential modifier_may_touch password_guess_allowed password_meets_policy
    password_proof_matches password_settings_complete peer_name_is_well_formed properties_in_range
    record_fits record_is_live record_is_well_formed record_kind_unchanged record_type_not_reserved
    record_version_has_room record_within_credential replica_is_ready retirement_is_signed_by_identity
    root_is_the_groups signature_verifies subject_not_deleted taken_chain_is_whole text_is_printable
    validity_within_issuer verifier_cost_is_bounded verifier_is_one_scheme
""".split())
"""Every name a stored refusal may hold, written out: the rules of the modules that judge
envelopes and joiners (an ``EnvelopeRefused`` or ``JoinRefused`` names one), and the rules of
names and of group properties that admission calls on a payload's texts and numbers, as logs
keep them for ever. A name leaves this list never; a rule renamed keeps its old name here and
gets an entry in ``registry.ALIASES``."""
JUDGING_MODULES: frozenset[str] = frozenset({"peerstate.domain.rules", "peerstate.domain.record_rules", "peerstate.sync.admission"})


def test_every_name_a_refusal_may_store_is_pinned_and_still_means_a_rule() -> None:
    judging = {name for name, entry in RULES.items() if entry.module in JUDGING_MODULES}
    assert judging <= STORED_NAMES, f"rules that may refuse an envelope or a joiner, not pinned: {sorted(judging - STORED_NAMES)}"
    assert all(registry.current_name(name) in RULES for name in STORED_NAMES), "a pinned name no rule answers to"


MAKERS: frozenset[str] = frozenset({
    "peer_error", "PeerError", "InvalidArgument", "NotFound", "AlreadyExists", "NoKeyAccess", "NotAuthorized",
    "GroupNotReady", "InvalidGroup",
})
"""What makes a ``PeerError``: only ``errors`` (which defines them) and ``registry`` (whose
rules raise them) may call these."""


def _made_outside_rules(source: str, filename: str) -> list[str]:
    """Where ``source`` makes a ``PeerError``, or raises the registry's ``Refusal`` outside a
    ``@rule`` (sync's ``Refusal`` message, a class of the wire, is another thing)."""
    found: list[str] = []
    tree = ast.parse(source, filename)
    refusal = {
        alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "peerstate.registry"
        for alias in node.names if alias.name == "Refusal"
    }

    def visit(node: ast.AST, in_rule: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            in_rule = in_rule or any(
                isinstance(decorator, ast.Call) and getattr(decorator.func, "id", getattr(decorator.func, "attr", "")) == "rule"
                for decorator in node.decorator_list
            )
        if isinstance(node, ast.Call):
            called = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if called in MAKERS or (called in refusal and not in_rule):
                found.append(f"{filename}:{node.lineno} {called}(...)")
        for child in ast.iter_child_nodes(node):
            visit(child, in_rule)

    visit(tree, False)
    return found


def test_no_error_is_made_outside_a_registered_rule() -> None:
    """The calls only sequence rules: every refusal comes from a rule, under its name."""
    package = Path(peerstate.__file__).parent
    made = [
        where for source in sorted(package.rglob("*.py")) if source.name not in ("errors.py", "registry.py")
        for where in _made_outside_rules(source.read_text(encoding="utf-8"), str(source.relative_to(package)))
    ]
    assert not made, f"{len(made)} refusals made outside a registered rule: {made}"


def test_the_check_sees_an_error_made_outside_a_rule() -> None:
    source = (
        "from peerstate.registry import Refusal, rule\n"
        "@rule('E_INVALIDARG')\ndef checked():\n    raise Refusal('fine')\n"
        "def call():\n    raise InvalidArgument('no')\n"
        "def other():\n    raise errors.peer_error('E_INVALIDARG', 'no')\n"
        "def helper():\n    raise Refusal('no')\n"
    )
    assert _made_outside_rules(source, "x.py") == ["x.py:6 InvalidArgument(...)", "x.py:8 peer_error(...)", "x.py:10 Refusal(...)"]
    assert _made_outside_rules("class Refusal: pass\ndef send():\n    return Refusal()\n", "y.py") == []
