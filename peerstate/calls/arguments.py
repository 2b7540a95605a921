"""The checks of the calls' arguments, one registered rule each (``peerstate.registry``):
their types and sizes, NULLs, flag bits, and the documents a call reads whole: the
``E_INVALIDARG`` cases (and the few the pages give another code) common to every call.

A C caller cannot pass an int where a string goes; a Python caller can, and must get the
HRESULT that a malformed argument gets in Windows, not a TypeError from deep inside.
"""

from __future__ import annotations

import enum
import reprlib
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final, Literal, TypeVar, overload
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric import rsa

from peerstate import crypto, names
from peerstate.bounds import MAX_ARGUMENT_CHARS, MAX_PASSWORD_CHARS
from peerstate.constants import PeerConnectionFlags, PeerRecordFlags
from peerstate.documents import formats, invitations
from peerstate.errors import ErrorName
from peerstate.registry import Refusal, rule

SETTABLE_RECORD_FLAGS: Final = int(PeerRecordFlags.PEER_RECORD_FLAG_AUTOREFRESH)
"""The ``PEER_RECORD`` flags that are the caller's to set."""
CONNECTION_KINDS: Final = int(PeerConnectionFlags.PEER_CONNECTION_NEIGHBOR | PeerConnectionFlags.PEER_CONNECTION_DIRECT)

_Offer = TypeVar("_Offer", invitations.PasswordInvitation, invitations.CredentialInvitation)


def shown(value: object) -> str:
    """A caller's value as an error message may quote it: short, and never failing (Python
    refuses to write an integer of more than 4300 digits)."""
    try:
        return reprlib.repr(value)
    except ValueError:
        return f"<a {type(value).__name__}>"


# Values -------------------------------------------------------------------------------------


@overload
def argument_is_text(value: object, parameter: str, *, required: Literal[True] = ..., max_chars: int = ...) -> str: ...
@overload
def argument_is_text(value: object, parameter: str, *, required: Literal[False], max_chars: int = ...) -> str | None: ...


@rule("E_INVALIDARG")
def argument_is_text(value: object, parameter: str, *, required: bool = True, max_chars: int = MAX_ARGUMENT_CHARS) -> str | None:
    """A string argument is a string (NULL only where it is optional) of at most
    ``max_chars`` characters, without NUL or a lone surrogate (``E_INVALIDARG``). Gives the
    string."""
    if value is None:
        if required:
            raise Refusal(f"{parameter} is required")
        return None
    if not isinstance(value, str):
        raise Refusal(f"{parameter} must be a string, not {type(value).__name__}")
    if len(value) > max_chars:
        raise Refusal(f"{parameter} has {len(value)} characters; at most {max_chars} are accepted")
    if "\x00" in value:
        raise Refusal(f"{parameter} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Refusal(f"{parameter} contains a lone surrogate, which is not a character") from None
    return value


@rule("E_INVALIDARG")
def argument_is_filled(value: object, parameter: str, *, max_chars: int = MAX_ARGUMENT_CHARS) -> str:
    """A required string that means nothing when empty (a password, an address, a path) is
    not empty (``E_INVALIDARG``). Gives the string."""
    result = argument_is_text(value, parameter, max_chars=max_chars)
    if not result:
        raise Refusal(f"{parameter} must not be empty")
    return result


def password(value: object, parameter: str) -> str:
    """A password argument: a string, not empty, of at most ``MAX_PASSWORD_CHARS``."""
    return argument_is_filled(value, parameter, max_chars=MAX_PASSWORD_CHARS)


@rule("E_INVALIDARG")
def argument_is_dword(value: object, parameter: str) -> int:
    """A DWORD or ULONG argument is a number, not a bool, that fits in 32 bits
    (``E_INVALIDARG``). Gives the plain number, as events store it."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refusal(f"{parameter} must be a number, not {type(value).__name__}")
    if not 0 <= value <= 0xFFFFFFFF:
        raise Refusal(f"{parameter} {shown(value)} does not fit in 32 bits")
    return int(value)  # a flag enum member becomes the plain number that events store


@rule("E_INVALIDARG")
def argument_is_bool(value: object, parameter: str) -> bool:
    """A BOOL argument is TRUE or FALSE (``E_INVALIDARG``)."""
    if not isinstance(value, bool):
        raise Refusal(f"{parameter} must be TRUE or FALSE")
    return value


@rule("E_INVALIDARG")
def argument_is_time(value: object, parameter: str) -> datetime:
    """A FILETIME argument is a time with its time zone (``E_INVALIDARG``)."""
    if not isinstance(value, datetime):
        raise Refusal(f"{parameter} must be a time, not {type(value).__name__}")
    if value.utcoffset() is None:
        raise Refusal(f"{parameter} has no time zone")
    return value


@rule("E_INVALIDARG")
def argument_is_guid(value: object, parameter: str) -> UUID:
    """A GUID argument is a ``UUID``, or its string with or without braces (``E_INVALIDARG``)."""
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise Refusal(f"{parameter} must be a GUID, not {type(value).__name__}")
    try:
        return UUID(value)
    except ValueError:
        raise Refusal(f"{parameter} {value!r} is not a GUID") from None


@rule("E_INVALIDARG")
def argument_is_bytes(value: object, parameter: str) -> bytes:
    """A data argument is bytes; NULL is no data (``E_INVALIDARG``)."""
    if value is None:
        return b""
    if not isinstance(value, bytes):
        raise Refusal(f"{parameter} must be bytes, not {type(value).__name__}")
    return value


@rule("E_INVALIDARG")
def argument_is_rsa_key(key: object) -> None:
    """A key given for a new identity (Windows' ``hCryptProv``) is an RSA private key
    (``E_INVALIDARG``)."""
    if key is not None and not isinstance(key, rsa.RSAPrivateKey):
        raise Refusal(f"key must be an RSA private key, not {type(key).__name__}")


# Lists and roles --------------------------------------------------------------------------------


@rule("E_INVALIDARG")
def argument_is_list(value: object, parameter: str, items: str) -> Sequence[object]:
    """A list argument is a list, or a tuple from Python (``E_INVALIDARG``)."""
    if not isinstance(value, (list, tuple)):
        raise Refusal(f"{parameter} must be a list of {items}")
    return value


@rule("E_INVALIDARG")
def list_names_one_at_least(values: Collection[object], parameter: str, item: str) -> None:
    """A list that says what a call is about (roles, addresses, event types) names one at
    least (``E_INVALIDARG``)."""
    if not values:
        raise Refusal(f"{parameter} must name at least one {item}")


@rule("E_INVALIDARG")
def argument_is_role(value: object, parameter: str, code: ErrorName) -> UUID | None:
    """A role argument is NULL, a role's header name or a GUID (``E_INVALIDARG``). Which
    role it names ``names.parse_role`` judges, with the HRESULT ``code`` the caller's page
    gives; gives the role's GUID."""
    if value is None:
        return None
    if not isinstance(value, (str, UUID)):
        raise Refusal(f"{parameter} must be a role, not {type(value).__name__}")
    return names.parse_role(value, code)


@rule("E_INVALIDARG")
def argument_is_roles(values: object, parameter: str) -> tuple[UUID, ...]:
    """A list of roles holds role names or GUIDs, of the three group roles, one at least
    (``E_INVALIDARG``). Gives the role GUIDs as a credential carries them: sorted and
    distinct."""
    roles = []
    for value in argument_is_list(values, parameter, "roles"):
        if not isinstance(value, (str, UUID)):
            raise Refusal(f"{parameter} holds {type(value).__name__}, not a role")
        roles.append(names.parse_role(value, "E_INVALIDARG"))
    list_names_one_at_least(roles, parameter, "role")
    return tuple(sorted(set(roles)))


# Flags ------------------------------------------------------------------------------------------


@rule("E_INVALIDARG")
def flags_zero_or(bits: int, parameter: str, flag: enum.IntFlag) -> None:
    """A ``dwFlags`` that has one flag defined is 0 or that flag (``E_INVALIDARG``)."""
    if bits & ~int(flag):
        raise Refusal(f"{parameter} {bits:#x} is neither 0 nor {flag.name}")


@rule("E_INVALIDARG")
def connection_flags_named(kinds: int) -> None:
    """``PeerGroupEnumConnections`` asks for neighbours, direct connections or both, and
    nothing else (``E_INVALIDARG``)."""
    if not kinds or kinds & ~CONNECTION_KINDS:
        raise Refusal("dwFlags must be PEER_CONNECTION_NEIGHBOR, PEER_CONNECTION_DIRECT or both")


@rule("PEER_E_INVALID_RECORD")
def record_flags_not_deleted(bits: int) -> None:
    """A caller never sets ``PEER_RECORD_FLAG_DELETED``: only ``PeerGroupDeleteRecord``
    does (``PEER_E_INVALID_RECORD``)."""
    if bits & PeerRecordFlags.PEER_RECORD_FLAG_DELETED:
        raise Refusal("PEER_RECORD_FLAG_DELETED is set by PeerGroupDeleteRecord, never by the caller")


@rule("E_INVALIDARG")
def record_flags_known(bits: int) -> None:
    """A record's ``dwFlags`` holds only the flags that are the caller's to set
    (``PEER_RECORD_FLAG_AUTOREFRESH``; ``E_INVALIDARG``)."""
    if bits & ~SETTABLE_RECORD_FLAGS:
        raise Refusal(f"dwFlags {bits:#x} has bits no PEER_RECORD_FLAGS names")


# Names ------------------------------------------------------------------------------------------


@rule("E_INVALIDARG")
def property_names_known(given: Collection[str], known: Collection[str]) -> None:
    """The properties a call changes are fields of the group's properties (``E_INVALIDARG``)."""
    unknown = set(given) - set(known)
    if unknown:
        raise Refusal(f"not a group property: {', '.join(sorted(unknown))}")


@rule("E_INVALIDARG")
def unsecured_name_has_classifier(classifier: str | None) -> str:
    """An unsecured peer name, made without an identity, needs a classifier (``E_INVALIDARG``).
    Gives the classifier."""
    if not classifier:
        raise Refusal("an unsecured peer name needs pwzClassifier")
    return classifier


# Documents a call reads whole -------------------------------------------------------------------


@rule("E_INVALIDARG")
def identity_export_opens(document: str, secret: str) -> tuple[str, crypto.PrivateKey, bytes, crypto.IdentityCertificate]:
    """An identity export to import is a ``PEERIDENTITYEXPORT`` document whose PFX opens
    under the password and holds a key and its IDC (``E_INVALIDARG``). Gives its peer name,
    key, IDC and the IDC read."""
    try:
        peer_name, pfx = formats.read_identity_export_xml(document)
        key, certificate_der = crypto.import_pkcs12(pfx, secret)
        certificate = crypto.read_identity_certificate(certificate_der)
    except (formats.MalformedDocument, crypto.CryptoFailure) as error:
        raise Refusal(f"pwzImportXML is not a valid identity export: {error}") from None
    return peer_name, key, certificate_der, certificate


@rule("E_INVALIDARG")
def identity_export_is_its_own(peer_name: str, authority: str, certificate: crypto.IdentityCertificate) -> None:
    """An identity export names the peer its IDC names, whose authority is its key's
    (``E_INVALIDARG``)."""
    if certificate.peer_name != peer_name or authority != names.authority_of(certificate.public_key):
        raise Refusal("pwzImportXML names a peer that its certificate and key do not belong to")


@rule("E_INVALIDARG")
def invitation_is_of_kind(offer: invitations.PasswordInvitation | invitations.CredentialInvitation, kind: type[_Offer]) -> _Offer:
    """A join takes the kind of invitation it is for: a password invitation
    ``PeerGroupPasswordJoin``, a credential invitation ``PeerGroupJoin`` (``E_INVALIDARG``)."""
    if not isinstance(offer, kind):
        raise Refusal(f"pwzInvitation is not a {kind.__name__}: the other join takes it")
    return offer
