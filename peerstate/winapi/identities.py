"""The Identity Manager functions (``PeerIdentity*``, ``PeerEnumIdentities``,
``PeerEnumGroups``, ``PeerCreatePeerName``) over ``Peer``."""

from __future__ import annotations




from peerstate.peer import NamePair
from peerstate.peer import Peer
from peerstate.winapi.arguments import key_provider_absent
from peerstate.winapi.registry import p2p


def _name_pairs(pairs: list[NamePair]) -> list[dict[str, str]]:
    return [{"pwzPeerName": p.peer_name, "pwzFriendlyName": p.friendly_name} for p in pairs]


@p2p("ppwzIdentity")
def PeerIdentityCreate(
    peer: Peer, pwzClassifier: str | None = None, pwzFriendlyName: str | None = None,
    hCryptProv: int = 0,
) -> str:
    key_provider_absent(hCryptProv)
    return peer.create_identity(pwzClassifier, pwzFriendlyName)


@p2p()
def PeerIdentityDelete(peer: Peer, pwzIdentity: str | None = None) -> None:
    peer.delete_identity(pwzIdentity)


@p2p("ppwzFriendlyName")
def PeerIdentityGetFriendlyName(peer: Peer, pwzIdentity: str | None = None) -> str:
    return peer.friendly_name(pwzIdentity)


@p2p()
def PeerIdentitySetFriendlyName(
    peer: Peer, pwzIdentity: str | None = None, pwzFriendlyName: str | None = None
) -> None:
    peer.set_friendly_name(pwzIdentity, pwzFriendlyName)


@p2p("ppwzPeerName")
def PeerIdentityGetDefault(peer: Peer) -> str:
    return peer.default_identity()


@p2p("ppwzIdentityXML")
def PeerIdentityGetXML(peer: Peer, pwzIdentity: str | None = None) -> str:
    return peer.identity_xml(pwzIdentity)


@p2p("ppwzExportXML")
def PeerIdentityExport(
    peer: Peer, pwzIdentity: str | None = None, pwzPassword: str | None = None
) -> str:
    return peer.export_identity(pwzIdentity, pwzPassword)


@p2p("ppwzIdentity")
def PeerIdentityImport(
    peer: Peer, pwzImportXML: str | None = None, pwzPassword: str | None = None
) -> str:
    return peer.import_identity(pwzImportXML, pwzPassword)


@p2p("phPeerEnum")
def PeerEnumIdentities(peer: Peer) -> list[dict[str, str]]:
    return _name_pairs(peer.identities())


@p2p("phPeerEnum")
def PeerEnumGroups(peer: Peer, pwzIdentity: str | None = None) -> list[dict[str, str]]:
    return _name_pairs(peer.groups(pwzIdentity))


@p2p("ppwzPeerName")
def PeerCreatePeerName(
    peer: Peer, pwzIdentity: str | None = None, pwzClassifier: str | None = None
) -> str:
    return peer.create_peer_name(pwzIdentity, pwzClassifier)



# Groups -------------------------------------------------------------------------------------
