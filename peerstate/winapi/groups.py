"""The group functions over ``Peer``: create, open, join by password, connect, close,
delete, status, properties, password invitations, events, connections and peer time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

from peerstate.calls import arguments
from peerstate.calls.sessions import GroupEvent
from peerstate.constants import (
    PeerConnectionFlags,
    PeerGroupAuthenticationScheme,
    PeerGroupEventType,
    PeerGroupPropertyFlags,
    PeerGroupStatus,
)
from peerstate.errors import by_name, S_OK
from peerstate.peer import check_handle, Peer
from peerstate.winapi.arguments import (
    addresses_are_peer_addresses,
    event_registration_well_formed,
    group_peer_name_not_given,
    structure_given,
)
from peerstate.winapi.registry import Coded, p2p


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
    given = structure_given(pProperties, "pProperties", "PEER_GROUP_PROPERTIES", _PROPERTY_FIELDS)
    return {_PROPERTY_FIELDS[field]: value for field, value in given.items() if value is not None}


@p2p("phGroup")
def PeerGroupCreate(peer: Peer, pProperties: Mapping[str, Any] | None = None) -> str:
    given = _properties_in(pProperties)
    group_peer_name_not_given(given)
    return peer.create_group(given.pop("creator_peer_name", None), **given)


@p2p("phGroup")
def PeerGroupOpen(
    peer: Peer, pwzIdentity: str | None = None, pwzGroupPeerName: str | None = None, pwzCloud: str | None = None,
) -> str:
    return peer.open_group(pwzIdentity, pwzGroupPeerName, pwzCloud)


@p2p("phGroup")
def PeerGroupPasswordJoin(
    peer: Peer, pwzIdentity: str | None = None, pwzInvitation: str | None = None,
    pwzPassword: str | None = None, pwzCloud: str | None = None,
) -> str | Coded:
    joined = peer.password_join(pwzIdentity, pwzInvitation, pwzPassword, pwzCloud)
    return Coded("PEER_S_ALREADY_A_MEMBER", joined.handle) if joined.already_member else joined.handle


@p2p()
def PeerGroupConnect(peer: Peer, hGroup: str | None = None) -> None:
    peer.connect(hGroup)


@p2p()
def PeerGroupConnectByAddress(peer: Peer, hGroup: str | None = None, pAddresses: list[Any] | None = None) -> None:
    """A ``PEER_ADDRESS`` is ``{"sin6": address}``; a simulated machine's address is its peer name."""
    check_handle(peer, hGroup)
    peer.connect(hGroup, addresses_are_peer_addresses(pAddresses))


@p2p()
def PeerGroupClose(peer: Peer, hGroup: str | None = None) -> None:
    peer.close_group(hGroup)


@p2p()
def PeerGroupDelete(peer: Peer, pwzIdentity: str | None = None, pwzGroupPeerName: str | None = None) -> None:
    peer.delete_group(pwzIdentity, pwzGroupPeerName)


@p2p("pdwStatus")
def PeerGroupGetStatus(peer: Peer, hGroup: str | None = None) -> PeerGroupStatus:
    return peer.group_status(hGroup)


@p2p("ppProperties")
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


@p2p()
def PeerGroupSetProperties(peer: Peer, hGroup: str | None = None, pProperties: Mapping[str, Any] | None = None) -> None:
    check_handle(peer, hGroup)
    peer.set_group_properties(hGroup, **_properties_in(pProperties))


@p2p("ppwzInvitation")
def PeerGroupCreatePasswordInvitation(peer: Peer, hGroup: str | None = None) -> str:
    return peer.create_password_invitation(hGroup)



@p2p("phPeerEvent")
def PeerGroupRegisterEvent(
    peer: Peer, hGroup: str | None = None, pEventRegistrations: list[Any] | None = None, hEvent: Any = None,
) -> str:
    check_handle(peer, hGroup)
    registrations = arguments.argument_is_list(pEventRegistrations, "pEventRegistrations", "PEER_GROUP_EVENT_REGISTRATION")
    return peer.register_event(hGroup, [event_registration_well_formed(registration) for registration in registrations])


@p2p()
def PeerGroupUnregisterEvent(peer: Peer, hPeerEvent: str | None = None) -> None:
    peer.unregister_event(hPeerEvent)


@p2p("phPeerEnum")
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


@p2p("ppEventData")
def PeerGroupGetEventData(peer: Peer, hPeerEvent: str | None = None) -> dict[str, Any] | Coded:
    event = peer.event_data(hPeerEvent)
    return Coded("PEER_S_NO_EVENT_DATA", None) if event is None else _event_data(event)


@p2p("pftUniversalTime")
def PeerGroupPeerTimeToUniversalTime(peer: Peer, hGroup: str | None = None, pftPeerTime: datetime | None = None) -> datetime:
    return peer.peer_time_to_universal(hGroup, pftPeerTime)


@p2p("pftPeerTime")
def PeerGroupUniversalTimeToPeerTime(peer: Peer, hGroup: str | None = None, pftUniversalTime: datetime | None = None) -> datetime:
    return peer.universal_to_peer_time(hGroup, pftUniversalTime)


# Records ------------------------------------------------------------------------------------
