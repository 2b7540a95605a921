"""The credential functions over ``Peer``: invitations and joining by them, issuing
credentials, the members and their credentials, group configurations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from peerstate.calls import arguments
from peerstate.calls.credentials import CredentialRequest
from peerstate.calls.members import MemberView
from peerstate.constants import PeerGroupAuthenticationScheme, PeerMemberFlags
from peerstate.documents import cards
from peerstate.documents.invitations import CredentialInvitation
from peerstate.names import ROLE_ADMIN
from peerstate.peer import check_handle, Peer
from peerstate.sync.port import Neighbor
from peerstate.winapi.arguments import credential_info_is_structure, public_key_is_text, reserved_field_is_zero, text_is_base64
from peerstate.winapi.registry import p2p


@p2p("ppInvitationInfo")
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


@p2p("phGroup")
def PeerGroupJoin(
    peer: Peer, pwzIdentity: str | None = None, pwzInvitation: str | None = None, pwzCloud: str | None = None,
) -> str:
    return peer.join(pwzIdentity, pwzInvitation, pwzCloud)


@p2p("ppwzInvitation")
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
    return text_is_base64(public_key_is_text(value), "pCredentialInfo.pPublicKey")


def _credential_request(info: object) -> CredentialRequest | None:
    """A ``PEER_CREDENTIAL_INFO``; its issuer fields are read and ignored, as the page says."""
    if info is None:
        return None
    info = credential_info_is_structure(info, _CREDENTIAL_INFO_FIELDS)
    reserved_field_is_zero(info.get("dwFlags", 0), "PEER_CREDENTIAL_INFO.dwFlags")
    roles: Sequence[Any] = arguments.argument_is_list(info.get("pRoles"), "pCredentialInfo.pRoles", "roles")  # each one checked by issue_credentials
    return CredentialRequest(
        _public_key_in(info.get("pPublicKey")), tuple(roles), info.get("pwzFriendlyName"),
        info.get("ftValidityStart"), info.get("ftValidityEnd"),
    )


@p2p("ppwzInvitation")
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


@p2p("phPeerEnum")
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


@p2p("ppwzXML")
def PeerGroupExportConfig(peer: Peer, hGroup: str | None = None, pwzPassword: str | None = None) -> str:
    return peer.export_config(hGroup, pwzPassword)


@p2p("ppwzIdentity", "ppwzGroup")
def PeerGroupImportConfig(
    peer: Peer, pwzXML: str | None = None, pwzPassword: str | None = None, fOverwrite: bool = False,
) -> tuple[str, str]:
    return peer.import_config(pwzXML, pwzPassword, fOverwrite)
