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
    while a member stays online, unless it lasts until the credential ends already: a
    presence never outlives its credential (``rules.presence_within_credential``)."""
    properties = group.properties
    if properties is None or properties.flags & PeerGroupPropertyFlags.PEER_DISABLE_PRESENCE:
        return False
    credential = group.credential_of(identity, now)
    if credential is None:
        return False
    member = group.members.get(identity)
    presence = member.presence if member is not None else None
    return (
        presence is None or presence.address != address
        or ((presence.until - now).total_seconds() * 2 < properties.presence_lifetime and presence.until < credential.not_after)
    )
