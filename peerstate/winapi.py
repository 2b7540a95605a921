"""The p2p.h functions by their Windows names, over ``Peer``: for ported code and for scenarios.

Each function takes the peer that makes the call and the in-parameters by their documented
names, and returns a ``WinResult``: the HRESULT and the out-parameters by their documented
names. Structures are dicts with the documented field names (without ``dwSize``). Errors are
never raised: a ``PeerError`` becomes its HRESULT, as the C API returns it, and a failed call
returns no out-parameters.
"""

from __future__ import annotations

import base64
import binascii
import functools
import inspect
from datetime import datetime
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypeAlias
from uuid import UUID

import attrs

from peerstate.constants import (
    PeerConnectionFlags,
    PeerGroupAuthenticationScheme,
    PeerGroupEventType,
    PeerGroupPropertyFlags,
    PeerGroupStatus,
    PeerMemberFlags,
    PeerRecordFlags,
)
from peerstate.errors import S_OK, HResult, InvalidArgument, PeerError, by_name, peer_error
from peerstate.calls import arguments
from peerstate.documents import cards
from peerstate.calls.credentials import CredentialRequest
from peerstate.calls.members import MemberView
from peerstate.documents.invitations import CredentialInvitation
from peerstate.names import ROLE_ADMIN
from peerstate.peer import NamePair, Peer, check_handle
from peerstate.domain.records import RecordVersion
from peerstate.calls.sessions import GroupEvent, Interest
from peerstate.sync.port import Neighbor

ALL_FUNCTIONS: Final = frozenset(
    """
    PeerGroupCreate PeerGroupOpen PeerGroupJoin PeerGroupPasswordJoin PeerGroupConnect
    PeerGroupConnectByAddress PeerGroupClose PeerGroupDelete PeerGroupCreateInvitation
    PeerGroupCreatePasswordInvitation PeerGroupParseInvitation PeerGroupGetStatus
    PeerGroupGetProperties PeerGroupSetProperties PeerGroupEnumMembers
    PeerGroupOpenDirectConnection PeerGroupCloseDirectConnection PeerGroupEnumConnections
    PeerGroupSendData PeerGroupRegisterEvent PeerGroupUnregisterEvent PeerGroupGetEventData
    PeerGroupGetRecord PeerGroupAddRecord PeerGroupUpdateRecord PeerGroupDeleteRecord
    PeerGroupEnumRecords PeerGroupSearchRecords PeerGroupExportDatabase PeerGroupImportDatabase
    PeerGroupIssueCredentials PeerGroupExportConfig PeerGroupImportConfig
    PeerGroupPeerTimeToUniversalTime PeerGroupUniversalTimeToPeerTime
    PeerGroupResumePasswordAuthentication
    PeerIdentityCreate PeerIdentityDelete PeerIdentityGetFriendlyName PeerIdentitySetFriendlyName
    PeerIdentityGetDefault PeerIdentityGetXML PeerIdentityExport PeerIdentityImport
    PeerEnumIdentities PeerEnumGroups PeerCreatePeerName
    """.split()
)
"""Every function of the Grouping and Identity Manager APIs that a scenario may call: all of
the APIs (``docs/windows-mapping.md``) but the start-up, memory and enumeration plumbing and
``PeerIdentityGetCryptKey``."""


@attrs.frozen
class WinResult:
    """What a p2p.h call returns: its HRESULT, its out-parameters, and why it failed."""

    hresult: HResult
    out: Mapping[str, Any] = attrs.field(factory=dict)
    message: str = ""


@attrs.frozen
class Coded:
    """A body's result that succeeds with a success code other than ``S_OK``; a ``value``
    of None sets no out-parameters."""

    name: str
    value: Any


WinFunction: TypeAlias = Callable[..., WinResult]
_FUNCTIONS: dict[str, WinFunction] = {}
_OUT_PARAMETERS: dict[str, tuple[str, ...]] = {}
FUNCTIONS: Final[Mapping[str, WinFunction]] = MappingProxyType(_FUNCTIONS)
"""The functions implemented so far, by name."""
OUT_PARAMETERS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(_OUT_PARAMETERS)
"""The out-parameters each implemented function sets when it succeeds."""


def in_parameters(function: str) -> tuple[str, ...]:
    """The in-parameter names of an implemented function, as scenario ``args`` name them."""
    return tuple(inspect.signature(_FUNCTIONS[function]).parameters)[1:]


def _p2p(*outs: str) -> Callable[[Callable[..., Any]], WinFunction]:
    """Register a function under its own name; turn its return value into out-parameters and
    a ``PeerError`` into its HRESULT. The body returns one value per name in ``outs`` (a
    tuple when there are several)."""

    def register(body: Callable[..., Any]) -> WinFunction:
        @functools.wraps(body)
        def call(peer: Peer, /, **args: Any) -> WinResult:
            try:
                value = body(peer, **args)
            except PeerError as error:
                return WinResult(error.result, {}, error.message)
            code = S_OK
            if isinstance(value, Coded):
                code, value = by_name(value.name), value.value
                if value is None:
                    return WinResult(code)
            values = value if len(outs) != 1 else (value,)
            return WinResult(code, dict(zip(outs, values, strict=True)) if outs else {})

        assert body.__name__ in ALL_FUNCTIONS, body.__name__
        _FUNCTIONS[body.__name__] = call
        _OUT_PARAMETERS[body.__name__] = outs
        return call

    return register


def _name_pairs(pairs: list[NamePair]) -> list[dict[str, str]]:
    return [{"pwzPeerName": p.peer_name, "pwzFriendlyName": p.friendly_name} for p in pairs]


def _no_key_provider(hCryptProv: int) -> None:
    """Windows takes a CSP handle here; peerstate has no CSPs, so only 0 (generate) is valid."""
    if hCryptProv:
        raise peer_error(
            "ERROR_INVALID_HANDLE", f"hCryptProv {arguments.shown(hCryptProv)} is not a key provider: pass 0"
        )


@_p2p("ppwzIdentity")
def PeerIdentityCreate(
    peer: Peer, pwzClassifier: str | None = None, pwzFriendlyName: str | None = None,
    hCryptProv: int = 0,
) -> str:
    _no_key_provider(hCryptProv)
    return peer.create_identity(pwzClassifier, pwzFriendlyName)


@_p2p()
def PeerIdentityDelete(peer: Peer, pwzIdentity: str | None = None) -> None:
    peer.delete_identity(pwzIdentity)


@_p2p("ppwzFriendlyName")
def PeerIdentityGetFriendlyName(peer: Peer, pwzIdentity: str | None = None) -> str:
    return peer.friendly_name(pwzIdentity)


@_p2p()
def PeerIdentitySetFriendlyName(
    peer: Peer, pwzIdentity: str | None = None, pwzFriendlyName: str | None = None
) -> None:
    peer.set_friendly_name(pwzIdentity, pwzFriendlyName)


@_p2p("ppwzPeerName")
def PeerIdentityGetDefault(peer: Peer) -> str:
    return peer.default_identity()


@_p2p("ppwzIdentityXML")
def PeerIdentityGetXML(peer: Peer, pwzIdentity: str | None = None) -> str:
    return peer.identity_xml(pwzIdentity)


@_p2p("ppwzExportXML")
def PeerIdentityExport(
    peer: Peer, pwzIdentity: str | None = None, pwzPassword: str | None = None
) -> str:
    return peer.export_identity(pwzIdentity, pwzPassword)


@_p2p("ppwzIdentity")
def PeerIdentityImport(
    peer: Peer, pwzImportXML: str | None = None, pwzPassword: str | None = None
) -> str:
    return peer.import_identity(pwzImportXML, pwzPassword)


@_p2p("phPeerEnum")
def PeerEnumIdentities(peer: Peer) -> list[dict[str, str]]:
    return _name_pairs(peer.identities())


@_p2p("phPeerEnum")
def PeerEnumGroups(peer: Peer, pwzIdentity: str | None = None) -> list[dict[str, str]]:
    return _name_pairs(peer.groups(pwzIdentity))


@_p2p("ppwzPeerName")
def PeerCreatePeerName(
    peer: Peer, pwzIdentity: str | None = None, pwzClassifier: str | None = None
) -> str:
    return peer.create_peer_name(pwzIdentity, pwzClassifier)



# Groups -------------------------------------------------------------------------------------

_PROPERTY_FIELDS: Final = MappingProxyType({
    "dwFlags": "flags", "pwzCloud": "cloud", "pwzClassifier": "classifier",
    "pwzGroupPeerName": "group_peer_name", "pwzCreatorPeerName": "creator_peer_name",
    "pwzFriendlyName": "friendly_name", "pwzComment": "comment",
    "ulMemberDataLifetime": "member_data_lifetime", "ulPresenceLifetime": "presence_lifetime",
    "dwAuthenticationSchemes": "authentication_schemes", "pwzGroupPassword": "password",
    "groupPasswordRole": "password_role",
})
"""``PEER_GROUP_PROPERTIES`` fields (without ``dwSize``) and the keywords ``Peer`` takes."""


def _properties_in(pProperties: object) -> dict[str, Any]:
    """The fields given in a ``PEER_GROUP_PROPERTIES``, by ``Peer``'s keyword names; a field
    given as NULL counts as not given."""
    if not isinstance(pProperties, Mapping):
        raise InvalidArgument("pProperties is required: a PEER_GROUP_PROPERTIES")
    unknown = [field for field in pProperties if field not in _PROPERTY_FIELDS]
    if unknown:
        raise InvalidArgument(f"PEER_GROUP_PROPERTIES has no field {', '.join(unknown)}")
    return {_PROPERTY_FIELDS[field]: value for field, value in pProperties.items() if value is not None}


@_p2p("phGroup")
def PeerGroupCreate(peer: Peer, pProperties: Mapping[str, Any] | None = None) -> str:
    given = _properties_in(pProperties)
    if "group_peer_name" in given:
        raise InvalidArgument("pwzGroupPeerName must not be set: PeerGroupCreate makes the group peer name")
    return peer.create_group(given.pop("creator_peer_name", None), **given)


@_p2p("phGroup")
def PeerGroupOpen(
    peer: Peer, pwzIdentity: str | None = None, pwzGroupPeerName: str | None = None, pwzCloud: str | None = None,
) -> str:
    return peer.open_group(pwzIdentity, pwzGroupPeerName, pwzCloud)


@_p2p("phGroup")
def PeerGroupPasswordJoin(
    peer: Peer, pwzIdentity: str | None = None, pwzInvitation: str | None = None,
    pwzPassword: str | None = None, pwzCloud: str | None = None,
) -> str | Coded:
    joined = peer.password_join(pwzIdentity, pwzInvitation, pwzPassword, pwzCloud)
    return Coded("PEER_S_ALREADY_A_MEMBER", joined.handle) if joined.already_member else joined.handle


@_p2p()
def PeerGroupConnect(peer: Peer, hGroup: str | None = None) -> None:
    peer.connect(hGroup)


@_p2p()
def PeerGroupConnectByAddress(peer: Peer, hGroup: str | None = None, pAddresses: list[Any] | None = None) -> None:
    """A ``PEER_ADDRESS`` is ``{"sin6": address}``; a simulated machine's address is its peer name."""
    check_handle(peer, hGroup)
    if not isinstance(pAddresses, list) or not all(isinstance(a, Mapping) and set(a) == {"sin6"} for a in pAddresses):
        raise InvalidArgument('pAddresses must be a list of PEER_ADDRESS, each {"sin6": address}')
    peer.connect(hGroup, [address["sin6"] for address in pAddresses])


@_p2p()
def PeerGroupClose(peer: Peer, hGroup: str | None = None) -> None:
    peer.close_group(hGroup)


@_p2p()
def PeerGroupDelete(peer: Peer, pwzIdentity: str | None = None, pwzGroupPeerName: str | None = None) -> None:
    peer.delete_group(pwzIdentity, pwzGroupPeerName)


@_p2p("pdwStatus")
def PeerGroupGetStatus(peer: Peer, hGroup: str | None = None) -> PeerGroupStatus:
    return peer.group_status(hGroup)


@_p2p("ppProperties")
def PeerGroupGetProperties(peer: Peer, hGroup: str | None = None) -> dict[str, Any]:
    properties = peer.group_properties(hGroup)
    return {
        "dwFlags": PeerGroupPropertyFlags(properties.flags), "pwzCloud": properties.cloud,
        "pwzClassifier": properties.classifier, "pwzGroupPeerName": properties.group_peer_name,
        "pwzCreatorPeerName": properties.creator_peer_name, "pwzFriendlyName": properties.friendly_name,
        "pwzComment": properties.comment, "ulMemberDataLifetime": properties.member_data_lifetime,
        "ulPresenceLifetime": properties.presence_lifetime,
        "dwAuthenticationSchemes": PeerGroupAuthenticationScheme(properties.authentication_schemes),
        "pwzGroupPassword": None, "groupPasswordRole": properties.password_role,
    }


@_p2p()
def PeerGroupSetProperties(peer: Peer, hGroup: str | None = None, pProperties: Mapping[str, Any] | None = None) -> None:
    check_handle(peer, hGroup)
    peer.set_group_properties(hGroup, **_properties_in(pProperties))


@_p2p("ppwzInvitation")
def PeerGroupCreatePasswordInvitation(peer: Peer, hGroup: str | None = None) -> str:
    return peer.create_password_invitation(hGroup)


@_p2p("ppInvitationInfo")
def PeerGroupParseInvitation(peer: Peer, pwzInvitation: str | None = None) -> dict[str, Any]:
    """Every ``PEER_INVITATION_INFO`` field. A password invitation names no subject; its
    role is the group's password role. ``ppwzClassifiers`` (reserved) holds what the
    credential's certificate carries: "participant" for a role other than administrator."""
    invitation = peer.parse_invitation(pwzInvitation)
    info: dict[str, Any] = {
        "dwFlags": 0, "pwzCloudName": invitation.cloud, "dwScope": invitation.pnrp_scope,
        "dwCloudFlags": invitation.cloud_flags, "pwzGroupPeerName": invitation.group_peer_name,
        "pwzIssuerPeerName": invitation.issuer, "pwzGroupFriendlyName": invitation.group_friendly_name,
        "pwzIssuerFriendlyName": invitation.issuer_friendly_name,
        "ftValidityStart": invitation.valid_from, "ftValidityEnd": invitation.valid_until,
    }
    if isinstance(invitation, CredentialInvitation):
        return info | {
            "pwzSubjectPeerName": invitation.subject, "pwzSubjectFriendlyName": invitation.subject_friendly_name,
            "pRoles": list(invitation.roles), "ppwzClassifiers": _classifiers(invitation.roles),
            "pSubjectPublicKey": invitation.subject_public_key,
            "authScheme": PeerGroupAuthenticationScheme.PEER_GROUP_GMC_AUTHENTICATION,
        }
    return info | {
        "pwzSubjectPeerName": None, "pwzSubjectFriendlyName": None, "pRoles": [invitation.role],
        "ppwzClassifiers": [], "pSubjectPublicKey": None,
        "authScheme": PeerGroupAuthenticationScheme.PEER_GROUP_PASSWORD_AUTHENTICATION,
    }


def _classifiers(roles: Sequence[UUID]) -> list[str]:
    return [] if ROLE_ADMIN in roles else ["participant"]


@_p2p("phGroup")
def PeerGroupJoin(
    peer: Peer, pwzIdentity: str | None = None, pwzInvitation: str | None = None, pwzCloud: str | None = None,
) -> str:
    return peer.join(pwzIdentity, pwzInvitation, pwzCloud)


@_p2p("ppwzInvitation")
def PeerGroupCreateInvitation(
    peer: Peer, hGroup: str | None = None, pwzIdentityInfo: str | None = None,
    pftExpiration: datetime | None = None, pRoles: list[Any] | None = None,
) -> str:
    return peer.create_invitation(hGroup, pwzIdentityInfo, pftExpiration, pRoles)


_CREDENTIAL_INFO_FIELDS: Final = frozenset({
    "dwFlags", "pwzFriendlyName", "pPublicKey", "pwzIssuerPeerName", "pwzIssuerFriendlyName",
    "ftValidityStart", "ftValidityEnd", "pRoles",
})


def _public_key_in(value: object) -> bytes:
    """``pPublicKey``: base64 of a DER SubjectPublicKeyInfo, or an identity's XML in its place."""
    if isinstance(value, str) and value.lstrip().startswith("<"):
        return cards.identity_card(value, "pPublicKey").public_key
    if not isinstance(value, str):
        raise InvalidArgument("pCredentialInfo.pPublicKey is required: base64 of a public key, or an identity's XML")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("pCredentialInfo.pPublicKey is not base64") from None


def _credential_request(info: object) -> CredentialRequest | None:
    """A ``PEER_CREDENTIAL_INFO``; its issuer fields are read and ignored, as the page says."""
    if info is None:
        return None
    if not isinstance(info, Mapping) or not set(info) <= _CREDENTIAL_INFO_FIELDS:
        raise InvalidArgument(f"pCredentialInfo must be a PEER_CREDENTIAL_INFO with fields of {sorted(_CREDENTIAL_INFO_FIELDS)}")
    if info.get("dwFlags", 0) != 0:
        raise InvalidArgument("PEER_CREDENTIAL_INFO.dwFlags is reserved: it must be 0")
    roles = info.get("pRoles")
    if not isinstance(roles, list):
        raise InvalidArgument("pCredentialInfo.pRoles must be a list of roles")
    return CredentialRequest(
        _public_key_in(info.get("pPublicKey")), tuple(roles), info.get("pwzFriendlyName"),
        info.get("ftValidityStart"), info.get("ftValidityEnd"),
    )


@_p2p("ppwzInvitation")
def PeerGroupIssueCredentials(
    peer: Peer, hGroup: str | None = None, pwzSubjectIdentity: str | None = None,
    pCredentialInfo: Mapping[str, Any] | None = None, dwFlags: int = 0,
) -> str:
    check_handle(peer, hGroup)
    return peer.issue_credentials(hGroup, pwzSubjectIdentity, _credential_request(pCredentialInfo), dwFlags)


def _credential_info(member: MemberView) -> dict[str, Any] | None:
    credential = member.credential
    if credential is None:
        return None
    return {
        "dwFlags": 0, "pwzFriendlyName": credential.subject_friendly_name, "pPublicKey": credential.public_key,
        "pwzIssuerPeerName": member.issuer_name, "pwzIssuerFriendlyName": member.issuer_friendly_name,
        "ftValidityStart": credential.not_before, "ftValidityEnd": credential.not_after, "pRoles": list(credential.roles),
    }


@_p2p("phPeerEnum")
def PeerGroupEnumMembers(
    peer: Peer, hGroup: str | None = None, dwFlags: int = 0, pwzIdentity: str | None = None,
) -> list[dict[str, Any]]:
    """``PEER_MEMBER`` items; ``ullNodeId`` is the one ``PeerGroupEnumConnections`` shows
    for the member's node (0 while its address is unknown); ``pwzAttributes`` is NULL."""
    return [
        {
            "dwFlags": PeerMemberFlags.PEER_MEMBER_PRESENT if member.present else PeerMemberFlags(0),
            "pwzIdentity": member.identity, "pwzAttributes": None,
            "ullNodeId": Neighbor(member.address, member.identity).node_id if member.address else 0,
            "pAddresses": [{"sin6": member.address}] if member.address else [],
            "pCredentialInfo": _credential_info(member),
        }
        for member in peer.members(hGroup, dwFlags, pwzIdentity)
    ]


@_p2p("ppwzXML")
def PeerGroupExportConfig(peer: Peer, hGroup: str | None = None, pwzPassword: str | None = None) -> str:
    return peer.export_config(hGroup, pwzPassword)


@_p2p("ppwzIdentity", "ppwzGroup")
def PeerGroupImportConfig(
    peer: Peer, pwzXML: str | None = None, pwzPassword: str | None = None, fOverwrite: bool = False,
) -> tuple[str, str]:
    return peer.import_config(pwzXML, pwzPassword, fOverwrite)


@_p2p("phPeerEvent")
def PeerGroupRegisterEvent(
    peer: Peer, hGroup: str | None = None, pEventRegistrations: list[Any] | None = None, hEvent: Any = None,
) -> str:
    check_handle(peer, hGroup)
    if not isinstance(pEventRegistrations, list):
        raise InvalidArgument("pEventRegistrations must be a list of PEER_GROUP_EVENT_REGISTRATION")
    interests = []
    for registration in pEventRegistrations:
        if not isinstance(registration, Mapping) or not set(registration) <= {"eventType", "pType"}:
            raise InvalidArgument('each registration is {"eventType": ..., "pType": ...}')
        event_type = registration.get("eventType")
        if not isinstance(event_type, PeerGroupEventType):
            raise InvalidArgument(f"{event_type!r} is not a PEER_GROUP_EVENT_TYPE")
        filtered = event_type in (PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED, PeerGroupEventType.PEER_GROUP_EVENT_INCOMING_DATA)
        record_type = registration.get("pType")
        interests.append(Interest(event_type, arguments.guid(record_type, "pType") if filtered and record_type is not None else None))
    return peer.register_event(hGroup, interests)


@_p2p()
def PeerGroupUnregisterEvent(peer: Peer, hPeerEvent: str | None = None) -> None:
    peer.unregister_event(hPeerEvent)


@_p2p("phPeerEnum")
def PeerGroupEnumConnections(peer: Peer, hGroup: str | None = None, dwFlags: int = 0) -> list[dict[str, Any]]:
    """``PEER_CONNECTION_INFO`` items; ``pwzPeerId`` is the neighbour's identity and its
    address is its machine's (a simulated machine's is its peer name)."""
    return [
        {"dwFlags": PeerConnectionFlags.PEER_CONNECTION_NEIGHBOR, "ullConnectionId": neighbor.node_id,
         "ullNodeId": neighbor.node_id, "pwzPeerId": neighbor.identity, "address": {"sin6": neighbor.address}}
        for neighbor in peer.connections(hGroup, dwFlags)
    ]


def _event_data(event: GroupEvent) -> dict[str, Any]:
    data: dict[str, Any] = {"eventType": event.event_type}
    kind = event.event_type
    if kind is PeerGroupEventType.PEER_GROUP_EVENT_STATUS_CHANGED:
        data["dwStatus"] = event.status
    elif kind is PeerGroupEventType.PEER_GROUP_EVENT_MEMBER_CHANGED:
        data["memberChangeData"] = {"changeType": event.member_change, "pwzIdentity": event.identity}
    elif kind is PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED:
        data["recordChangeData"] = {
            "changeType": event.record_change, "recordId": event.record_id, "recordType": event.record_type,
        }
    elif kind is PeerGroupEventType.PEER_GROUP_EVENT_NEIGHBOR_CONNECTION:
        assert event.node is not None
        data["connectionChangeData"] = {
            "status": event.connection_status, "ullConnectionId": event.node.node_id,
            "ullNodeId": event.node.node_id, "ullNextConnectionId": 0, "hrConnectionFailedReason": S_OK,
        }
    elif event.failure is not None:
        data["hrConnectionFailedReason"] = by_name(event.failure)
    return data


@_p2p("ppEventData")
def PeerGroupGetEventData(peer: Peer, hPeerEvent: str | None = None) -> dict[str, Any] | Coded:
    event = peer.event_data(hPeerEvent)
    return Coded("PEER_S_NO_EVENT_DATA", None) if event is None else _event_data(event)


@_p2p("pftUniversalTime")
def PeerGroupPeerTimeToUniversalTime(peer: Peer, hGroup: str | None = None, pftPeerTime: datetime | None = None) -> datetime:
    return peer.peer_time_to_universal(hGroup, pftPeerTime)


@_p2p("pftPeerTime")
def PeerGroupUniversalTimeToPeerTime(peer: Peer, hGroup: str | None = None, pftUniversalTime: datetime | None = None) -> datetime:
    return peer.universal_to_peer_time(hGroup, pftUniversalTime)


# Records ------------------------------------------------------------------------------------

_RECORD_FIELDS: Final = frozenset({
    "type", "id", "dwVersion", "dwFlags", "pwzCreatorId", "pwzModifiedById", "pwzAttributes",
    "ftCreation", "ftExpiration", "ftLastModified", "securityData", "data",
})
"""``PEER_RECORD`` without ``dwSize``. A call reads the fields it takes and ignores the
ones the infrastructure sets, as the pages say, so a record read back can be passed again."""


def _record_in(pRecord: object) -> Mapping[str, Any]:
    if not isinstance(pRecord, Mapping):
        raise InvalidArgument("pRecord is required: a PEER_RECORD")
    unknown = sorted(set(pRecord) - _RECORD_FIELDS)
    if unknown:
        raise InvalidArgument(f"PEER_RECORD has no field {', '.join(unknown)}")
    return pRecord


def _payload(value: object) -> bytes | None:
    """``PEER_DATA``: base64 text in a scenario, bytes from Python; NULL is no data."""
    if value is None or isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        raise InvalidArgument("data must be base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument("data is not base64") from None


def _record_out(held: RecordVersion) -> dict[str, Any]:
    record = held.record
    return {
        "type": record.type, "id": record.id, "dwVersion": record.version, "dwFlags": PeerRecordFlags(record.flags),
        "pwzCreatorId": record.creator, "pwzModifiedById": record.modified_by,
        "pwzAttributes": record.attributes or None, "ftCreation": record.created,
        "ftExpiration": record.expiration, "ftLastModified": record.modified,
        "securityData": held.security, "data": record.data,
    }


@_p2p("pRecordId")
def PeerGroupAddRecord(peer: Peer, hGroup: str | None = None, pRecord: Mapping[str, Any] | None = None) -> UUID:
    check_handle(peer, hGroup)
    record = _record_in(pRecord)
    return peer.add_record(
        hGroup, record.get("type"), record.get("ftExpiration"), attributes=record.get("pwzAttributes"),
        data=_payload(record.get("data")), flags=record.get("dwFlags", 0),
    )


@_p2p()
def PeerGroupUpdateRecord(peer: Peer, hGroup: str | None = None, pRecord: Mapping[str, Any] | None = None) -> None:
    check_handle(peer, hGroup)
    record = _record_in(pRecord)
    peer.update_record(
        hGroup, record.get("id"), record.get("type"), record.get("dwFlags", 0), record.get("ftExpiration"),
        attributes=record.get("pwzAttributes"), data=_payload(record.get("data")),
    )


@_p2p()
def PeerGroupDeleteRecord(peer: Peer, hGroup: str | None = None, pRecordId: str | None = None) -> None:
    peer.delete_record(hGroup, pRecordId)


@_p2p("ppRecord")
def PeerGroupGetRecord(peer: Peer, hGroup: str | None = None, pRecordId: str | None = None) -> dict[str, Any]:
    return _record_out(peer.get_record(hGroup, pRecordId))


@_p2p("phPeerEnum")
def PeerGroupEnumRecords(peer: Peer, hGroup: str | None = None, pRecordType: str | None = None) -> list[dict[str, Any]]:
    return [_record_out(held) for held in peer.records(hGroup, pRecordType)]


@_p2p("phPeerEnum")
def PeerGroupSearchRecords(peer: Peer, hGroup: str | None = None, pwzCriteria: str | None = None) -> list[dict[str, Any]]:
    return [_record_out(held) for held in peer.search_records(hGroup, pwzCriteria)]


@_p2p()
def PeerGroupExportDatabase(peer: Peer, hGroup: str | None = None, pwzFilePath: str | None = None) -> None:
    peer.export_database(hGroup, pwzFilePath)


@_p2p()
def PeerGroupImportDatabase(peer: Peer, hGroup: str | None = None, pwzFilePath: str | None = None) -> None:
    peer.import_database(hGroup, pwzFilePath)
