"""A replica log as a history a person reads: when, who, what, to what effect, and for a
refused envelope which rule refused it (by its registered name today, ``peerstate.registry``)
and why; for a batch's refusals, who sent them, how many each rule made, and whether one cut
the sender off.

The history is told while the log is folded again, so each entry names people as the group
knew them at that point, and a credential's entry says on whose authority it was issued:
the chain of credentials from the group's root to the issuer's. That answers "who made Bob
an administrator, when, and on whose authority" from the log alone.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from peerstate.domain.group_events import (
    ActionsVoided,
    Credential,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    EnvelopeAccepted,
    EnvelopeHeld,
    EnvelopeRefused,
    ForkDetected,
    GroupCreated,
    IdentityRetired,
    JoinRefused,
    MembershipPublished,
    PeerTimeAdjusted,
    PresencePublished,
    PropertiesChanged,
    RecordPublished,
    RefusalsCounted,
    ReplicaCreated,
    ReplicaEvent,
    ReplicaJoined,
    ReplicaSynchronized,
)
from peerstate.domain.group_state import GroupState, apply_envelope, with_voided
from peerstate.domain.records import DELETED
from peerstate.names import ROLE_NAMES
from peerstate.registry import current_name


@attrs.frozen
class Entry:
    """One line of a replica's history. ``author`` is None for the replica's own events;
    ``refused`` is the rule, the HRESULT and the reason when the replica refused it."""

    at: datetime
    identity: str
    group: str
    author: str | None
    seq: int | None
    event: str
    effect: str
    refused: str | None = None


def _roles(credential: Credential) -> str:
    return ", ".join(ROLE_NAMES.get(role, str(role)) for role in credential.roles)


def _who(group: GroupState, peer_name: str) -> str:
    """A peer name with the friendly name the group knows it by."""
    member = group.members.get(peer_name)
    friendly = member.friendly_name if member else next(
        (c.subject_friendly_name for c in group.credentials.values() if c.subject == peer_name), None,
    )
    return f"{peer_name} ({friendly})" if friendly and friendly != peer_name else peer_name


def authority(group: GroupState, credential: Credential) -> str:
    """The chain that gives ``credential`` its authority: the group root, then each holder
    with the roles of its link, down to this one."""
    links = [f"{_who(group, link.subject)} as {_roles(link)}" for link in group.chain_of(credential)]
    return " <- ".join(["the group root", *links])


def _effect(group: GroupState, envelope: Envelope) -> str:
    """What the envelope does, told against the group as it stood just before."""
    credential = group.credentials.get(envelope.credential)
    match envelope.payload:
        case GroupCreated(properties, _, _, creator):
            return f"created the group {properties.friendly_name!r} with {creator.subject} ({creator.subject_friendly_name}) as {_roles(creator)}"
        case PropertiesChanged(properties):
            old = group.properties
            changed = [
                f"{field.name} {getattr(old, field.name)!r} -> {getattr(properties, field.name)!r}"
                for field in attrs.fields(type(properties))
                if old is not None and getattr(old, field.name) != getattr(properties, field.name) and field.name != "password"
            ]
            if old is not None and old.password != properties.password:
                changed.append("the password")
            return "changed " + ("; ".join(changed) or "nothing")
        case CredentialIssued(issued, delivery):
            given = (
                f"made {issued.subject} ({issued.subject_friendly_name}) {_roles(issued)} from "
                f"{issued.not_before.isoformat()} until {issued.not_after.isoformat()}, delivered {delivery}"
            )
            return given + (f", on the authority of {authority(group, credential)}" if credential else "")
        case CredentialTaken(chain):
            return f"took up a credential as {_roles(chain[-1])}, issued along {' <- '.join(link.subject for link in chain)}"
        case MembershipPublished(friendly_name):
            return f"published its membership as {friendly_name!r}"
        case PresencePublished(address, until):
            return f"present at {address} until {until.isoformat()}"
        case IdentityRetired(peer_name, _, _):
            return f"told the group that the identity {peer_name} was deleted"
        case RecordPublished(record):
            verb = "deleted" if record.flags & DELETED else "added" if record.version == 1 else "updated"
            return f"{verb} record {record.id} of type {record.type} (version {record.version}, expires {record.expiration.isoformat()})"
    return type(envelope.payload).__name__


def history(identity: str, group_name: str, events: list[ReplicaEvent]) -> list[Entry]:
    """The replica log of ``identity``'s replica of ``group_name``, entry by entry."""
    group = GroupState(group_name)
    entries: list[Entry] = []
    for event in events:
        match event:
            case EnvelopeAccepted(envelope, envelope_id, source, _):
                voided = group.voided.get(envelope_id)
                entries.append(Entry(
                    envelope.at, identity, group_name, _who(group, envelope.author), envelope.seq,
                    type(envelope.payload).__name__, _effect(group, envelope) + ("" if source == "local" else f" (from {source})")
                    + ("" if voided is None else f"; without effect: credential {voided.hex()}, delivered concurrently, voids it"),
                ))
                group = apply_envelope(group, envelope, envelope_id)
            case ActionsVoided(credential, ids, at):
                subject = group.credentials[credential].subject if credential in group.credentials else "its subject"
                entries.append(Entry(
                    at, identity, group_name, subject, None, type(event).__name__,
                    f"{len(ids)} envelope(s) of {subject} without effect: they need what credential {credential.hex()}, "
                    f"delivered concurrently, does not give: {', '.join(envelope_id.hex() for envelope_id in ids)}",
                ))
                group = with_voided(group, credential, ids)
            case EnvelopeRefused(envelope, _, source, rule, error, reason, at):
                entries.append(Entry(
                    at, identity, group_name, envelope.author, envelope.seq, type(envelope.payload).__name__,
                    f"refused what {source} sent", f"{current_name(rule)}: {error}: {reason}",
                ))
            case EnvelopeHeld(envelope, _, sender, address, rule, _, at):
                entries.append(Entry(
                    at, identity, group_name, envelope.author, envelope.seq, type(envelope.payload).__name__,
                    f"held what {sender} at {address} sent: it waits for what {current_name(rule)} lacks",
                ))
            case ForkDetected(first, first_id, second, second_id, sender, address, at):
                entries.append(Entry(
                    at, identity, group_name, second.author, second.seq, type(event).__name__,
                    f"{second.author} forked its chain: {sender} at {address} sent a second envelope at {second.seq};"
                    f" taken first {type(first.payload).__name__} {first_id.hex()}, then {type(second.payload).__name__} {second_id.hex()}",
                ))
            case RefusalsCounted(sender, address, rules, kept, cut_off, at):
                refused = sum(count.count for count in rules)
                entries.append(Entry(
                    at, identity, group_name, None, None, type(event).__name__,
                    f"refused {refused} envelope(s) {sender} at {address} sent, {kept} kept whole above"
                    + ("" if cut_off is None else f"; cut {sender} off: {current_name(cut_off)}"),
                    ", ".join(f"{current_name(count.rule)} x{count.count}" for count in rules),
                ))
            case _:
                if isinstance(event, (ReplicaCreated, ReplicaJoined)):
                    group = GroupState(group_name)
                entries.append(Entry(event.at, identity, group_name, None, None, type(event).__name__, _own_effect(event)))
    return entries


def _own_effect(event: ReplicaEvent) -> str:
    """What the replica's own event means."""
    match event:
        case ReplicaCreated(_, creator, cloud, _, _, _):
            return f"{creator} created the group here, in {cloud}"
        case ReplicaJoined(_, joiner, cloud, _, _, chain, _, _, _):
            return f"{joiner} joined here by {'credential' if chain else 'password'} invitation, in {cloud}"
        case ReplicaSynchronized(source, _):
            return f"first synchronized, with {source}"
        case PeerTimeAdjusted(offset, source, _):
            return f"peer time set to this machine's clock {offset / 1e6:+.6f} s, from {source}"
        case JoinRefused(joiner, rule, error, reason, _):
            return f"refused to authenticate {joiner}: {current_name(rule)}: {error}: {reason}"
    return {
        "ReplicaConnected": "connected", "ReplicaClosed": "its last handle closed", "ReplicaDeleted": "deleted here",
    }.get(type(event).__name__, type(event).__name__)
