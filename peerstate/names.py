"""Peer names, classifiers, friendly names and role GUIDs: the one place they are validated.

A peer name is ``Authority.Classifier`` ([MS-PNRP] 1.3.1.1). A secure
authority is the SHA-1 of the key's DER SubjectPublicKeyInfo in 40 lower-case hex digits; the
unsecured authority is ``0``. Every caller that accepts a name, a classifier or a role goes
through here and chooses the HRESULT that its own documentation gives for a bad one.
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

from peerstate.errors import ErrorName, peer_error

MAX_CLASSIFIER: Final = 149
"""Characters, without the terminating NUL that the 150 of the documentation counts."""
MAX_FRIENDLY_NAME: Final = 255
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


def require_classifier(classifier: str, code: ErrorName) -> str:
    """``classifier`` itself, or a ``PeerError`` of ``code`` saying what is wrong with it."""
    problem = classifier_problem(classifier)
    if problem is not None:
        raise peer_error(code, problem)
    return classifier


def parse_peer_name(text: str, code: ErrorName = "PEER_E_INVALID_PEER_NAME") -> PeerName:
    """Split and check a peer name; a malformed one raises a ``PeerError`` of ``code``."""
    authority, dot, classifier = text.partition(".")
    if not dot:
        raise peer_error(code, f"{text!r} is not a peer name: it has no '.' after the authority")
    if authority != UNSECURED_AUTHORITY and not _SECURE_AUTHORITY.fullmatch(authority):
        raise peer_error(
            code, f"{text!r} is not a peer name: the authority must be 40 lower-case hex digits or 0"
        )
    problem = classifier_problem(classifier)
    if problem is not None:
        raise peer_error(code, f"{text!r} is not a peer name: {problem}")
    if authority == UNSECURED_AUTHORITY and not classifier:
        raise peer_error(code, f"{text!r} is not a peer name: an unsecured name needs a classifier")
    return PeerName(authority, classifier)


def require_friendly_name(name: str, code: ErrorName = "E_INVALIDARG") -> str:
    """``name`` itself, or a ``PeerError`` of ``code`` when it is too long or has control characters."""
    if len(name) > MAX_FRIENDLY_NAME:
        raise peer_error(
            code, f"the friendly name has {len(name)} characters; at most {MAX_FRIENDLY_NAME} are allowed"
        )
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in name):
        raise peer_error(code, "the friendly name contains a control character")
    return name


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


def parse_role(value: str | UUID, code: ErrorName = "E_INVALIDARG") -> UUID:
    """A role GUID from its header name or GUID text; anything else is a ``PeerError`` of ``code``."""
    if isinstance(value, UUID):
        guid = value
    elif value in ROLES:
        return ROLES[value]
    else:
        try:
            guid = UUID(value)
        except ValueError:
            raise peer_error(code, f"{value!r} is neither a role name nor a GUID") from None
    if guid not in ROLE_NAMES:
        raise peer_error(code, f"{guid} is not one of the three group roles")
    return guid


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
