"""Peer names, classifiers and roles: validated in one place."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peerstate import Peer, names, open_store
from peerstate.errors import ErrorName, PeerError
from peerstate.registry import RULES
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

classifiers = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp")), max_size=149
).filter(lambda c: not any(ch.isspace() for ch in c))


@given(st.from_regex(r"[0-9a-f]{40}", fullmatch=True), classifiers)
def test_secure_names_parse_back(authority: str, classifier: str) -> None:
    parsed = names.parse_peer_name(f"{authority}.{classifier}")
    assert (parsed.authority, parsed.classifier, parsed.secure) == (authority, classifier, True)
    assert str(parsed) == f"{authority}.{classifier}"


@pytest.mark.parametrize(
    "text", ["nodot", "ABCDEF0123456789abcdef0123456789abcdef01.x", "abc.x", "0.", "0.a b", "0." + "x" * 150]
)
def test_malformed_names_give_the_callers_code(text: str) -> None:
    with pytest.raises(PeerError) as caught:
        names.parse_peer_name(text, "PEER_E_INVALID_PEER_NAME")
    assert (caught.value.rule, caught.value.name) == ("peer_name_is_well_formed", "PEER_E_INVALID_PEER_NAME")


def test_the_unsecured_authority_is_zero() -> None:
    assert not names.parse_peer_name("0.JohnDoe.Games").secure


def test_authority_is_sha1_of_the_key() -> None:
    assert names.authority_of(b"") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"


@pytest.mark.parametrize(("classifier", "problem"), [("x" * 150, "at most 149"), ("a\u200bb", "U+200B"), ("a\nb", "U+000A")])
def test_classifier_problems_are_named(classifier: str, problem: str) -> None:
    assert problem in (names.classifier_problem(classifier) or "")


def test_roles_by_name_or_guid() -> None:
    assert names.parse_role("PEER_GROUP_ROLE_ADMIN") == UUID("04387127-aa56-450a-8ce5-4f565c6790f4")
    assert names.parse_role("f12dc4c7-0857-4ca0-93fc-b1bb19a3d8c2") == names.ROLE_MEMBER
    for bad in ("PEER_GROUP_ROLE_OWNER", "00000000-0000-0000-0000-000000000000"):
        with pytest.raises(PeerError) as caught:
            names.parse_role(bad)
        assert (caught.value.rule, caught.value.name) == ("role_is_known", "E_INVALIDARG")


# Each check is a registered rule, under its name, with the HRESULT its caller chooses ---------

NAME_RULES = [
    ("classifier_is_valid", names.require_classifier, ("a b",), ("PEER_E_INVALID_CLASSIFIER", "E_INVALIDARG")),
    ("peer_name_is_well_formed", names.parse_peer_name, ("nodot",), ("PEER_E_INVALID_PEER_NAME", "E_INVALIDARG")),
    ("friendly_name_is_valid", names.require_friendly_name, ("x" * 256,), ("E_INVALIDARG", "PEER_E_INVALID_GROUP_PROPERTIES", "PEER_E_INVALID_RECORD")),
    ("role_is_known", names.parse_role, ("PEER_GROUP_ROLE_OWNER",), ("E_INVALIDARG", "PEER_E_INVALID_GROUP_PROPERTIES")),
    ("text_is_printable", names.text_is_printable, ("", "the address"), ("PEER_E_INVALID_RECORD", "PEER_E_INVALID_GROUP_PROPERTIES")),
]


@pytest.mark.parametrize(("rule", "check", "args", "codes"), NAME_RULES, ids=[rule for rule, *_ in NAME_RULES])
def test_each_check_refuses_under_its_rule_with_every_code_its_callers_choose(
    rule: str, check: Callable[..., object], args: tuple[object, ...], codes: tuple[ErrorName, ...],
) -> None:
    assert check.__name__ == rule and RULES[rule].codes == codes  # the older name is the rule itself
    for code in codes:
        with pytest.raises(PeerError) as caught:
            check(*args, code)
        assert (caught.value.rule, caught.value.name) == (rule, code)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("x" * 256, "at most 255 are allowed"), ("a\u0007b", "contains a control character"), ("a\ud800b", "control character")],
)
def test_a_friendly_name_too_long_or_with_a_control_character_is_refused(name: str, problem: str) -> None:
    with pytest.raises(PeerError, match=problem) as caught:
        names.require_friendly_name(name)
    assert (caught.value.rule, caught.value.name) == ("friendly_name_is_valid", "E_INVALIDARG")
    assert names.require_friendly_name("x" * 255) == "x" * 255


@pytest.mark.parametrize("text", ["a\nb", "\x1b[2J", "a\x85b", "a\ud800b", "\x00"])
def test_a_shown_text_with_a_control_character_is_refused(text: str) -> None:
    with pytest.raises(PeerError, match="the address contains a control character") as caught:
        names.text_is_printable(text, "the address")
    assert (caught.value.rule, caught.value.name) == ("text_is_printable", "PEER_E_INVALID_RECORD")


@pytest.mark.parametrize("text", ["::1", "carol's laptop", "fe80::1%eth0", "Глобальный\u00a0облако", "a\u200bb"])
def test_a_shown_text_of_any_printable_or_format_character_is_kept(text: str) -> None:
    """Only control characters and lone surrogates are refused, as in a friendly name: a
    no-break or zero-width space is text."""
    assert names.text_is_printable(text, "the address") == text
    assert names.require_friendly_name(text) == text


@pytest.fixture
def club() -> tuple[Peer, PeerStore, str, str]:
    store = open_store(None)
    peer = Peer(store, clock=lambda: T0)
    name = peer.create_identity("alice")
    handle = peer.create_group(name, "chess", authentication_schemes=2, password="knight-e4-e5",
                               password_role="PEER_GROUP_ROLE_MEMBER")
    return peer, store, name, handle


CALLS: list[tuple[str, Callable[[Peer, str, str], object], str, ErrorName]] = [
    ("identity classifier", lambda p, n, h: p.create_identity("a b"), "classifier_is_valid", "E_INVALIDARG"),
    ("group classifier", lambda p, n, h: p.create_group(n, "a b"), "classifier_is_valid", "PEER_E_INVALID_CLASSIFIER"),
    ("creator name", lambda p, n, h: p.create_group("nodot"), "peer_name_is_well_formed", "PEER_E_INVALID_PEER_NAME"),
    ("subject name", lambda p, n, h: p.issue_credentials(h, "nodot", None), "peer_name_is_well_formed", "E_INVALIDARG"),
    ("identity friendly name", lambda p, n, h: p.create_identity("bob", "a\u0007b"), "friendly_name_is_valid", "E_INVALIDARG"),
    ("group friendly name", lambda p, n, h: p.set_group_properties(h, friendly_name="x" * 256), "friendly_name_is_valid",
     "PEER_E_INVALID_GROUP_PROPERTIES"),
    ("password role", lambda p, n, h: p.create_group(n, "go", authentication_schemes=2, password="knight-e4-e5",
                                                     password_role="PEER_GROUP_ROLE_OWNER"),
     "role_is_known", "PEER_E_INVALID_GROUP_PROPERTIES"),
    ("invitation role", lambda p, n, h: p.create_invitation(h, p.identity_xml(n), roles=["PEER_GROUP_ROLE_OWNER"]),
     "role_is_known", "E_INVALIDARG"),
]


@pytest.mark.parametrize(("call", "rule", "code"), [c[1:] for c in CALLS], ids=[c[0] for c in CALLS])
def test_a_call_refused_by_a_name_rule_changes_nothing(
    club: tuple[Peer, PeerStore, str, str], call: Callable[[Peer, str, str], object], rule: str, code: ErrorName,
) -> None:
    peer, store, name, handle = club
    head, identities, properties = store.head(), peer.identities(), peer.group_properties(handle)
    with pytest.raises(PeerError) as caught:
        call(peer, name, handle)
    assert (caught.value.rule, caught.value.name) == (rule, code), caught.value
    assert (store.head(), peer.identities(), peer.group_properties(handle)) == (head, identities, properties)
