"""The rules of the group calls, one registered rule each (``peerstate.registry``), named
after what it checks: the properties a group is created or changed with, the cloud a call
names, and a replica being on this peer.

Each either returns what the call needs next or refuses with the HRESULT that Windows
documents for that case; none changes anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from peerstate.constants import PeerGroupAuthenticationScheme, PeerGroupPropertyFlags
from peerstate.domain.state import IdentityRecord
from peerstate.registry import Refusal, rule

KNOWN_FLAGS: Final = int(
    PeerGroupPropertyFlags.PEER_MEMBER_DATA_OPTIONAL | PeerGroupPropertyFlags.PEER_DISABLE_PRESENCE
    | PeerGroupPropertyFlags.PEER_DEFER_EXPIRATION
)
KNOWN_SCHEMES: Final = int(
    PeerGroupAuthenticationScheme.PEER_GROUP_GMC_AUTHENTICATION
    | PeerGroupAuthenticationScheme.PEER_GROUP_PASSWORD_AUTHENTICATION
)
MEMBER_DATA_LIFETIMES: Final = range(8 * 3600, 10 * 365 * 86400 + 1)
"""The API page's range (8 hours to 10 years); 0 means the longest the issuer allows."""
MIN_PRESENCE_LIFETIME: Final = 300
SCOPE_PREFIXES: Final = ("Global_", "SiteLocal_", "LinkLocal_")
"""Cloud names that stand for the one cloud of this peer of that scope."""


@rule("PEER_E_INVALID_GROUP_PROPERTIES")
def properties_in_range(flags: int, member_data_lifetime: int, presence_lifetime: int, schemes: int) -> None:
    """A group's flags and authentication schemes are ones the header defines, and its
    lifetimes are in the ranges Windows documents (``PEER_E_INVALID_GROUP_PROPERTIES``)."""
    if flags & ~KNOWN_FLAGS:
        raise Refusal(f"dwFlags {flags:#x} has bits no PEER_GROUP_PROPERTY_FLAGS names")
    if schemes & ~KNOWN_SCHEMES:
        raise Refusal(f"dwAuthenticationSchemes {schemes:#x} has unknown bits")
    if member_data_lifetime != 0 and member_data_lifetime not in MEMBER_DATA_LIFETIMES:
        raise Refusal("ulMemberDataLifetime must be 0 or from 8 hours to 10 years, in seconds")
    if presence_lifetime < MIN_PRESENCE_LIFETIME:
        raise Refusal(f"ulPresenceLifetime must be at least {MIN_PRESENCE_LIFETIME} seconds")


def clouds_named(clouds: Sequence[str], wanted: str) -> list[str]:
    """The clouds of this peer that ``wanted`` names: itself, or, for a scope prefix, every
    cloud of that scope (``docs/scenario-format.md`` §4.6)."""
    if wanted in clouds:
        return [wanted]
    return [name for name in clouds if wanted in SCOPE_PREFIXES and name.startswith(wanted)]


@rule("PEER_E_NO_CLOUD")
def cloud_is_known(clouds: Sequence[str], wanted: str) -> list[str]:
    """The cloud a call names is one this peer sees, by its name or its scope
    (``PEER_E_NO_CLOUD``). Gives the clouds it names."""
    named = clouds_named(clouds, wanted)
    if not named:
        raise Refusal(f"this peer sees no cloud {wanted!r} (it has {', '.join(clouds)})")
    return named


@rule("PEER_E_CLOUD_NAME_AMBIGUOUS")
def cloud_name_unambiguous(wanted: str, named: Sequence[str]) -> str:
    """A scope a call names stands for one cloud of this peer, not several
    (``PEER_E_CLOUD_NAME_AMBIGUOUS``). Gives that cloud."""
    if len(named) != 1:
        raise Refusal(f"{wanted!r} could be any of {', '.join(named)}")
    return named[0]


@rule("PEER_E_NOT_FOUND")
def group_is_here(record: IdentityRecord, group: str) -> None:
    """The identity has a replica of the group on this peer (``PEER_E_NOT_FOUND``)."""
    if group not in record.groups:
        raise Refusal(f"{record.peer_name!r} has no group {group!r} on this peer")
