"""The registry of ``p2p.h`` functions: each one's name, in- and out-parameters, and how a
body's value or ``PeerError`` becomes a ``WinResult`` (``p2p``)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, TypeAlias

import attrs

from peerstate.errors import by_name, HResult, PeerError, S_OK
from peerstate.peer import Peer


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
    """What a p2p.h call returns: its HRESULT, its out-parameters, and why it failed: what
    the refusal said, and the registered rule that refused (``peerstate.registry``)."""

    hresult: HResult
    out: Mapping[str, Any] = attrs.field(factory=dict)
    message: str = ""
    rule: str | None = None


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


def p2p(*outs: str) -> Callable[[Callable[..., Any]], WinFunction]:
    """Register a function under its own name; turn its return value into out-parameters and
    a ``PeerError`` into its HRESULT. The body returns one value per name in ``outs`` (a
    tuple when there are several)."""

    def register(body: Callable[..., Any]) -> WinFunction:
        @functools.wraps(body)
        def call(peer: Peer, /, **args: Any) -> WinResult:
            try:
                value = body(peer, **args)
            except PeerError as error:
                return WinResult(error.result, {}, error.message, error.rule)
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
