"""Peer names, classifiers, friendly names and role GUIDs: the one place they are validated.

A peer name is ``Authority.Classifier`` ([MS-PNRP] 1.3.1.1). A secure
authority is the SHA-1 of the key's DER SubjectPublicKeyInfo in 40 lower-case hex digits; the
unsecured authority is ``0``. Every caller that accepts a name, a classifier or a role goes
through here and chooses the HRESULT that its own documentation gives for a bad one.

Each check is a registered rule (``peerstate.registry``) named after what it checks, declaring
every HRESULT a caller chooses for it. The names callers have always used (``parse_peer_name``,
``require_classifier``, ``require_friendly_name``, ``parse_role``) stay, as this module is
public: each is the rule itself under its older name.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from types import MappingProxyType
from collections.abc import Collection
from typing import Final
from uuid import UUID

import attrs

from peerstate.bounds import MAX_CLASSIFIER as MAX_CLASSIFIER, MAX_FRIENDLY_NAME as MAX_FRIENDLY_NAME
from peerstate.errors import ErrorName
from peerstate.registry import Refusal, rule

UNSECURED_AUTHORITY: Final = "0"
_SECURE_AUTHORITY = re.compile(r"[0-9a-f]{40}")


@attrs.frozen
class PeerName:
    """A parsed peer name. Case matters: names are compared as written."""

    authority: str
    classifier: str

    @property
    def secure(self) -> bool:
        return self.authority != UNSECURED_AUTHORITY

    def __str__(self) -> str:
        return f"{self.authority}.{self.classifier}"


def authority_of(public_key_der: bytes) -> str:
    """The secure authority of a key, from its DER SubjectPublicKeyInfo."""
    return hashlib.sha1(public_key_der, usedforsecurity=False).hexdigest()


def classifier_problem(classifier: str) -> str | None:
    """Why ``classifier`` is not a valid classifier, or None when it is."""
    if len(classifier) > MAX_CLASSIFIER:
        return f"the classifier has {len(classifier)} characters; at most {MAX_CLASSIFIER} are allowed"
    for char in classifier:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
            return f"the classifier contains the character U+{ord(char):04X}"
    return None


@rule("PEER_E_INVALID_CLASSIFIER", "E_INVALIDARG")
def classifier_is_valid(classifier: str, code: ErrorName) -> str:
    """A classifier has at most 149 characters and no white space, control, format,
    surrogate, private or unassigned character (``code``, which the caller's documentation
    gives): ``classifier`` itself when it does."""
    problem = classifier_problem(classifier)
    if problem is not None:
        raise Refusal(problem, code)
    return classifier


require_classifier = classifier_is_valid
"""``classifier_is_valid`` under the name callers have used."""


@rule("PEER_E_INVALID_PEER_NAME", "E_INVALIDARG")
def peer_name_is_well_formed(text: str, code: ErrorName = "PEER_E_INVALID_PEER_NAME") -> PeerName:
    """A peer name is ``Authority.Classifier``, the authority 40 lower-case hex digits or
    ``0``, the classifier valid and, under ``0``, not empty (``code``, which the caller's
    documentation gives): the name split in two when it is."""
    authority, dot, classifier = text.partition(".")
    if not dot:
        raise Refusal(f"{text!r} is not a peer name: it has no '.' after the authority", code)
    if authority != UNSECURED_AUTHORITY and not _SECURE_AUTHORITY.fullmatch(authority):
        raise Refusal(f"{text!r} is not a peer name: the authority must be 40 lower-case hex digits or 0", code)
    problem = classifier_problem(classifier)
    if problem is not None:
        raise Refusal(f"{text!r} is not a peer name: {problem}", code)
    if authority == UNSECURED_AUTHORITY and not classifier:
        raise Refusal(f"{text!r} is not a peer name: an unsecured name needs a classifier", code)
    return PeerName(authority, classifier)


parse_peer_name = peer_name_is_well_formed
"""``peer_name_is_well_formed`` under the name callers have used."""


def _has_control_character(text: str) -> bool:
    """Whether ``text`` holds a control character (a newline, an escape) or a lone
    surrogate: what a text shown as it is may not hold."""
    return not text.isprintable() and any(unicodedata.category(char) in ("Cc", "Cs") for char in text)


@rule("E_INVALIDARG", "PEER_E_INVALID_GROUP_PROPERTIES", "PEER_E_INVALID_RECORD")
def friendly_name_is_valid(name: str, code: ErrorName = "E_INVALIDARG") -> str:
    """A friendly name (or comment) has at most 255 characters and no control character
    (``code``, which the caller's documentation gives; ``PEER_E_INVALID_RECORD`` for one
    another peer sent): ``name`` itself when it does."""
    if len(name) > MAX_FRIENDLY_NAME:
        raise Refusal(f"the friendly name has {len(name)} characters; at most {MAX_FRIENDLY_NAME} are allowed", code)
    if _has_control_character(name):
        raise Refusal("the friendly name contains a control character", code)
    return name


require_friendly_name = friendly_name_is_valid
"""``friendly_name_is_valid`` under the name callers have used."""


@rule("PEER_E_INVALID_RECORD", "PEER_E_INVALID_GROUP_PROPERTIES")
def text_is_printable(text: str, what: str, code: ErrorName = "PEER_E_INVALID_RECORD") -> str:
    """A text another peer sent that is shown as it is (a member's address, a cloud's name)
    is not empty and holds no control character (``code``): a newline or a terminal escape
    in it could forge what a reader sees. Its length is its bound's
    (``peerstate.bounds``). ``text`` itself when it is."""
    if not text:
        raise Refusal(f"{what} is empty", code)
    if _has_control_character(text):
        raise Refusal(f"{what} contains a control character", code)
    return text


ROLE_ADMIN: Final = UUID("04387127-aa56-450a-8ce5-4f565c6790f4")
ROLE_MEMBER: Final = UUID("f12dc4c7-0857-4ca0-93fc-b1bb19a3d8c2")
ROLE_INVITING_MEMBER: Final = UUID("4370fd89-dc18-4cfb-8dbf-9853a8a9f905")

ROLES: Final = MappingProxyType(
    {
        "PEER_GROUP_ROLE_ADMIN": ROLE_ADMIN,
        "PEER_GROUP_ROLE_MEMBER": ROLE_MEMBER,
        "PEER_GROUP_ROLE_INVITING_MEMBER": ROLE_INVITING_MEMBER,
    }
)
ROLE_NAMES: Final = MappingProxyType({guid: name for name, guid in ROLES.items()})


@rule("E_INVALIDARG", "PEER_E_INVALID_GROUP_PROPERTIES")
def role_is_known(value: str | UUID, code: ErrorName = "E_INVALIDARG") -> UUID:
    """A role is one of the three group roles, by its header name or its GUID (``code``,
    which the caller's documentation gives): the role's GUID when it is."""
    if isinstance(value, UUID):
        guid = value
    elif value in ROLES:
        return ROLES[value]
    else:
        try:
            guid = UUID(value)
        except ValueError:
            raise Refusal(f"{value!r} is neither a role name nor a GUID", code) from None
    if guid not in ROLE_NAMES:
        raise Refusal(f"{guid} is not one of the three group roles", code)
    return guid


parse_role = role_is_known
"""``role_is_known`` under the name callers have used."""


ISSUABLE_ROLES: Final = MappingProxyType(
    {
        ROLE_ADMIN: frozenset({ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER}),
        ROLE_INVITING_MEMBER: frozenset({ROLE_INVITING_MEMBER, ROLE_MEMBER}),
        ROLE_MEMBER: frozenset[UUID](),
    }
)
"""What each role may give out (MS-PPSEC 2.2.5.3): no one issues a role above their own."""


def may_issue(issuer_roles: Collection[UUID] | None, subject_roles: Collection[UUID]) -> bool:
    """Whether an issuer holding ``issuer_roles`` may issue ``subject_roles``; None is the
    group root, which may issue any role. An empty role list is never issuable."""
    if not subject_roles:
        return False
    if issuer_roles is None:
        return all(role in ROLE_NAMES for role in subject_roles)
    allowed = frozenset().union(*(ISSUABLE_ROLES.get(role, frozenset()) for role in issuer_roles))
    return all(role in allowed for role in subject_roles)
