"""Every enum and flag constant against the header's (``tests/facts/windows-p2p.json``), by
name and value."""

from __future__ import annotations

import enum

from reference_facts import group_constants

from peerstate import constants
from peerstate.constants import CONSTANTS, PeerGroupAuthenticationScheme


def test_every_constant_has_the_header_value() -> None:
    assert {name: int(member) for name, member in CONSTANTS.items()} == group_constants()


def test_the_header_values_win_over_the_seed_page() -> None:
    assert int(PeerGroupAuthenticationScheme.PEER_GROUP_PASSWORD_AUTHENTICATION) == 0x2
    assert int(PeerGroupAuthenticationScheme.PEER_GROUP_GMC_AUTHENTICATION) == 0x1


def test_the_lookup_gives_the_header_type_and_value() -> None:
    member = CONSTANTS["PEER_MEMBER_DATA_OPTIONAL"]
    assert (type(member), int(member)) == (constants.PeerGroupPropertyFlags, 1)
    assert type(CONSTANTS["PEER_MEMBER_JOINED"]) is constants.PeerMemberChangeType
    assert type(CONSTANTS["PNRP_LINK_LOCAL_SCOPE"]) is constants.PnrpScope


def test_each_type_is_named_after_its_header_type_and_flags_combine() -> None:
    names = {kind.__name__ for kind in constants.CONSTANT_TYPES}
    assert names == {
        "PeerGroupStatus", "PeerGroupPropertyFlags", "PeerGroupAuthenticationScheme",
        "PeerGroupEventType", "PeerRecordChangeType", "PeerMemberChangeType", "PeerMemberFlags",
        "PeerConnectionStatus", "PeerConnectionFlags", "PeerRecordFlags",
        "PeerGroupIssueCredentialFlags", "PnrpScope", "PnrpCloudFlags",
    }
    flag_types = {kind.__name__ for kind in constants.CONSTANT_TYPES if issubclass(kind, enum.IntFlag)}
    assert flag_types == {
        "PeerGroupStatus", "PeerGroupPropertyFlags", "PeerGroupAuthenticationScheme",
        "PeerMemberFlags", "PeerConnectionFlags", "PeerRecordFlags",
        "PeerGroupIssueCredentialFlags", "PnrpCloudFlags",
    }
    both = PeerGroupAuthenticationScheme(3)
    assert list(both) == list(PeerGroupAuthenticationScheme)
