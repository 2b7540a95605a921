"""Every enum and flag constant against section 3 of the reference, by name and value."""

from __future__ import annotations

import enum
import re
from pathlib import Path

from peerstate import constants
from peerstate.constants import CONSTANTS, PeerGroupAuthenticationScheme

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "windows-p2p.md"
NOT_GROUP_CONSTANTS = {"PEER_GRAPH_STATUS_SYNCHRONIZED", "PEER_GROUP_EVENT_NODE_CHANGED"}
"""Section 3 names these only to say they are not group constants (graphs; pre-release)."""


def reference_constants() -> dict[str, int]:
    """Name -> value as section 3 writes them: `NAME = value` in backticks, or table rows."""
    text = REFERENCE.read_text(encoding="utf-8")
    section = text[text.index("## 3. Structures, enums and flags"): text.index("## 4. Roles")]
    value = r"(0x[0-9A-Fa-f]+|[0-9]+)"
    pairs = re.findall(rf"`([A-Z][A-Z0-9_]+) = {value}`", section)
    pairs += re.findall(rf"^\| ([A-Z][A-Z0-9_]+) \| {value} \|", section, flags=re.MULTILINE)
    return {name: int(number, 0) for name, number in pairs}


def test_the_reference_section_was_read() -> None:
    found = reference_constants()
    assert len(found) >= 40
    assert found["PEER_GROUP_PASSWORD_AUTHENTICATION"] == 0x2


def test_every_constant_has_the_reference_value() -> None:
    found = reference_constants()
    assert {name: int(member) for name, member in CONSTANTS.items()} == {
        name: number for name, number in found.items() if name not in NOT_GROUP_CONSTANTS
    }


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
