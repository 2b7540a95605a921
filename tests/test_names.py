"""Peer names, classifiers and roles: validated in one place."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peerstate import names
from peerstate.errors import PeerError

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
    assert caught.value.name == "PEER_E_INVALID_PEER_NAME"


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
        assert caught.value.name == "E_INVALIDARG"
