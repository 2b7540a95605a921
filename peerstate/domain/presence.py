"""When a member publishes its presence again: a decision of the replica's state, this
machine's address and the time alone."""

from __future__ import annotations

from datetime import datetime

from peerstate.constants import PeerGroupPropertyFlags
from peerstate.domain.group_state import GroupState


def presence_due(group: GroupState, identity: str, address: str, now: datetime) -> bool:
    """Whether ``identity``, a member of ``group`` on the machine at ``address``, should
    publish its presence now: never in a group that disables presence or while it holds no
    credential; otherwise when the group shows no presence of it, one at another address,
    or one with less than half its lifetime left, as Windows refreshes the presence record
    while a member stays online."""
    properties = group.properties
    if properties is None or properties.flags & PeerGroupPropertyFlags.PEER_DISABLE_PRESENCE:
        return False
    if group.credential_of(identity, now) is None:
        return False
    member = group.members.get(identity)
    presence = member.presence if member is not None else None
    return (
        presence is None or presence.address != address
        or (presence.until - now).total_seconds() * 2 < properties.presence_lifetime
    )
