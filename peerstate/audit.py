"""Verifying a store offline: every replica log read again from its rows and judged again.

A replica's log says which envelopes it accepted and which it refused, in order. Walking it
from the start with the admission pipeline that judged each envelope when it came (the
signature, the author's credential and role at the envelope's time, the author's chain with
no gap, fork or reordering, the certificates) must give the same verdict at every step. An
edited row shows: it no longer decodes, its envelope no longer verifies or no longer has the
id the log gave it, or an envelope the log refused now passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import attrs

from peerstate import admission
from peerstate.domain.group_events import (
    Envelope,
    EnvelopeAccepted,
    EnvelopeRefused,
    ReplicaCreated,
    ReplicaEvent,
    ReplicaJoined,
)
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.store import SQLITE_FILE, PeerStore


@attrs.frozen
class Finding:
    """One thing in a replica log that does not hold: where (the replica, and the envelope's
    author and sequence number when there is one), the rule that fails, and why."""

    identity: str
    group: str
    author: str | None
    seq: int | None
    rule: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.group} {self.author or '-'} {self.seq if self.seq is not None else '-'} "
            f"{self.rule}: {self.message} (in {self.identity}'s replica)"
        )


@attrs.frozen
class Verification:
    """What ``verify_store`` read and what it found."""

    replicas: int
    envelopes: int
    findings: tuple[Finding, ...]

    @property
    def holds(self) -> bool:
        return not self.findings


def verify_store(store: PeerStore) -> Verification:
    """Judge every replica log of ``store`` again, from its rows."""
    envelopes = 0
    findings: list[Finding] = []
    keys = store.replica_keys()
    for identity, group in keys:
        try:
            events = store.replica_events(identity, group)
        except ValueError as error:
            findings.append(Finding(identity, group, None, None, "row_decodes", str(error)))
            continue
        judged, found = verify_replica(identity, group, events)
        envelopes += judged
        findings.extend(found)
    return Verification(len(keys), envelopes, tuple(findings))


def verify_replica(identity: str, group: str, events: list[ReplicaEvent]) -> tuple[int, list[Finding]]:
    """How many envelopes the log holds, and what in it fails judgement again."""
    state = GroupState(group)
    findings: list[Finding] = []
    judged = 0

    def found(envelope: Envelope | None, rule: str, message: str) -> None:
        findings.append(Finding(
            identity, group, envelope.author if envelope else None, envelope.seq if envelope else None, rule, message,
        ))

    for event in events:
        match event:
            case ReplicaCreated() | ReplicaJoined():
                state = GroupState(group)
                if event.group != group or event.identity != identity:
                    found(None, "replica_is_its_own", f"the log of {identity}'s replica of {group} starts another replica")
            case EnvelopeAccepted(envelope, envelope_id, _, _):
                judged += 1
                if admission.envelope_id(envelope) != envelope_id:
                    found(envelope, "envelope_id_matches", "the envelope is not the one the log accepted under its id")
                try:
                    admission.admit(state, envelope)
                except admission.Refused as refusal:
                    found(envelope, refusal.rule, refusal.error.message)
                    continue
                state = apply_envelope(state, envelope, envelope_id)
            case EnvelopeRefused(envelope, envelope_id, _, rule, _, _, _):
                judged += 1
                try:
                    admission.admit(state, envelope)
                except admission.Refused:
                    continue
                found(envelope, "refusal_holds", f"the log says {rule} refused this envelope, but it passes every rule")
    return judged, findings


def stores_under(path: Path) -> Iterator[Path]:
    """The stores at ``path``: the directory itself when it holds a store, else every store
    below it (``peerstate replay --store DIR`` keeps one per peer)."""
    if (path / SQLITE_FILE).is_file():
        yield path
        return
    for found in sorted(path.rglob(SQLITE_FILE)):
        yield found.parent
