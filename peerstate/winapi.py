"""The p2p.h functions by their Windows names, over ``Peer``: for ported code and for scenarios.

Each function takes the peer that makes the call and the in-parameters by their documented
names, and returns a ``WinResult``: the HRESULT and the out-parameters by their documented
names. Structures are dicts with the documented field names (without ``dwSize``). Errors are
never raised: a ``PeerError`` becomes its HRESULT, as the C API returns it, and a failed call
returns no out-parameters.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import attrs

from peerstate.errors import S_OK, HResult, PeerError, peer_error
from peerstate.peer import NamePair, Peer

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
``reference/windows-p2p.md`` section 1 but the start-up, memory and enumeration plumbing and
``PeerIdentityGetCryptKey``."""


@attrs.frozen
class WinResult:
    """What a p2p.h call returns: its HRESULT, its out-parameters, and why it failed."""

    hresult: HResult
    out: Mapping[str, Any] = attrs.field(factory=dict)
    message: str = ""


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
            values = value if len(outs) != 1 else (value,)
            return WinResult(S_OK, dict(zip(outs, values, strict=True)) if outs else {})

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
            "ERROR_INVALID_HANDLE", f"hCryptProv {hCryptProv!r} is not a key provider: pass 0"
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

