"""The p2p.h functions by their Windows names, over ``Peer``: for ported code and for scenarios.

Each function takes the peer that makes the call and the in-parameters by their documented
names, and returns a ``WinResult``: the HRESULT and the out-parameters by their documented
names. Structures are dicts with the documented field names (without ``dwSize``). Errors are
never raised: a ``PeerError`` becomes its HRESULT, as the C API returns it, and a failed call
returns no out-parameters.
"""

from __future__ import annotations

from peerstate.winapi.registry import ALL_FUNCTIONS, FUNCTIONS, OUT_PARAMETERS, Coded, WinFunction, WinResult, in_parameters
from peerstate.winapi.identities import (
    PeerIdentityCreate,
    PeerIdentityDelete,
    PeerIdentityGetFriendlyName,
    PeerIdentitySetFriendlyName,
    PeerIdentityGetDefault,
    PeerIdentityGetXML,
    PeerIdentityExport,
    PeerIdentityImport,
    PeerEnumIdentities,
    PeerEnumGroups,
    PeerCreatePeerName,
)
from peerstate.winapi.groups import (
    PeerGroupCreate,
    PeerGroupOpen,
    PeerGroupPasswordJoin,
    PeerGroupConnect,
    PeerGroupConnectByAddress,
    PeerGroupClose,
    PeerGroupDelete,
    PeerGroupGetStatus,
    PeerGroupGetProperties,
    PeerGroupSetProperties,
    PeerGroupCreatePasswordInvitation,
    PeerGroupRegisterEvent,
    PeerGroupUnregisterEvent,
    PeerGroupEnumConnections,
    PeerGroupGetEventData,
    PeerGroupPeerTimeToUniversalTime,
    PeerGroupUniversalTimeToPeerTime,
)
from peerstate.winapi.credentials import (
    PeerGroupParseInvitation,
    PeerGroupJoin,
    PeerGroupCreateInvitation,
    PeerGroupIssueCredentials,
    PeerGroupEnumMembers,
    PeerGroupExportConfig,
    PeerGroupImportConfig,
)
from peerstate.winapi.records import (
    PeerGroupAddRecord,
    PeerGroupUpdateRecord,
    PeerGroupDeleteRecord,
    PeerGroupGetRecord,
    PeerGroupEnumRecords,
    PeerGroupSearchRecords,
    PeerGroupExportDatabase,
    PeerGroupImportDatabase,
)

__all__ = [
    "ALL_FUNCTIONS",
    "FUNCTIONS",
    "OUT_PARAMETERS",
    "Coded",
    "WinFunction",
    "WinResult",
    "in_parameters",
    "PeerCreatePeerName",
    "PeerEnumGroups",
    "PeerEnumIdentities",
    "PeerGroupAddRecord",
    "PeerGroupClose",
    "PeerGroupConnect",
    "PeerGroupConnectByAddress",
    "PeerGroupCreate",
    "PeerGroupCreateInvitation",
    "PeerGroupCreatePasswordInvitation",
    "PeerGroupDelete",
    "PeerGroupDeleteRecord",
    "PeerGroupEnumConnections",
    "PeerGroupEnumMembers",
    "PeerGroupEnumRecords",
    "PeerGroupExportConfig",
    "PeerGroupExportDatabase",
    "PeerGroupGetEventData",
    "PeerGroupGetProperties",
    "PeerGroupGetRecord",
    "PeerGroupGetStatus",
    "PeerGroupImportConfig",
    "PeerGroupImportDatabase",
    "PeerGroupIssueCredentials",
    "PeerGroupJoin",
    "PeerGroupOpen",
    "PeerGroupParseInvitation",
    "PeerGroupPasswordJoin",
    "PeerGroupPeerTimeToUniversalTime",
    "PeerGroupRegisterEvent",
    "PeerGroupSearchRecords",
    "PeerGroupSetProperties",
    "PeerGroupUniversalTimeToPeerTime",
    "PeerGroupUnregisterEvent",
    "PeerGroupUpdateRecord",
    "PeerIdentityCreate",
    "PeerIdentityDelete",
    "PeerIdentityExport",
    "PeerIdentityGetDefault",
    "PeerIdentityGetFriendlyName",
    "PeerIdentityGetXML",
    "PeerIdentityImport",
    "PeerIdentitySetFriendlyName",
]
