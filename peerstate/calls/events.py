"""Events: what a replica's registrations are told (``PeerGroupRegisterEvent``,
``PeerGroupGetEventData``), and how each change is noticed: its status, the properties and
members an accepted envelope changes, and the records it shows, which change as the clock
passes their expirations too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from peerstate.calls.runtime import Runtime
from peerstate.calls.sessions import GroupEvent, Interest
from peerstate.sync.port import ReplicaKey
from peerstate.constants import PeerGroupEventType, PeerGroupPropertyFlags, PeerGroupStatus, PeerMemberChangeType
from peerstate.domain.group_events import EnvelopeAccepted, PropertiesChanged
from peerstate.domain.group_state import GroupState, members_changed_by
from peerstate.domain.records import LiveRecords


def register_event(runtime: Runtime, handle: object, interests: Iterable[Interest]) -> str:
    """Subscribe to events of the handle's replica; record changes are counted from now."""
    opened, _ = runtime.open(handle)
    report_records(runtime, opened.replica)
    return runtime.sessions.register(handle, interests)  # type: ignore[arg-type]  # open checked it


def unregister_event(runtime: Runtime, registration: object) -> None:
    runtime.sessions.unregister(registration)


def event_data(runtime: Runtime, registration: object) -> GroupEvent | None:
    """The oldest queued event of the registration (after looking whether records expired
    since); None when the queue is empty."""
    found = runtime.sessions.registration(registration)
    report_records(runtime, runtime.sessions.handle(found.handle).replica)
    return found.queue.popleft() if found.queue else None


# Status ----------------------------------------------------------------------------------------

def status(runtime: Runtime, key: ReplicaKey) -> PeerGroupStatus:
    """``LISTENING`` once the replica is synchronized and connected; ``HAS_CONNECTIONS``."""
    found = PeerGroupStatus(0)
    if runtime.replica(*key).state.synchronized and runtime.sessions.connected(key):
        found |= PeerGroupStatus.PEER_GROUP_STATUS_LISTENING
    if runtime.sessions.connections(key):
        found |= PeerGroupStatus.PEER_GROUP_STATUS_HAS_CONNECTIONS
    return found


def listening(runtime: Runtime, key: ReplicaKey) -> bool:
    return bool(status(runtime, key) & PeerGroupStatus.PEER_GROUP_STATUS_LISTENING)


def report_status(runtime: Runtime, key: ReplicaKey, before: PeerGroupStatus) -> None:
    after = status(runtime, key)
    if after != before:
        runtime.sessions.notify(key, GroupEvent(PeerGroupEventType.PEER_GROUP_EVENT_STATUS_CHANGED, status=after))


# What accepted envelopes change ----------------------------------------------------------------

def notify_changes(runtime: Runtime, key: ReplicaKey, before: GroupState, accepted: Sequence[EnvelopeAccepted]) -> None:
    """Tell registrations what accepted envelopes changed: the properties, members listed now
    and not before (``PEER_MEMBER_JOINED``: new membership information was published) and
    listed members whose credential or name changed (``PEER_MEMBER_UPDATED``). Only the
    identities the envelopes name can have changed, unless a fork's verdict folded the group
    again (``domain.forks``): then any member may have, and one it no longer lists is told
    ``PEER_MEMBER_UPDATED`` too, the closest change type, since ``PEER_MEMBER_LEFT`` must
    not be used in grouping v1.0. Records are told as ever (``report_records``)."""
    after = runtime.replica(*key).state.group
    if any(isinstance(event.envelope.payload, PropertiesChanged) for event in accepted):
        runtime.sessions.notify(key, GroupEvent(PeerGroupEventType.PEER_GROUP_EVENT_PROPERTY_CHANGED))
    now = runtime.clock()
    changed = {identity for event in accepted for identity in members_changed_by(event.envelope)}
    forked = after.forked != before.forked
    if forked:
        changed |= {*before.members, *after.members}
    delivered = after.delivered is not before.delivered  # else no one's latest credential changed
    for identity in sorted(changed):
        if not after.lists(identity, now):
            if forked and before.lists(identity, now):
                runtime.sessions.notify(key, GroupEvent(
                    PeerGroupEventType.PEER_GROUP_EVENT_MEMBER_CHANGED, member_change=PeerMemberChangeType.PEER_MEMBER_UPDATED,
                    identity=identity,
                ))
            continue
        if not before.lists(identity, now):
            change = PeerMemberChangeType.PEER_MEMBER_JOINED
        elif _friendly_name(before, identity) != _friendly_name(after, identity) or (
            delivered and before.latest_credential(identity) != after.latest_credential(identity)
        ):
            change = PeerMemberChangeType.PEER_MEMBER_UPDATED
        else:
            continue
        runtime.sessions.notify(key, GroupEvent(
            PeerGroupEventType.PEER_GROUP_EVENT_MEMBER_CHANGED, member_change=change, identity=identity,
        ))
    report_records(runtime, key, before)


def _friendly_name(group: GroupState, identity: str) -> str | None:
    """The name an identity goes by in the group's log, None before it wrote there."""
    member = group.members.get(identity)
    return member.friendly_name if member is not None else None


# Records: what a replica shows, and when it changed ---------------------------------------------

def peer_now(runtime: Runtime, key: ReplicaKey) -> datetime:
    """The group's peer time on this replica: this machine's clock and the replica's offset."""
    return runtime.clock() + runtime.replica(*key).state.peer_time_offset


def _expiring(runtime: Runtime, key: ReplicaKey, group: GroupState) -> bool:
    """Whether records expire now: not with ``PEER_DEFER_EXPIRATION`` while the replica has
    no connection."""
    properties = group.properties
    return not (
        properties is not None and bool(properties.flags & PeerGroupPropertyFlags.PEER_DEFER_EXPIRATION)
        and not runtime.sessions.connections(key)
    )


def live_records(runtime: Runtime, key: ReplicaKey) -> LiveRecords:
    """The records the replica shows now."""
    group = runtime.replica(*key).state.group
    return LiveRecords(group.records, peer_now(runtime, key), _expiring(runtime, key, group))


def report_records(runtime: Runtime, key: ReplicaKey, before: GroupState | None = None) -> None:
    """Tell registrations how the records shown changed since this process last looked (or,
    the first time, since ``before``): added, updated, deleted, or expired as the clock
    passed them. Every call on a replica looks first, so expiry is reported as soon as
    anything observes the clock. A record a fork's verdict took away (``domain.forks``) is
    told as the watch sees it gone, with its type as it was shown."""
    log = runtime.replica(*key)
    records = log.state.group.records
    changes = runtime.sessions.watch(key).look(
        records, log.published, peer_now(runtime, key), _expiring(runtime, key, log.state.group),
        before.records if before is not None else None,
    )
    gone = before.records if before is not None else records  # a record a fork's verdict took away was shown before
    for record_id, change in changes:
        held = records.get(record_id) or gone[record_id]
        runtime.sessions.notify(key, GroupEvent(
            PeerGroupEventType.PEER_GROUP_EVENT_RECORD_CHANGED, record_change=change,
            record_id=record_id, record_type=held.record.type,
        ))
