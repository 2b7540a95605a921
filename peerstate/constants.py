"""The enums and flags of p2p.h (as the SDK header defines them), under their header names.

Each header type is one class named after it, and each member keeps the header constant's
name and value, so code ported from Windows can use the same names and numbers, and
scenario files can write flags and enumerated values by name. A unit test checks every value
against the reference text. Flag types are ``IntFlag`` (their values are OR-ed together);
types whose values are exclusive are ``IntEnum``.
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Final, TypeAlias


class PeerGroupPropertyFlags(enum.IntFlag):
    """PEER_GROUP_PROPERTY_FLAGS: ``PEER_GROUP_PROPERTIES.dwFlags`` (section 3.2)."""

    PEER_MEMBER_DATA_OPTIONAL = 0x0001
    PEER_DISABLE_PRESENCE = 0x0002
    PEER_DEFER_EXPIRATION = 0x0004


class PeerGroupAuthenticationScheme(enum.IntFlag):
    """PEER_GROUP_AUTHENTICATION_SCHEME (section 3.3). The header's values: the
    CreatePasswordInvitation page's PASSWORD = 0x1 is wrong (section 10)."""

    PEER_GROUP_GMC_AUTHENTICATION = 0x00000001
    PEER_GROUP_PASSWORD_AUTHENTICATION = 0x00000002


class PeerGroupStatus(enum.IntFlag):
    """PEER_GROUP_STATUS (section 3.4). There is no SYNCHRONIZED bit for groups."""

    PEER_GROUP_STATUS_LISTENING = 0x0001
    PEER_GROUP_STATUS_HAS_CONNECTIONS = 0x0002


class PeerGroupEventType(enum.IntEnum):
    """PEER_GROUP_EVENT_TYPE (section 3.5). Values 7 and 9 are unused for groups."""

    PEER_GROUP_EVENT_STATUS_CHANGED = 1
    PEER_GROUP_EVENT_PROPERTY_CHANGED = 2
    PEER_GROUP_EVENT_RECORD_CHANGED = 3
    PEER_GROUP_EVENT_DIRECT_CONNECTION = 4
    PEER_GROUP_EVENT_NEIGHBOR_CONNECTION = 5
    PEER_GROUP_EVENT_INCOMING_DATA = 6
    PEER_GROUP_EVENT_MEMBER_CHANGED = 8
    PEER_GROUP_EVENT_CONNECTION_FAILED = 10
    PEER_GROUP_EVENT_AUTHENTICATION_FAILED = 11


class PeerRecordChangeType(enum.IntEnum):
    """PEER_RECORD_CHANGE_TYPE: ``PEER_EVENT_RECORD_CHANGE_DATA.changeType`` (section 3.6)."""

    PEER_RECORD_ADDED = 1
    PEER_RECORD_UPDATED = 2
    PEER_RECORD_DELETED = 3
    PEER_RECORD_EXPIRED = 4


class PeerConnectionStatus(enum.IntEnum):
    """PEER_CONNECTION_STATUS: ``PEER_EVENT_CONNECTION_CHANGE_DATA.status`` (section 3.6)."""

    PEER_CONNECTED = 1
    PEER_DISCONNECTED = 2
    PEER_CONNECTION_FAILED = 3


class PeerMemberChangeType(enum.IntEnum):
    """PEER_MEMBER_CHANGE_TYPE: ``PEER_EVENT_MEMBER_CHANGE_DATA.changeType`` (section 3.6).
    PEER_MEMBER_LEFT is in the header but "must not be used" in grouping v1.0."""

    PEER_MEMBER_CONNECTED = 1
    PEER_MEMBER_DISCONNECTED = 2
    PEER_MEMBER_UPDATED = 3
    PEER_MEMBER_JOINED = 4
    PEER_MEMBER_LEFT = 5


class PnrpScope(enum.IntEnum):
    """PNRP_SCOPE: ``PEER_INVITATION_INFO.dwScope`` (section 3.8, values from pnrpdef.h)."""

    PNRP_SCOPE_ANY = 0
    PNRP_GLOBAL_SCOPE = 1
    PNRP_SITE_LOCAL_SCOPE = 2
    PNRP_LINK_LOCAL_SCOPE = 3


class PnrpCloudFlags(enum.IntFlag):
    """PNRP_CLOUD_FLAGS: ``PEER_INVITATION_INFO.dwCloudFlags`` (section 3.8)."""

    PNRP_CLOUD_NO_FLAGS = 0
    PNRP_CLOUD_NAME_LOCAL = 1


class PeerMemberFlags(enum.IntFlag):
    """PEER_MEMBER_FLAGS: ``PEER_MEMBER.dwFlags`` and PeerGroupEnumMembers' filter (section 3.9)."""

    PEER_MEMBER_PRESENT = 0x0001


class PeerRecordFlags(enum.IntFlag):
    """PEER_RECORD_FLAGS: ``PEER_RECORD.dwFlags`` (section 3.10). DELETED is set only by the
    infrastructure."""

    PEER_RECORD_FLAG_AUTOREFRESH = 0x0001
    PEER_RECORD_FLAG_DELETED = 0x0002


class PeerConnectionFlags(enum.IntFlag):
    """PEER_CONNECTION_FLAGS: PeerGroupEnumConnections' filter and
    ``PEER_CONNECTION_INFO.dwFlags`` (section 3.11)."""

    PEER_CONNECTION_NEIGHBOR = 0x0001
    PEER_CONNECTION_DIRECT = 0x0002


class PeerGroupIssueCredentialFlags(enum.IntFlag):
    """PEER_GROUP_ISSUE_CREDENTIAL_FLAGS: PeerGroupIssueCredentials' ``dwFlags`` (section 3.11)."""

    PEER_GROUP_STORE_CREDENTIALS = 0x0001


Constant: TypeAlias = enum.IntEnum | enum.IntFlag
"""One header constant: ``type(c)`` is its header type and ``int(c)`` its value."""

CONSTANT_TYPES: Final[tuple[type[enum.IntEnum] | type[enum.IntFlag], ...]] = (
    PeerGroupPropertyFlags,
    PeerGroupAuthenticationScheme,
    PeerGroupStatus,
    PeerGroupEventType,
    PeerRecordChangeType,
    PeerConnectionStatus,
    PeerMemberChangeType,
    PnrpScope,
    PnrpCloudFlags,
    PeerMemberFlags,
    PeerRecordFlags,
    PeerConnectionFlags,
    PeerGroupIssueCredentialFlags,
)
"""Every enum and flag type of section 3, in the reference's order."""


def _by_name() -> dict[str, Constant]:
    """Every member of every type by its header name; header names are unique across types."""
    constants: dict[str, Constant] = {}
    for kind in CONSTANT_TYPES:
        for name, member in kind.__members__.items():
            if name in constants:
                raise AssertionError(f"{name} is declared by two header types")
            constants[name] = member
    return constants


CONSTANTS: Final = MappingProxyType(_by_name())
"""Every header constant by its name: ``CONSTANTS["PEER_GROUP_PASSWORD_AUTHENTICATION"]`` is
the member, whose type is the header type and whose int value is the header value."""
