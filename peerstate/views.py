"""The derived state as people and tools read it: a group's digest, a replica as of an
event or a time, its members and its groups.

Everything here folds a replica log's events again (``domain.replica.evolve_replica``, and
a fork's verdict, ``domain.forks``), so
"as of" is only where the fold stops: the state a replica had after its ``n``-th event, or
after the last event it recorded by a given time (the time this replica learned of each
thing, which is what it could have answered then).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from peerstate import wire
from peerstate.domain.group_state import GroupState
from peerstate.domain.forks import after_verdict
from peerstate.domain.group_events import ActionsVoided, Envelope, EnvelopeAccepted, ForkDetected, ReplicaCreated, ReplicaEvent, ReplicaJoined
from peerstate.domain.replica import ReplicaState, evolve_replica, new_replica
from peerstate.names import ROLE_NAMES


def group_digest(group: GroupState) -> str:
    """The digest of a group's state: equal on two replicas exactly when they hold the
    same properties, credentials, members, deletions, records and envelopes."""
    return wire.digest([
        group.group_peer_name, group.properties,
        sorted(group.credentials.values(), key=lambda credential: credential.fingerprint),
        sorted((author, head.seq, head.last) for author, head in group.heads.items()),
        sorted(group.members.values(), key=lambda member: member.identity),
        sorted((identity, at) for identity, at in group.retired.items()),
        sorted(group.delivered.items()),
        sorted((str(record_id), held.record.version, held.security) for record_id, held in group.records.items()),
    ]).hex()


def replica_as_of(
    group: str, events: Sequence[ReplicaEvent], *, event: int | None = None, at: datetime | None = None,
) -> tuple[ReplicaState, datetime | None]:
    """The replica after its first ``event`` events (1 is its creation or join), or after
    every event it recorded by ``at``; with neither, as it stands now. And the time of the
    last event folded (None before the first): the replica's "now" at that point."""
    state, last = new_replica(group), None
    accepted: list[tuple[Envelope, bytes]] = []  # what a fork's verdict folds again
    for position, recorded in enumerate(events, 1):
        if (event is not None and position > event) or (at is not None and recorded.at > at):
            break
        state, last = evolve_replica(state, recorded), recorded.at
        if isinstance(recorded, (ReplicaCreated, ReplicaJoined)):
            accepted = []
        elif isinstance(recorded, EnvelopeAccepted):
            accepted.append((recorded.envelope, recorded.id))
        elif isinstance(recorded, (ForkDetected, ActionsVoided)):
            state = after_verdict(state, recorded, accepted)
    return state, last


@attrs.frozen
class MemberLine:
    """A member as a replica knew it: its name, and its credential in force then (roles and
    validity), or its latest one when none was in force."""

    identity: str
    friendly_name: str
    roles: tuple[str, ...]
    valid_from: datetime | None
    valid_until: datetime | None
    in_force: bool
    present: bool
    deleted: bool


def member_lines(group: GroupState, at: datetime) -> list[MemberLine]:
    """Every identity that wrote in the group's log, by name, as of ``at``: the audit's
    view, whose member data may have lapsed (``GroupState.listed`` is what
    ``PeerGroupEnumMembers`` lists)."""
    lines = []
    for identity in sorted(group.members):
        member = group.members[identity]
        in_force = group.credential_of(identity, at)
        credential = in_force or group.latest_credential(identity)
        lines.append(MemberLine(
            identity, member.friendly_name,
            tuple(ROLE_NAMES.get(role, str(role)) for role in credential.roles) if credential else (),
            credential.not_before if credential else None, credential.not_after if credential else None,
            in_force is not None, member.present(at), identity in group.retired,
        ))
    return lines
