"""The checks of the structures and handles the ``p2p.h`` functions take, one registered
rule each (``peerstate.registry``): what ``winapi`` unpacks before a call reaches ``Peer``,
whose own arguments ``peerstate.calls.arguments`` checks.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping
from typing import Any

from peerstate.calls import arguments
from peerstate.calls.sessions import Interest
from peerstate.constants import PeerGroupEventType
from peerstate.registry import Refusal, rule

_REGISTRATION_FIELDS = frozenset({"eventType", "pType"})
_FILTERED_EVENTS = (PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED, PeerGroupEventType.PEER_GROUP_EVENT_INCOMING_DATA)


@rule("E_INVALIDARG")
def structure_given(value: object, parameter: str, structure: str, fields: Collection[str]) -> Mapping[str, Any]:
    """A required structure is given, with none but its documented fields (``E_INVALIDARG``)."""
    if not isinstance(value, Mapping):
        raise Refusal(f"{parameter} is required: a {structure}")
    unknown = sorted(str(field) for field in value if field not in fields)
    if unknown:
        raise Refusal(f"{structure} has no field {', '.join(unknown)}")
    return value


@rule("E_INVALIDARG")
def credential_info_is_structure(info: object, fields: Collection[str]) -> Mapping[str, Any]:
    """``pCredentialInfo``, when given, is a ``PEER_CREDENTIAL_INFO`` with none but its
    documented fields (``E_INVALIDARG``)."""
    if not isinstance(info, Mapping) or not set(info) <= set(fields):
        raise Refusal(f"pCredentialInfo must be a PEER_CREDENTIAL_INFO with fields of {sorted(fields)}")
    return info


@rule("E_INVALIDARG")
def reserved_field_is_zero(value: object, field: str) -> None:
    """A reserved field is 0 (``E_INVALIDARG``)."""
    if value != 0:
        raise Refusal(f"{field} is reserved: it must be 0")


@rule("E_INVALIDARG")
def public_key_is_text(value: object) -> str:
    """``pCredentialInfo.pPublicKey`` is text: base64 of a public key, or an identity's XML
    (``E_INVALIDARG``)."""
    if not isinstance(value, str):
        raise Refusal("pCredentialInfo.pPublicKey is required: base64 of a public key, or an identity's XML")
    return value


@rule("E_INVALIDARG")
def record_data_is_text(value: object) -> str:
    """A ``PEER_RECORD``'s data, as a scenario gives it, is base64 text (``E_INVALIDARG``)."""
    if not isinstance(value, str):
        raise Refusal("data must be base64 text")
    return value


@rule("E_INVALIDARG")
def text_is_base64(value: str, parameter: str) -> bytes:
    """Bytes given as text are base64 (``E_INVALIDARG``). Gives the bytes."""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(f"{parameter} is not base64") from None


@rule("E_INVALIDARG")
def group_peer_name_not_given(properties: Mapping[str, Any]) -> None:
    """``PeerGroupCreate`` makes the group peer name: its properties do not give one
    (``E_INVALIDARG``)."""
    if "group_peer_name" in properties:
        raise Refusal("pwzGroupPeerName must not be set: PeerGroupCreate makes the group peer name")


@rule("E_INVALIDARG")
def addresses_are_peer_addresses(addresses: object) -> list[str]:
    """``pAddresses`` is a list of ``PEER_ADDRESS``, each ``{"sin6": address}``
    (``E_INVALIDARG``). Gives the addresses."""
    if not isinstance(addresses, list) or not all(isinstance(a, Mapping) and set(a) == {"sin6"} for a in addresses):
        raise Refusal('pAddresses must be a list of PEER_ADDRESS, each {"sin6": address}')
    return [address["sin6"] for address in addresses]


@rule("E_INVALIDARG")
def event_registration_well_formed(registration: object) -> Interest:
    """A ``PEER_GROUP_EVENT_REGISTRATION`` names an event type, and for record changes and
    incoming data may name the record type it is limited to (``E_INVALIDARG``). Gives what
    it asks for."""
    if not isinstance(registration, Mapping) or not set(registration) <= _REGISTRATION_FIELDS:
        raise Refusal('each registration is {"eventType": ..., "pType": ...}')
    event_type = registration.get("eventType")
    if not isinstance(event_type, PeerGroupEventType):
        raise Refusal(f"{event_type!r} is not a PEER_GROUP_EVENT_TYPE")
    record_type = registration.get("pType")
    filtered = event_type in _FILTERED_EVENTS and record_type is not None
    return Interest(event_type, arguments.argument_is_guid(record_type, "pType") if filtered else None)


@rule("ERROR_INVALID_HANDLE")
def key_provider_absent(hCryptProv: object) -> None:
    """``PeerIdentityCreate`` is given no key provider: peerstate has no CSPs, so only 0
    (generate a key) is valid (``ERROR_INVALID_HANDLE``)."""
    if hCryptProv:
        raise Refusal(f"hCryptProv {arguments.shown(hCryptProv)} is not a key provider: pass 0")
