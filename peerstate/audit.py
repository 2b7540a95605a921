"""Verifying a store offline: every log read again from its rows and judged again.

Every stored event carries a link of its log's hash chain (``logs.chain_link``), so an
edited byte of any row, a row taken out of the middle, or two rows swapped breaks the
chain where it happened. Beyond that, a replica's log says which envelopes it accepted and which it refused, in order. Walking it
from the start with the admission pipeline that judged each envelope when it came (the
signature, the author's credential and role at the envelope's time, the author's chain with
no gap, fork or reordering, the certificates) must give the same verdict at every step. An
edited row shows: it no longer decodes, its envelope no longer verifies or no longer has the
id the log gave it, an envelope the log refused now passes, or one the log held to wait
for data passes or is refused for good at that point (``hold_holds``). The refusals a batch had
only counted are not there to judge again; their count must add up (``refusals_add_up``).

A fork the log kept evidence of (``ForkDetected``) is reported with both envelopes' ids
(``author_forked``): no edit of the store, but a member whose key signed two branches of
its chain, which whoever runs ``verify`` must hear of. Evidence that is not evidence (one
place, two ids, both signed by the author) is an edit (``fork_holds``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import attrs
from eventsourcing.domain import Aggregate

from peerstate.sync import admission, cutting
from peerstate.domain.group_events import (
    ActionsVoided,
    Envelope,
    EnvelopeAccepted,
    EnvelopeHeld,
    EnvelopeRefused,
    ForkDetected,
    GroupCreated,
    PeerTimeAdjusted,
    PropertiesChanged,
    RefusalsCounted,
    ReplicaCreated,
    ReplicaEvent,
    ReplicaJoined,
)
from peerstate.domain import authority
from peerstate.domain.forks import group_after, group_after_fork
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.storage.locations import FROM_ENVIRONMENT, SQLITE_FILE, is_postgres
from peerstate.storage.logs import (
    LEDGER_START,
    CommitLedger,
    EarlierSnapshot,
    IdentityLog,
    ReplicaLog,
    broken_links,
    chain_link,
    chain_start,
    project_log,
)
from peerstate.storage.opening import NotAStore, postgres_stores
from peerstate.storage.peer_store import PeerStore

IDENTITY_LOG: Final = "the identity log"
LEDGER: Final = "the commit ledger"
"""How findings in a store's identity log name it, where a replica's name its group."""


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
        where = f" (in {self.identity}'s replica)" if self.identity else ""
        return f"{self.group} {self.author or '-'} {self.seq if self.seq is not None else '-'} {self.rule}: {self.message}{where}"


@attrs.frozen
class Verification:
    """What ``verify_store`` read and what it found."""

    replicas: int
    envelopes: int
    findings: tuple[Finding, ...]
    without_context: int = 0
    """Of the envelopes accepted, those written before envelopes cited a context
    (``Envelope.context``): judged in the context of their own chain alone."""
    old_password_groups: tuple[str, ...] = ()
    """The groups whose password, as their replica's log last says, is still checked by a
    verifier their members could join with (a group made before the password exchange,
    issue 30): their creator should set the password again. Not a finding: the log holds."""

    @property
    def holds(self) -> bool:
        return not self.findings


def verify_store(store: PeerStore) -> Verification:
    """Judge every log of ``store`` again, from its rows: the identity log's chain, and each
    replica log's chain and envelopes. Rows edited so that the store cannot even list its
    logs are one finding."""
    try:
        return _verify_logs(store)
    except ValueError as error:
        return Verification(0, 0, (Finding("", "-", None, None, "rows_read", f"the store's rows do not read: {error}"),))


def _verify_logs(store: PeerStore) -> Verification:
    envelopes = without_context = 0
    old_password_groups: set[str] = set()
    identities = IdentityLog.create_id("identities")
    broken, identity_events = _chain_findings(store, identities, lambda created: created.key == "identities")
    findings = [Finding("", IDENTITY_LOG, None, None, rule, message) for rule, message in broken]
    logs: dict[UUID, tuple[tuple[str, str], list[Aggregate.Event] | None]] = {identities: (("", IDENTITY_LOG), identity_events)}
    keys = store.replica_keys()
    for identity, group in keys:
        originator = ReplicaLog.create_id(identity, group)
        broken, events = _chain_findings(store, originator, lambda created: (created.identity, created.group) == (identity, group))
        logs[originator] = ((identity, group), events)
        findings.extend(Finding(identity, group, None, None, rule, message) for rule, message in broken + _snapshot_findings(store, originator, events))
        payloads = [event.payload for event in events or () if isinstance(event, ReplicaLog.Recorded)]
        judged, found = verify_replica(identity, group, payloads)
        envelopes += judged
        without_context += sum(isinstance(payload, EnvelopeAccepted) and payload.envelope.context is None for payload in payloads)
        if _takes_old_password_proofs(payloads):
            old_password_groups.add(group)
        findings.extend(found)
    findings.extend(
        Finding("", "-", None, None, "row_belongs", f"rows of {originator}, which is no log of this store")
        for originator in sorted(store.originators() - logs.keys() - {CommitLedger.ID}, key=str)
    )
    findings.extend(_ledger_findings(store, logs))
    return Verification(len(keys), envelopes, tuple(findings), without_context, tuple(sorted(old_password_groups)))


def _takes_old_password_proofs(events: list[ReplicaEvent]) -> bool:
    """Whether the group's properties, as the last envelope of the log that sets them says,
    keep a password verifier without an SRP verifier (``PasswordVerifier.augmented``)."""
    properties = [
        payload.properties for event in events if isinstance(event, EnvelopeAccepted)
        and isinstance(payload := event.envelope.payload, (GroupCreated, PropertiesChanged))
    ]
    password = properties[-1].password if properties else None
    return password is not None and not password.augmented


def _ledger_findings(store: PeerStore, logs: dict[UUID, tuple[tuple[str, str], list[Aggregate.Event] | None]]) -> list[Finding]:
    """The commit ledger keeps its own chain, and every log agrees with it: each head it
    names is a row of that log with that link, and each log ends where the ledger last saw it."""
    try:
        entries = store.stored_log(CommitLedger.ID)
    except ValueError as error:
        return [Finding("", LEDGER, None, None, "row_decodes", str(error))]
    findings = []
    previous, seen = LEDGER_START, {}
    for place, entry in enumerate(entries, 1):
        if entry.originator_version != place or entry.link != chain_link(previous, entry.originator_version, entry.timestamp, entry.payload):
            findings.append(Finding("", LEDGER, None, None, "chain_holds", f"entry {entry.originator_version} is not the one its chain recorded"))
        previous = entry.link
        for head in entry.payload:
            seen[head.log] = head
    for originator, ((identity, group), events) in logs.items():
        if events is None:
            continue  # its rows do not read: reported as such already
        head = seen.get(originator)
        last = events[-1] if events else None
        stands = (last.originator_version, getattr(last, "link", b"")) if last is not None else (0, b"")
        if (head.version, head.link) != stands if head is not None else stands[0] != 0:
            said = f"event {head.version}" if head else "nothing"
            findings.append(Finding(
                identity, group, None, None, "ledger_matches",
                f"the ledger last saw {said} of this log, which ends at event {stands[0]}: rows were cut from its end or added outside peerstate",
            ))
    return findings


def _chain_findings(
    store: PeerStore, originator: UUID, names_itself: Callable[[Any], bool],
) -> tuple[list[tuple[str, str]], list[Aggregate.Event] | None]:
    """What breaks a log's hash chain, as (rule, why): a row that does not decode, rows not
    numbered 1, 2, 3 ..., a first row that is not this log's creation, a link that is not
    the hash of the one before and its event. And the log's events (None when they do not
    decode)."""
    try:
        events: list[Aggregate.Event] = store.stored_log(originator)
    except ValueError as error:
        return [("row_decodes", str(error))], None
    if not events:
        return [], events  # no log: whether it should have rows is the ledger's to say
    created = events[0]
    if not (
        isinstance(created, IdentityLog.Created) and created.originator_topic == IdentityLog.TOPIC
        or isinstance(created, ReplicaLog.Created) and created.originator_topic == ReplicaLog.TOPIC
    ) or not names_itself(created):
        return [("log_is_its_own", "the log does not start with its own creation")], events
    broken: list[tuple[str, str]] = [
        ("log_is_contiguous", f"event {event.originator_version} stands where event {place} should")
        for place, event in enumerate(events, 1) if event.originator_version != place
    ]
    broken.extend(
        ("chain_holds", f"event {version} is not the event its log's hash chain recorded")
        for version in broken_links(chain_start(originator, events[0].timestamp), events[1:])
    )
    return broken, events


def _snapshot_findings(store: PeerStore, originator: UUID, events: list[Aggregate.Event] | None) -> list[tuple[str, str]]:
    """A snapshot is what an open starts from, outside the hash chain: each must be exactly
    the log as its events give it at the snapshot's version, or an edited snapshot would
    change what the peer believes while every event still verifies. A snapshot written
    before the group state kept member data is no open's start (``EarlierSnapshot``): it
    must only read as a row."""
    try:
        snapshots = store.stored_snapshots(originator)
    except ValueError as error:
        return [("snapshot_decodes", str(error))]
    if events is None:
        return []
    broken: list[tuple[str, str]] = []
    replayed: Any = None
    applied = 0
    for snapshot in sorted(snapshots, key=lambda snapshot: snapshot.originator_version):
        version = snapshot.originator_version
        if version > len(events):
            broken.append(("snapshot_matches_log", f"a snapshot of version {version}, past the log's last event"))
            continue
        try:
            replayed = project_log(replayed, events[applied:version])
        except Exception as error:  # rows out of order, or not this log's: the chain findings say which
            return broken + [("snapshot_matches_log", f"the log does not replay to its snapshot of version {version}: {error}")]
        applied = version
        try:
            opened = snapshot.mutate(None)
        except EarlierSnapshot:
            continue  # no open starts from it: what it says changes nothing, and it was read as a row above
        if _attributes(opened) != _attributes(replayed):
            broken.append(("snapshot_matches_log", f"the snapshot of version {version} is not the log its events give"))
    return broken


def _attributes(log: Any) -> dict[str, Any]:
    """What a log holds, less what only this process keeps about it and what a snapshot
    leaves out (the accepted envelopes, which the events hold)."""
    return {name: value for name, value in vars(log).items() if name not in ("_pending_events", "snapshot_version", "accepted")}


def verify_replica(identity: str, group: str, events: list[ReplicaEvent]) -> tuple[int, list[Finding]]:
    """How many envelopes the log holds, and what in it fails judgement again."""
    state = GroupState(group)
    accepted: list[tuple[Envelope, bytes]] = []
    """What the log accepted so far, which a fork's verdict folds again."""
    findings: list[Finding] = []
    judged = 0
    peer_time_offset = timedelta(0)
    """The replica's peer time less its machine's clock, as the log has it so far: what an
    envelope waiting for its time was held against."""

    def found(envelope: Envelope | None, rule: str, message: str) -> None:
        findings.append(Finding(
            identity, group, envelope.author if envelope else None, envelope.seq if envelope else None, rule, message,
        ))

    for event in events:
        match event:
            case ReplicaCreated() | ReplicaJoined():
                state, accepted, peer_time_offset = GroupState(group), [], timedelta(0)
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
                if envelope_id in state.voided and not _voided_by(state, state.voided[envelope_id], envelope):
                    found(envelope, "voiding_holds", "the log says a concurrent credential voids this envelope, but none does")
                state = apply_envelope(state, envelope, envelope_id)
                accepted.append((envelope, envelope_id))
            case EnvelopeRefused(envelope, envelope_id, _, rule, _, _, _):
                judged += 1
                try:
                    admission.admit(state, envelope)
                except admission.Refused:
                    continue
                found(envelope, "refusal_holds", f"the log says {rule} refused this envelope, but it passes every rule")
            case EnvelopeHeld(envelope, envelope_id, _, _, rule, _, at):
                judged += 1
                try:
                    admission.admit(state, envelope)
                    admission.time_reached(envelope, at + peer_time_offset)
                except admission.Refused as refusal:
                    if not cutting.waits(refusal.rule, state, envelope):
                        found(envelope, "hold_holds", f"the log says it waits for {rule}, but {refusal.rule} refuses it for good")
                    continue
                found(envelope, "hold_holds", f"the log says it waits for {rule}, but it passes every rule")
            case PeerTimeAdjusted(microseconds, _, _):
                peer_time_offset = timedelta(microseconds=microseconds)
            case ActionsVoided(credential, ids, _):
                taken = {envelope_id: envelope for envelope, envelope_id in accepted}
                if credential not in state.places or any(
                    envelope_id in taken and not _voided_by(state, credential, taken[envelope_id]) for envelope_id in ids
                ):
                    found(None, "voiding_holds", f"the log says credential {credential.hex()} voids envelopes it does not")
                    continue
                state = group_after(state, event, accepted)
            case ForkDetected(first, first_id, second, second_id, _, _, _):
                if not _is_evidence(state, first, first_id, second, second_id):
                    found(second, "fork_holds", "the log says this envelope and another fork their author's chain, but they do not")
                    continue
                found(second, "author_forked", f"{second.author} signed two envelopes at {second.seq}: {first_id.hex()} and {second_id.hex()}")
                state = group_after_fork(state, second.author, second.seq, accepted)
            case RefusalsCounted(sender, _, rules, kept, cut_off, _):
                counted = {count.rule: count.count for count in rules}
                if min(counted.values(), default=0) < 1 or kept > sum(counted.values()) or (cut_off is not None and cut_off not in counted):
                    found(None, "refusals_add_up", f"the refusals counted of a batch {sender} sent do not add up")
    return judged, findings


def _voided_by(state: GroupState, fingerprint: bytes, envelope: Envelope) -> bool:
    """Whether the credential ``fingerprint``, delivered or issued by an envelope without
    effect, voids ``envelope`` (``domain.authority``)."""
    return any(
        credential.fingerprint == fingerprint and authority.voids(state, credential, envelope)
        for credential in authority.issued_to(state, envelope.author)
    )


def _is_evidence(state: GroupState, first: Envelope, first_id: bytes, second: Envelope, second_id: bytes) -> bool:
    """Whether two envelopes are evidence of a fork: one place in one author's chain, two
    ids, the ones they have, both signed by the author under a credential of the group."""
    if (first.author, first.seq) != (second.author, second.seq) or first_id == second_id:
        return False
    if (admission.envelope_id(first), admission.envelope_id(second)) != (first_id, second_id):
        return False
    try:
        admission.signed_by_author(state, first)
        admission.signed_by_author(state, second)
    except admission.Refused:
        return False
    return True


def stores_under(location: Path | str) -> Iterator[Path | str]:
    """The stores at ``location``: the directory itself when it holds a store, else every
    store below it (``peerstate replay --store DIR`` keeps one per peer); a store's own
    SQLite file stands for its directory, and any other file is ``NotAStore``; for a
    PostgreSQL URL, its schema and every schema named after it; ``env:`` is the one store
    the environment describes."""
    if location == FROM_ENVIRONMENT:
        yield location
        return
    if is_postgres(location):
        yield from postgres_stores(str(location))
        return
    path = Path(location)
    if path.is_file():
        if path.name != SQLITE_FILE:
            raise NotAStore(f"a store is a directory holding {SQLITE_FILE}, or that file")
        yield path.parent
        return
    if (path / SQLITE_FILE).is_file():
        yield path
        return
    for found in sorted(path.rglob(SQLITE_FILE)):
        yield found.parent
