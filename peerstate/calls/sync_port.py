"""``PeerPort``: a peer as the sync conversation and the network reach it (``SyncPort``).

It does what no caller of the public API may: sign with an identity's key, hand out the
group's password verifier, store envelopes received from another peer, issue a password
joiner its credential. So it is not ``Peer``'s namespace: ``peer.sync_port(peer)`` gives it
to the network. Its methods run as ``Peer``'s calls do (``reading``, ``writing``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from peerstate import crypto, wire
from peerstate.bounds import MAX_BATCH_ENVELOPES, MAX_GUESS_SECONDS
from peerstate.calls import envelopes, events, records
from peerstate.calls.judging import Judging
from peerstate.calls.runtime import GroupDecision, Runtime, reading, writing
from peerstate.calls.sessions import GroupEvent, GroupHandle
from peerstate.sync.port import Neighbor, Received, ReplicaKey
from peerstate.constants import PeerConnectionStatus, PeerGroupEventType, PeerGroupPropertyFlags
from peerstate.crypto import credentials
from peerstate.domain import rules
from peerstate.domain.group_events import (
    CredentialIssued,
    CredentialTaken,
    Envelope,
    EnvelopeAccepted,
    MembershipPublished,
    PeerTimeAdjusted,
    PresencePublished,
    RecordPublished,
    ReplicaSynchronized,
    SharedEvent,
)
from peerstate.domain.group_state import member_data_due
from peerstate.domain.peer_time import adjusted_offset
from peerstate.domain.presence import presence_due
from peerstate.domain.records import refresh_due, refreshed_expiration
from peerstate.domain.replica import GuessStarted, WrongPasswords, counted_before
from peerstate.errors import PeerError
from peerstate.bulk import young_collections_only
from peerstate.storage.logs import ReplicaLog


class PeerPort:
    """One peer as sync reaches it, over the peer's ``Runtime``."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._guesses: dict[ReplicaKey, tuple[GuessStarted, ...]] = {}
        """Per replica, the password guesses under way (``sync_start_guess``): in memory,
        since a guess that never reaches its proof proves nothing worth a log entry."""

    # What the conversation reads ---------------------------------------------------------------

    @reading
    def sync_now(self) -> datetime:
        return self._runtime.clock()

    @reading
    def sync_address(self) -> str:
        """This machine's address, as ``PeerGroupConnectByAddress`` names it."""
        return self._runtime.settings.address

    @reading
    def sync_refuses_old_password_proofs(self) -> bool:
        """Whether this peer checks no password of a group made before the password exchange
        (``PeerSettings.refuse_old_password_proofs``)."""
        return self._runtime.settings.refuse_old_password_proofs

    @reading
    def sync_replicas_of(self, group: str) -> list[ReplicaKey]:
        """This peer's synchronized replicas of ``group``, one per identity that has it."""
        runtime = self._runtime
        return [
            (record.peer_name, group) for record in runtime.state.identities.values()
            if record.live and group in record.groups and runtime.replica(record.peer_name, group).state.synchronized
        ]

    @reading
    def sync_handles(self) -> list[tuple[str, GroupHandle]]:
        """The open handles of this process."""
        return list(self._runtime.sessions.handles())

    @reading
    def sync_listening(self, key: ReplicaKey) -> bool:
        return events.listening(self._runtime, key)

    @reading
    def sync_replica(self, key: ReplicaKey) -> ReplicaLog:
        return self._runtime.replica(*key)

    @reading
    def sync_card(self, identity: str) -> bytes:
        """The identity's IDC: who it says it is, and its public key."""
        return rules.identity_is_live(self._runtime.state, identity).certificate

    @reading
    def sync_sign(self, identity: str, data: bytes) -> bytes:
        runtime = self._runtime
        return credentials.sign(runtime.identity_key(rules.identity_is_live(runtime.state, identity)), data)

    @reading
    def sync_chain(self, key: ReplicaKey) -> tuple[bytes, ...]:
        """The identity's credential chain in the group now: its credential in force, else the
        one its credential invitation gave it, else () (a password joiner)."""
        state = self._runtime.replica(*key).state
        credential = state.group.credential_of(key[0], self._runtime.clock())
        return envelopes.chain(state.group, credential) if credential is not None else state.chain

    @reading
    def sync_ticket(self, key: ReplicaKey) -> bytes | None:
        """The password verifier a password joiner keeps until its first sync: outside the
        log (``PeerStore.ticket``), or, for a join stored before that, in its ``ReplicaJoined``."""
        state = self._runtime.replica(*key).state
        if state.phase != "joined" or state.chain:
            return None
        ticket = state.ticket or self._runtime.store.ticket(*key)
        return None if ticket is None else self._runtime.keys.take(key[1], ticket.verifier, ticket.sealed)

    @reading
    def sync_missing(self, key: ReplicaKey, heads: Mapping[str, int], budget: int) -> tuple[tuple[Envelope, ...], bool]:
        """What this replica has that one whose chains stand at ``heads`` lacks, in an order
        where each envelope's dependencies come first: as many as fit in ``budget`` encoded
        bytes (one at least) and ``MAX_BATCH_ENVELOPES``, and whether that is all of them.
        The last batch ends with the evidence of each fork this replica knows, as much as
        fits: both envelopes of the fork's place, which the heads, comparing sequence
        numbers only, never show missing; a neighbour that holds both skips them."""
        missing = [envelope for envelope in envelopes.accepted(self._runtime, key) if envelope.seq > heads.get(envelope.author, 0)]
        sent: list[Envelope] = []
        with young_collections_only():  # each envelope's tree is made here, a great many containers
            for envelope in missing:
                budget -= len(wire.canonical(envelope))
                if sent and (budget < 0 or len(sent) == MAX_BATCH_ENVELOPES):
                    return tuple(sent), False
                sent.append(envelope)
            for fork in self._runtime.replica(*key).state.forks:
                budget -= len(wire.canonical(fork.first)) + len(wire.canonical(fork.second))
                if budget < 0 or len(sent) + 2 > MAX_BATCH_ENVELOPES:
                    break
                sent.extend((fork.first, fork.second))
        return tuple(sent), True

    @reading
    def sync_at(self, key: ReplicaKey, places: Mapping[str, int], budget: int) -> tuple[Envelope, ...]:
        """This replica's envelope at each place ``places`` names (an author's sequence
        number) where it holds one, in its order of acceptance: as many as fit in ``budget``
        encoded bytes and ``MAX_BATCH_ENVELOPES``. What a neighbour whose chains stand there
        compares with its own, to find a fork that sequence numbers hide."""
        at = [envelope for envelope in envelopes.accepted(self._runtime, key) if places.get(envelope.author, 0) == envelope.seq]
        with young_collections_only():
            for count, envelope in enumerate(at):
                budget -= len(wire.canonical(envelope))
                if budget < 0 or count == MAX_BATCH_ENVELOPES:
                    return tuple(at[:count])
        return tuple(at)

    @reading
    def sync_peer_time_now(self, key: ReplicaKey) -> datetime:
        return events.peer_now(self._runtime, key)

    @reading
    def sync_connections(self, key: ReplicaKey) -> frozenset[Neighbor]:
        return self._runtime.sessions.connections(key)

    # What it stores --------------------------------------------------------------------------

    @writing
    def sync_receive(self, key: ReplicaKey, batch: Sequence[Envelope], sender: Neighbor) -> Received:
        """Judge a batch ``sender`` sent and store it in one transaction: each envelope
        accepted, held to wait, refused or, when already here, skipped (``_judged``). A
        refusal that cuts the sender off (``sync.cutting``) ends the judging: what came
        before it is stored, the rest is not judged, and the result names it, for the
        conversation to end."""
        runtime = self._runtime
        now = runtime.clock()

        def decide(log: ReplicaLog | None) -> GroupDecision[tuple[list[EnvelopeAccepted], PeerError | None, tuple[bytes, ...]]]:
            assert log is not None
            judged = Judging(log, sender, now, events.peer_now(runtime, key), runtime.store.accepted_envelopes)
            judged.judge(batch)
            return judged.counted(), [], (judged.accepted, judged.cut_off, tuple(judged.waiting))

        before = runtime.replica(*key).state.group
        with young_collections_only():  # a batch folded and written makes a great many containers, none in a cycle
            accepted, cut_off, waiting = runtime.execute_group(key, decide)
            events.notify_changes(runtime, key, before, accepted)
        return Received(len(accepted), cut_off, waiting)

    @writing
    def sync_issue_password_credential(self, key: ReplicaKey, joiner_card: bytes) -> None:
        """Authenticate a password joiner: issue it a GMC with the group's password role, valid
        from now to the end of this member's own (``PEER_E_NOT_AUTHORIZED`` when this member may
        not give out that role). A joiner the log already gives a credential valid now (issued
        at an earlier round whose group data did not all arrive yet) gets no second one: it
        finds the first in the data still to come."""
        runtime = self._runtime
        log = runtime.replica(*key)
        now = runtime.clock()
        credential, _, role = rules.may_answer_password_joiner(log.state, key[0], now)
        record = rules.identity_is_live(runtime.state, key[0])
        card = crypto.read_identity_certificate(joiner_card)
        if log.state.group.credential_of(card.peer_name, now) is not None:
            return
        issued = envelopes.as_credential(credentials.issue_membership(
            runtime.identity_key(record), credential.der, group_peer_name=log.group, subject=card.peer_name,
            subject_friendly_name=card.friendly_name, subject_public_key=card.public_key, roles=[role],
            not_before=now, not_after=credential.not_after,
        ), credential)

        def decide(log: ReplicaLog | None) -> GroupDecision[None]:
            assert log is not None
            return [envelopes.write(runtime, log, record, credential.fingerprint, CredentialIssued(issued, "password"), now)], [], None

        runtime.execute_group(key, decide)

    @writing
    def sync_peer_time(self, key: ReplicaKey, remote_peer_time: datetime, source: str, asked_at: datetime) -> None:
        """Take the group's peer time from the member this replica connects to, read when its
        answer arrived to a question sent at ``asked_at`` (this machine's clock): the remote's
        time stands for the middle of that round trip, as NTP reckons, or each sync would count
        the answer's travel as the remote being slow. A replica not yet synchronized adopts
        it, within ``MAX_PEER_TIME_ADOPTED_SECONDS`` of this machine's clock; a synchronized
        one moves a quarter of the way towards it, at most ``MAX_PEER_TIME_STEP_SECONDS``
        (``domain.peer_time.adjusted_offset``): no one member sets this replica's peer time.
        A change under ``PEER_TIME_TOLERANCE`` is not recorded: a sync between agreeing
        clocks writes nothing."""
        runtime = self._runtime
        log = runtime.replica(*key)
        now = runtime.clock()
        microseconds = adjusted_offset(log.state.peer_time_offset, log.state.synchronized, remote_peer_time, asked_at, now)
        if microseconds is not None:
            runtime.execute_group(key, lambda _: ([PeerTimeAdjusted(microseconds, source, now)], [], None))

    @reading
    def sync_start_guess(self, key: ReplicaKey, joiner: str, address: str) -> None:
        """Count a password joiner's guess from its hello, if the throttle lets it be made
        (``rules.password_guess_allowed``, which counts the guesses under way too): so
        parallel conversations count every guess they start. A guess not settled within
        ``MAX_GUESS_SECONDS`` stops counting."""
        now = self._runtime.clock()
        started = tuple(guess for guess in self._guesses.get(key, ()) if now - guess.at < timedelta(seconds=MAX_GUESS_SECONDS))
        rules.password_guess_allowed(self._wrong_passwords(key), joiner, address, now, started)
        self._guesses[key] = (*started, GuessStarted(joiner, address, now))

    @reading
    def sync_settle_guess(self, key: ReplicaKey, joiner: str, address: str, wrong: PeerError | None) -> None:
        """The guess ``joiner`` started from ``address`` is over, once the joiner proved its
        key: a ``wrong`` password is counted, the right one forgives the joiner and the
        group (``WrongPasswords``). The counters are replaced in the store's values, outside
        the log, under the store's turn, so writers in other processes count every guess
        and a run of guesses adds no row."""
        under_way = self._guesses.get(key, ())
        settled = next((index for index, guess in enumerate(under_way) if (guess.joiner, guess.address) == (joiner, address)), None)
        if settled is not None:
            self._guesses[key] = under_way[:settled] + under_way[settled + 1:]
        store = self._runtime.store
        with store.turn():
            counted = self._wrong_passwords(key)
            updated = counted.forgiving(joiner) if wrong is None else counted.after(joiner, address, self._runtime.clock())
            if updated != counted:
                store.keep_wrong_passwords(*key, updated)

    def _wrong_passwords(self, key: ReplicaKey) -> WrongPasswords:
        """The replica's throttle counters: as the store keeps them, or, until it has, as a
        log written before they left it counted them."""
        kept = self._runtime.store.wrong_passwords(*key)
        return kept if kept is not None else counted_before(self._runtime.replica(*key).state)

    @writing
    def sync_first_synchronized(self, key: ReplicaKey, source: str) -> None:
        """The replica has the group database: a credential joiner takes its credential up,
        and once its member holds a credential the replica is ready, publishes its membership
        (unless the group makes member data optional) and its presence."""
        runtime = self._runtime
        log = runtime.replica(*key)
        if log.state.synchronized or not log.state.group.founded:
            return
        now = runtime.clock()
        record = rules.identity_is_live(runtime.state, key[0])
        before = log.state.group
        status = events.status(runtime, key)

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            taken = CredentialTaken(envelopes.links(log.state.chain))
            written = [envelopes.publish(runtime, log, record, taken, now)] if log.state.chain else []
            properties = log.state.group.properties
            if properties is None or log.state.group.credential_of(key[0], now) is None:
                return [], [], written
            log.record(ReplicaSynchronized(source, now))
            if not properties.flags & PeerGroupPropertyFlags.PEER_MEMBER_DATA_OPTIONAL:
                written.append(envelopes.publish(runtime, log, record, MembershipPublished(record.friendly_name), now))
            if self._presence_due(log, now):
                written.append(envelopes.publish(runtime, log, record, self._presence(log, now), now))
            return [], [], written

        events.notify_changes(runtime, key, before, runtime.execute_group(key, decide))
        events.report_status(runtime, key, status)

    # What a listening member publishes again ----------------------------------------------------

    @writing
    def sync_refresh_presence(self, key: ReplicaKey) -> None:
        """A listening member publishes its presence again once half its lifetime is gone, as
        Windows refreshes the presence record while a member stays online."""
        log = self._runtime.replica(*key)
        now = self._runtime.clock()
        if self._keeps_up(key) and self._presence_due(log, now):
            self._republish(key, self._presence(log, now), now)

    @writing
    def sync_refresh_membership(self, key: ReplicaKey) -> None:
        """A listening member publishes its membership again before its member data lapses, so
        that a member online is never dropped from the lists, and once it has lapsed, unless
        member data is optional in the group (``member_data_due``)."""
        runtime = self._runtime
        now = runtime.clock()
        if self._keeps_up(key) and member_data_due(runtime.replica(*key).state.group, key[0], now):
            self._republish(key, MembershipPublished(rules.identity_is_live(runtime.state, key[0]).friendly_name), now)

    @writing
    def sync_refresh_records(self, key: ReplicaKey) -> None:
        """Republish this member's autorefresh records that are about to expire, each with a
        new expiration its lifetime ahead (cut to the member's credential), as Windows does
        while the group is open; expired records are not brought back."""
        runtime = self._runtime
        events.report_records(runtime, key)
        state = runtime.replica(*key).state
        if not state.synchronized or not self._keeps_up(key):
            return
        now, clock = events.peer_now(runtime, key), runtime.clock()
        credential = state.group.credential_of(key[0], clock)
        if credential is None:
            return
        refreshed = []
        for held in events.live_records(runtime, key).values():
            until = min(refreshed_expiration(held.record, now), credential.not_after)
            if refresh_due(held, key[0], now) and until > held.record.expiration:
                refreshed.append(records.next_version(held, key[0], now, expiration=until))
        if not refreshed:
            return
        identity = rules.identity_is_live(runtime.state, key[0])
        before = state.group

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            return [], [], [envelopes.publish(runtime, log, identity, RecordPublished(record), clock) for record in refreshed]

        events.notify_changes(runtime, key, before, runtime.execute_group(key, decide))

    def _keeps_up(self, key: ReplicaKey) -> bool:
        """Whether the replica's member republishes what lapses: while it listens, unless it
        was seen to fork its chain, since the group then refuses every envelope it signs
        (``rules.author_has_not_forked``), and upkeep that can only be refused would fail
        every sync, which would then take nothing from the group either."""
        return events.listening(self._runtime, key) and key[0] not in self._runtime.replica(*key).state.group.forked

    def _republish(self, key: ReplicaKey, payload: SharedEvent, now: datetime) -> None:
        """Publish ``payload`` as the replica's member, and tell registrations."""
        runtime = self._runtime
        record = rules.identity_is_live(runtime.state, key[0])
        before = runtime.replica(*key).state.group

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            return [], [], [envelopes.publish(runtime, log, record, payload, now)]

        events.notify_changes(runtime, key, before, runtime.execute_group(key, decide))

    def _presence_due(self, log: ReplicaLog, now: datetime) -> bool:
        """Whether the replica's member publishes its presence now, from this machine
        (``domain.presence.presence_due``)."""
        return presence_due(log.state.group, log.identity, self._runtime.settings.address, now)

    def _presence(self, log: ReplicaLog, now: datetime) -> PresencePublished:
        """This machine's address, present until a presence lifetime from now, or until the
        member's credential ends if sooner (``presence_within_credential``)."""
        group = log.state.group
        assert group.properties is not None  # _presence_due
        credential = group.credential_of(log.identity, now)
        assert credential is not None  # _presence_due
        until = now + timedelta(seconds=group.properties.presence_lifetime)
        return PresencePublished(self._runtime.settings.address, min(until, credential.not_after))

    # Connections -----------------------------------------------------------------------------

    @reading
    def sync_connected(self, key: ReplicaKey, remote: Neighbor) -> None:
        self._neighbor_changed(key, remote, PeerConnectionStatus.PEER_CONNECTED, self._runtime.sessions.connect)

    @reading
    def sync_disconnected(self, key: ReplicaKey, remote: Neighbor) -> None:
        self._neighbor_changed(key, remote, PeerConnectionStatus.PEER_DISCONNECTED, self._runtime.sessions.disconnect)

    def _neighbor_changed(
        self, key: ReplicaKey, remote: Neighbor, status: PeerConnectionStatus,
        change: Callable[[ReplicaKey, Neighbor], bool],
    ) -> None:
        """Apply ``change`` to the replica's connections; a real change is a
        ``NEIGHBOR_CONNECTION`` event, and a status change a ``STATUS_CHANGED`` one."""
        before = events.status(self._runtime, key)
        if change(key, remote):
            self._runtime.sessions.notify(key, GroupEvent(
                PeerGroupEventType.PEER_GROUP_EVENT_NEIGHBOR_CONNECTION, connection_status=status, node=remote,
            ))
        events.report_status(self._runtime, key, before)

    @reading
    def sync_failed(self, key: ReplicaKey, event_type: PeerGroupEventType, failure: str) -> None:
        self._runtime.sessions.notify(key, GroupEvent(event_type, failure=failure))
