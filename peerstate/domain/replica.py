"""A replica's own state: whose it is, whether it is synchronized, what it refused and from whom.

The phases are explicit, so every "not ready" comes from a state a reader can name:
``joined`` (an invitation was accepted locally, nothing synchronized yet), ``synchronized``
(the group database is here: the creator from the start, a joiner after its first sync),
``deleted`` (``PeerGroupDelete``; a new join starts the replica over).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from collections.abc import Mapping, Sequence
from typing import Final, Literal, TypeAlias

import attrs

from peerstate.bounds import MAX_HELD, MAX_HELD_BYTES, MAX_HELD_PER_AUTHOR, MAX_KEPT_REFUSALS, MAX_THROTTLED_GUESSERS
from peerstate.domain.group_events import (
    ActionsVoided,
    CredentialIssued,
    Envelope,
    EnvelopeAccepted,
    EnvelopeHeld,
    EnvelopeRefused,
    ForkDetected,
    JoinRefused,
    PasswordTicket,
    PeerTimeAdjusted,
    RefusalsCounted,
    ReplicaClosed,
    ReplicaConnected,
    ReplicaCreated,
    ReplicaDeleted,
    ReplicaEvent,
    ReplicaJoined,
    ReplicaSynchronized,
)
from peerstate.domain.group_state import GroupState, apply_envelopes, with_voided
from peerstate.domain.peer_time import held_offset
from peerstate.domain.values import evolved

Phase: TypeAlias = Literal["new", "joined", "synchronized", "deleted"]
WRONG_PASSWORD_RULE: Final = "password_proof_matches"
"""The registered name of ``rules.password_proof_matches``, the rule a wrong group password
fails at authentication, as a ``JoinRefused`` stores it (rules imports this module, so the
name is written here; a test holds it to the registry)."""


@attrs.frozen
class Guesses:
    """Wrong passwords in a row, and when the last one came: what the throttle reads."""

    count: int = 0
    last: datetime | None = None

    def after(self, at: datetime) -> Guesses:
        return Guesses(self.count + 1, at)


@attrs.frozen
class Guesser:
    """One joiner's, or one address's, wrong passwords (``WrongPasswords``)."""

    name: str
    guesses: Guesses


@attrs.frozen
class WrongPasswords:
    """The throttle's counters at one replica (``rules.password_guess_allowed``): wrong
    passwords per joiner, per address joiners connected from, and in the group, since the
    last success. Counters, not a log: they are kept outside the replica's log
    (``PeerStore.wrong_passwords``) and replaced at each wrong password, so no run of
    guesses grows the store. At most ``MAX_THROTTLED_GUESSERS`` joiners and as many
    addresses, the one whose last wrong password is oldest forgotten past that."""

    joiners: tuple[Guesser, ...] = ()
    addresses: tuple[Guesser, ...] = ()
    group: Guesses = Guesses()

    def of_joiner(self, joiner: str) -> Guesses:
        return _of(self.joiners, joiner)

    def of_address(self, address: str) -> Guesses:
        return _of(self.addresses, address)

    def after(self, joiner: str, address: str, at: datetime) -> WrongPasswords:
        """The counters after one more wrong password by ``joiner`` from ``address``."""
        return WrongPasswords(
            _guessers(_counted(_as_map(self.joiners), joiner, at)),
            _guessers(_counted(_as_map(self.addresses), address, at)),
            self.group.after(at),
        )

    def forgiving(self, joiner: str) -> WrongPasswords:
        """The counters after ``joiner`` gave the right password: it and the group start
        again; its address does not, so a guesser cannot clear an address by joining."""
        return WrongPasswords(tuple(guesser for guesser in self.joiners if guesser.name != joiner), self.addresses)


def counted_before(state: ReplicaState) -> WrongPasswords:
    """The counters a replica log written before they left it holds (``JoinRefused``, folded
    into ``ReplicaState.wrong_passwords``): where a replica starts counting from."""
    return WrongPasswords(_guessers(state.wrong_passwords), _guessers(state.wrong_passwords_from), state.wrong_passwords_in_group)


def _of(guessers: tuple[Guesser, ...], name: str) -> Guesses:
    return next((guesser.guesses for guesser in guessers if guesser.name == name), Guesses())


def _as_map(guessers: tuple[Guesser, ...]) -> dict[str, Guesses]:
    return {guesser.name: guesser.guesses for guesser in guessers}


def _guessers(guesses: Mapping[str, Guesses]) -> tuple[Guesser, ...]:
    return tuple(Guesser(name, counted) for name, counted in sorted(guesses.items()))


@attrs.frozen
class GuessStarted:
    """A password joiner's guess under way: its hello was answered, its proof has not come
    yet. Kept in memory only (``sync_start_guess``), so that parallel conversations count
    every guess they start."""

    joiner: str
    address: str
    at: datetime


@attrs.frozen
class SenderRefusals:
    """What one sender (the identity it authenticated as) had refused here: how many of the
    envelopes it sent, and how many times a refusal cut it off (``sync.cutting``)."""

    refused: int = 0
    cut_off: int = 0


@attrs.frozen(slots=False)
class ReplicaState:
    """One identity's replica of one group on this peer."""

    group: GroupState
    identity: str = ""
    phase: Phase = "new"
    cloud: str = ""
    group_friendly_name: str = ""
    root_key: bytes | None = None
    root_key_sealed: bool = False
    ticket: PasswordTicket | None = None
    chain: tuple[bytes, ...] = ()
    """A credential joiner's GMC chain, held until it takes the credential up."""
    refused: int = 0
    """Envelopes refused, kept whole or only counted."""
    wrong_passwords: Mapping[str, Guesses] = attrs.field(factory=dict)
    """Per password joiner, its wrong passwords since its last success, as this replica
    (an authenticating member) refused them."""
    wrong_passwords_in_group: Guesses = Guesses()
    """Every joiner's wrong passwords at this replica since the last success."""
    wrong_passwords_from: Mapping[str, Guesses] = attrs.field(factory=dict)
    """Per address joiners connected from, their wrong passwords, as this replica refused
    them: what a guesser that changes its identity at each guess does not escape. At most
    ``MAX_THROTTLED_GUESSERS``, as ``wrong_passwords``."""
    peer_time_offset: timedelta = timedelta(0)
    """The group's peer time less this machine's clock: zero for the creator, whose clock
    starts it; adopted and then averaged at each sync for the others. Never past
    ``MAX_PEER_TIME_OFFSET_SECONDS`` (``domain.peer_time.held_offset``), whatever a store
    written before held."""
    sender_refusals: Mapping[str, SenderRefusals] = attrs.field(factory=dict)
    """Per sender, its refusals since the replica began (``RefusalsCounted``): what bounds
    the refusals kept whole (``kept_whole``). A log written before they were counted
    counts from its first ``RefusalsCounted``."""
    held: tuple[EnvelopeHeld, ...] = ()
    """The envelopes that wait for data this replica lacks (``EnvelopeHeld``), in (author,
    sequence number) order, the order they are judged again in. Two at one place in an
    author's chain (the branches of a fork) both wait: once one is accepted, the other is
    the evidence (``ForkDetected``). Within ``MAX_HELD_PER_AUTHOR``, ``MAX_HELD`` and ``MAX_HELD_BYTES``."""
    forks: tuple[ForkDetected, ...] = ()
    """The evidence of each fork this replica has seen (``ForkDetected``), in the order it
    saw them: what it serves every neighbour, so that the evidence travels. At most one per
    author and place, and none at or past a place where the author already forked
    (``fork_point``)."""

    @property
    def present(self) -> bool:
        """Whether the replica exists on this peer (created or joined, not deleted)."""
        return self.phase in ("joined", "synchronized")

    @property
    def synchronized(self) -> bool:
        return self.phase == "synchronized"

    @property
    def friendly_name(self) -> str:
        """The group's friendly name: from the properties once known, else the invitation's."""
        properties = self.group.properties
        return properties.friendly_name if properties is not None else self.group_friendly_name


def new_replica(group_peer_name: str) -> ReplicaState:
    return ReplicaState(GroupState(group_peer_name))


def evolve_replica(state: ReplicaState, event: ReplicaEvent) -> ReplicaState:
    """The replica after ``event``."""
    match event:
        case ReplicaCreated(group, identity, cloud, root_key, sealed, _):
            return ReplicaState(
                GroupState(group), identity, "synchronized", cloud, root_key=root_key,
                root_key_sealed=sealed,
            )
        case ReplicaJoined(group, identity, cloud, friendly_name, ticket, chain, root_key, sealed, _):
            return ReplicaState(
                GroupState(group), identity, "joined", cloud, friendly_name, root_key, sealed, ticket, chain,
            )
        case EnvelopeAccepted():
            return accept_envelopes(state, (event,))
        case JoinRefused(joiner, rule, _, _, at, address) if rule == WRONG_PASSWORD_RULE:
            return evolved(
                state, wrong_passwords=_counted(state.wrong_passwords, joiner, at),
                wrong_passwords_from=state.wrong_passwords_from if address is None else _counted(state.wrong_passwords_from, address, at),
                wrong_passwords_in_group=state.wrong_passwords_in_group.after(at),
            )
        case EnvelopeRefused(_, envelope_id):
            return evolved(state, refused=state.refused + 1, held=_released(state.held, {envelope_id}))
        case ActionsVoided(credential, ids, _):
            return evolved(state, group=with_voided(state.group, credential, ids))
        case ForkDetected(_, _, _, second_id):
            return evolved(state, forks=(*state.forks, event), held=_released(state.held, {second_id}))
        case EnvelopeHeld(_, envelope_id):  # one held again replaces its wait: its data came, its time has not
            waiting = (*_released(state.held, {envelope_id}), event)
            return evolved(state, held=tuple(sorted(waiting, key=lambda held: (held.envelope.author, held.envelope.seq))))
        case RefusalsCounted(sender, _, rules, kept, cut_off, _):
            refused = sum(count.count for count in rules)
            earlier = state.sender_refusals.get(sender, SenderRefusals())
            tally = SenderRefusals(earlier.refused + refused, earlier.cut_off + (cut_off is not None))
            return evolved(state, refused=state.refused + refused - kept, sender_refusals={**state.sender_refusals, sender: tally})
        case PeerTimeAdjusted(offset, _, _):
            return evolved(state, peer_time_offset=held_offset(offset))
        case ReplicaSynchronized():
            return evolved(state, phase="synchronized", ticket=None, chain=())
        case ReplicaDeleted():
            return evolved(state, phase="deleted", ticket=None, chain=(), held=(), forks=())
        case JoinRefused() | ReplicaConnected() | ReplicaClosed():
            return state


def _counted(guesses: Mapping[str, Guesses], guesser: str, at: datetime) -> Mapping[str, Guesses]:
    """``guesses`` with one more wrong password by ``guesser`` (a joiner, or an address) at
    ``at``; past ``MAX_THROTTLED_GUESSERS``, the one whose last wrong password is oldest is
    forgotten."""
    counted = {**guesses, guesser: guesses.get(guesser, Guesses()).after(at)}
    if len(counted) > MAX_THROTTLED_GUESSERS:
        del counted[min(counted, key=lambda name: (counted[name].last or at, name))]
    return counted


def accept_envelopes(state: ReplicaState, accepted: Sequence[EnvelopeAccepted]) -> ReplicaState:
    """The replica after a run of accepted envelopes: what evolving it by each in turn
    gives, with one new group state for the run (``apply_envelopes``)."""
    state = evolved(state, group=apply_envelopes(state.group, ((event.envelope, event.id) for event in accepted)))
    if state.held:
        state = evolved(state, held=_released(state.held, {event.id for event in accepted}))
    forgiven = {  # a password joiner's credential, issued here, forgives its wrong guesses
        payload.credential.subject for event in accepted
        if event.source == "local" and isinstance(payload := event.envelope.payload, CredentialIssued) and payload.delivery == "password"
    }
    if not forgiven:
        return state
    kept = {name: guesses for name, guesses in state.wrong_passwords.items() if name not in forgiven}
    return evolved(state, wrong_passwords=kept, wrong_passwords_in_group=Guesses())


def kept_whole(state: ReplicaState, sender: str, refused_in_batch: int) -> bool:
    """Whether ``sender``'s next refusal is kept whole (an ``EnvelopeRefused``), when the
    batch being judged had ``refused_in_batch`` of its envelopes refused already: a sender's
    first ``MAX_KEPT_REFUSALS`` are, for the audit; the rest are only counted, so that no
    member can grow this replica's log by sending what it refuses."""
    return state.sender_refusals.get(sender, SenderRefusals()).refused + refused_in_batch < MAX_KEPT_REFUSALS


def _released(held: tuple[EnvelopeHeld, ...], ids: set[bytes]) -> tuple[EnvelopeHeld, ...]:
    """``held`` without the envelopes of ``ids``: their wait is over."""
    return tuple(waiting for waiting in held if waiting.id not in ids) if held else held


def fork_point(state: ReplicaState, author: str) -> int | None:
    """The lowest sequence number at which this replica has seen ``author`` fork its chain,
    if it has: a second fork of the author's at that place or later adds no evidence, and is
    not kept."""
    return min((fork.first.seq for fork in state.forks if fork.first.author == author), default=None)


def is_held(state: ReplicaState, envelope_id: bytes) -> bool:
    """Whether the envelope of ``envelope_id`` waits here."""
    return any(held.id == envelope_id for held in state.held)


def room_to_hold(state: ReplicaState, envelope: Envelope, size: int, sender: str, refused_in_batch: int) -> bool:
    """Whether ``envelope``, of ``size`` encoded bytes, may wait here: the pool is within its
    bounds once it is in, and its sender is still under its bound of refusals kept whole (``kept_whole``), since a waiting
    envelope is kept whole and may yet be refused: a member that has sent its share of
    refusals gets no more of its envelopes kept, waiting or refused. An envelope without
    room is dropped, to come again."""
    authors = sum(held.envelope.author == envelope.author for held in state.held)
    return (
        authors < MAX_HELD_PER_AUTHOR and len(state.held) < MAX_HELD
        and sum(held.size for held in state.held) + size <= MAX_HELD_BYTES
        and kept_whole(state, sender, refused_in_batch)
    )
