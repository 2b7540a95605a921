"""One batch of envelopes judged on a replica log, as a sync receives it and a database
file is imported: each envelope accepted, held to wait, kept as a fork's evidence or
refused, on the state the one before it left."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

import attrs

from peerstate import wire
from peerstate.domain import authority
from peerstate.domain.group_events import (
    ActionsVoided,
    Envelope,
    EnvelopeAccepted,
    EnvelopeHeld,
    EnvelopeRefused,
    ForkDetected,
    RefusalsCounted,
    ReplicaEvent,
    RuleCount,
)
from peerstate.domain.group_state import GroupState
from peerstate.domain.replica import fork_point, is_held, kept_whole, room_to_hold
from peerstate.errors import PeerError
from peerstate.storage.logs import ReplicaLog
from peerstate.sync import admission, cutting
from peerstate.sync.port import Neighbor


class Judging:
    """One batch judged on a replica log, recording each envelope's verdict as it goes, so
    that the next is judged on the state this one left.

    An envelope is accepted (``EnvelopeAccepted``); or waits, when the rule that refused it
    may yet be satisfied by data to come (``cutting.waits``), held whole (``EnvelopeHeld``)
    while there is room (``room_to_hold``) and dropped otherwise, to come again; or is
    refused. A refusal for a place in its author's chain already taken, by an envelope its
    author signed, is evidence of a fork instead (``_fork``). A refusal is kept whole while
    the sender has few (``kept_whole``); every
    refusal of the batch is counted in one ``RefusalsCounted``, so that what a member sends
    to be refused costs this log that event, not its bytes. A refusal that cuts the sender
    off (``sync.cutting``) ends the judging. Each acceptance judges again, in (author,
    sequence number) order, what waits for it (``cutting.wakes``): a waiting envelope then
    accepted is recorded as if it had just arrived, one refused for good is kept whole and
    counted against whoever sent it."""

    def __init__(
        self, log: ReplicaLog, sender: Neighbor, now: datetime, peer_now: datetime,
        read_accepted: Callable[[ReplicaLog], list[Envelope]],
    ) -> None:
        self.log = log
        self.read_accepted = read_accepted
        """How the log's accepted envelopes are read from the store when it was opened from
        a snapshot: only when a fork is to be told, which folds them again."""
        self.sender = sender
        self.now = now
        self.peer_now = peer_now
        """The replica's peer time: an envelope dated past it waits (``envelope_time_reached``)."""
        self.accepted: list[EnvelopeAccepted] = []
        self.cut_off: PeerError | None = None
        self.waiting: list[bytes] = []
        """The ids of the batch's envelopes that wait for data, held or dropped: not those
        that wait for their time, which no neighbour holds."""
        self.refused: Counter[str] = Counter()
        self.kept = 0
        self.late: dict[Neighbor, Counter[str]] = {}
        """Waiting envelopes refused for good once judged again, by rule, per who sent them."""
        self.not_taken: list[tuple[Envelope, str]] = []
        """The batch's envelopes that wait or were refused, each with the rule that stopped
        it, in the batch's order: what a database file, taken whole, may not hold."""

    def judge(self, batch: Sequence[Envelope]) -> None:
        """Judge again the waiting envelopes whose time has come, then each envelope of
        ``batch`` in turn, up to a refusal that cuts its sender off."""
        log, sender = self.log, self.sender
        self._judge_what_is_due()
        for envelope in batch:
            envelope_id = admission.envelope_id(envelope)
            if envelope_id in log.known:
                continue
            held = next((held for held in log.state.held if held.id == envelope_id), None)
            if held is not None:
                if held.rule != cutting.WAITS_FOR_TIME:
                    self.waiting.append(envelope_id)
                self.not_taken.append((envelope, held.rule))
                continue
            group = log.state.group
            try:
                admission.admit(group, envelope)
                admission.time_reached(envelope, self.peer_now)
            except admission.Refused as refusal:
                if cutting.waits(refusal.rule, group, envelope):
                    self._hold(envelope, envelope_id, refusal.rule)
                    continue
                if self._fork(refusal, envelope, envelope_id, sender):
                    continue
                self.not_taken.append((envelope, refusal.rule))
                if kept_whole(log.state, sender.identity, self.refused.total()):
                    error = refusal.error
                    log.record(EnvelopeRefused(envelope, envelope_id, str(sender), refusal.rule, error.name, error.message, self.now))
                    self.kept += 1
                self.refused[refusal.rule] += 1
                if cutting.cuts_off(refusal.error):
                    self.cut_off = refusal.error
                    return
            else:
                self._accept(envelope, envelope_id, sender)

    def _fork(self, refusal: admission.Refused, envelope: Envelope, envelope_id: bytes, sender: Neighbor) -> bool:
        """Whether ``envelope``, which ``sender`` sent and ``refusal`` refused, is the second
        branch of a fork: refused for its place in its author's chain, where another
        envelope was accepted, and its author signed this one too. Then both are kept as
        evidence (``ForkDetected``), unless the author has already been seen to fork at or
        before that place; the fold gives the verdict (``domain.forks``), and the author's
        envelopes waiting past the fork are judged again, to be refused for good."""
        if refusal.rule != "author_chain_continues":
            return False
        point = fork_point(self.log.state, envelope.author)
        if point is not None and point <= envelope.seq:
            return False
        place = (envelope.author, envelope.seq)
        if self.log.accepted is None:
            self.log.accepted = self.read_accepted(self.log)
        first = next((taken for taken in self.log.accepted if (taken.author, taken.seq) == place), None)
        if first is None:
            return False
        try:
            admission.signed_by_author(self.log.state.group, envelope)
        except admission.Refused:
            return False
        self.log.record(ForkDetected(first, admission.envelope_id(first), envelope, envelope_id, sender.identity, sender.address, self.now))
        for held in [held for held in self.log.state.held if held.envelope.author == envelope.author]:
            self._judge_again(held)
        return True

    def _hold(self, envelope: Envelope, envelope_id: bytes, rule: str) -> None:
        """Hold ``envelope``, which waits for what ``rule`` lacks, if there is room; either
        way, what this batch offered still waits."""
        size = len(wire.canonical(envelope))
        if room_to_hold(self.log.state, envelope, size, self.sender.identity, self.refused.total()):
            self.log.record(EnvelopeHeld(envelope, envelope_id, self.sender.identity, self.sender.address, rule, size, self.now))
        if rule != cutting.WAITS_FOR_TIME:
            self.waiting.append(envelope_id)
        self.not_taken.append((envelope, rule))

    def _accept(self, envelope: Envelope, envelope_id: bytes, sender: Neighbor) -> None:
        """Accept ``envelope``, then judge again what it, and each acceptance that follows
        from it, wakes."""
        before = self.log.state.group
        self._take(envelope, envelope_id, str(sender))
        self._wake(envelope, before)

    def _take(self, envelope: Envelope, envelope_id: bytes, source: str) -> None:
        """Record ``envelope``, which passed every rule, as taken: first as without effect
        when a credential of its author's, delivered concurrently, voids it; then, for a
        credential it delivers, what that voids of what was taken before it
        (``domain.authority``). Either way it is in its author's chain."""
        voiding = authority.voiding_credential(self.log.state.group, envelope)
        if voiding is not None:
            self.log.record(ActionsVoided(voiding, (envelope_id,), self.now))
        self.accepted.append(EnvelopeAccepted(envelope, envelope_id, source, self.now))
        self.log.record(self.accepted[-1])
        delivered = authority.delivered_by(envelope)
        group = self.log.state.group
        if delivered is None or not authority.unseen_by(group, delivered):
            return
        if self.log.accepted is None:
            self.log.accepted = self.read_accepted(self.log)
        theirs = [(taken, admission.envelope_id(taken)) for taken in self.log.accepted if taken.author == delivered.subject]
        voided = authority.voided_by(group, delivered, theirs)
        if voided:
            self.log.record(ActionsVoided(delivered.fingerprint, voided, self.now))

    def _judge_what_is_due(self) -> None:
        """Judge again each envelope that waits for its time, once that time has come, and
        what each one accepted then wakes."""
        for held in [held for held in self.log.state.held if held.rule == cutting.WAITS_FOR_TIME]:
            try:
                admission.time_reached(held.envelope, self.peer_now)
            except admission.Refused:
                continue
            before = self._judge_again(held)
            if before is not None:
                self._wake(held.envelope, before)

    def _wake(self, envelope: Envelope, before: GroupState) -> None:
        """Judge again what accepting ``envelope``, which took the group from ``before``,
        wakes, and what each acceptance that follows from it wakes in turn."""
        woken: list[tuple[Envelope, GroupState]] = [(envelope, before)]
        while woken:
            done, before = woken.pop(0)  # in the order they were accepted
            after = self.log.state.group
            for held in [held for held in self.log.state.held if cutting.wakes(held.envelope, done, before, after)]:
                group = self._judge_again(held)
                if group is not None:
                    woken.append((held.envelope, group))

    def _judge_again(self, held: EnvelopeHeld) -> GroupState | None:
        """Judge a waiting envelope again: accepted (the group state it was accepted on is
        given back, to judge again what it wakes), kept as a fork's evidence, refused for
        good, or still waiting; nothing when its wait already ended in this judging."""
        if not is_held(self.log.state, held.id):
            return None
        group = self.log.state.group
        source = Neighbor(held.address, held.sender)
        try:
            admission.admit(group, held.envelope)
            admission.time_reached(held.envelope, self.peer_now)
        except admission.Refused as refusal:
            if cutting.waits(refusal.rule, group, held.envelope):
                if refusal.rule == cutting.WAITS_FOR_TIME != held.rule:  # its data came, its time has not
                    self.log.record(attrs.evolve(held, rule=refusal.rule, at=self.now))
            elif not self._fork(refusal, held.envelope, held.id, source):
                self._refuse_late(held, refusal)
            return None
        self._take(held.envelope, held.id, str(source))
        return group

    def _refuse_late(self, held: EnvelopeHeld, refusal: admission.Refused) -> None:
        """Refuse for good a waiting envelope judged again: kept whole (its sender had room
        for it when it was held), and counted against that sender, not this batch's."""
        source = Neighbor(held.address, held.sender)
        error = refusal.error
        self.log.record(EnvelopeRefused(held.envelope, held.id, str(source), refusal.rule, error.name, error.message, self.now))
        self.late.setdefault(source, Counter())[refusal.rule] += 1

    def counted(self) -> list[ReplicaEvent]:
        """The refusals counted: the batch's, then those of the waiting envelopes refused
        for good, one ``RefusalsCounted`` per sender (all kept whole: ``room_to_hold``)."""
        counts: list[ReplicaEvent] = []
        if self.refused:
            counts.append(RefusalsCounted(
                self.sender.identity, self.sender.address, _rule_counts(self.refused), self.kept,
                None if self.cut_off is None else self.cut_off.rule, self.now,
            ))
        for source, refused in sorted(self.late.items(), key=lambda item: (item[0].identity, item[0].address)):
            counts.append(RefusalsCounted(source.identity, source.address, _rule_counts(refused), refused.total(), None, self.now))
        return counts


def _rule_counts(refused: Counter[str]) -> tuple[RuleCount, ...]:
    """Refusals by rule, in the rules' order, as a ``RefusalsCounted`` holds them."""
    return tuple(RuleCount(rule, count) for rule, count in sorted(refused.items()))
