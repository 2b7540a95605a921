"""The connecting side of a sync, as a state table: which message it takes in which state,
and what it answers. Anything else is refused, and the conversation ends.

====================  ===============  ===========================================  ==========
state                 takes            does                                         then
====================  ===============  ===========================================  ==========
``ready``             (``start``)      sends its hello                              hello_sent
``hello_sent``        ``Challenge``    checks the listener's IDC, chain and         receiving
                                       signature; sends its ``Proof``
``receiving``         ``Batch``        stores it; asks ``More`` while incomplete,   receiving,
                                       then, with nothing it sent still waiting,    sending, sent
                                       sends its own first batch
``sending``           ``More``         sends its next batch                         sending, sent
``sent``              ``End``          nothing: the conversation is over            closed
any but ``closed``    ``Refusal``      reports the HRESULT the listener names       closed
``closed``            anything         nothing                                      closed
====================  ===============  ===========================================  ==========

It stores nothing before the listener has proven its key by signing this conversation's
transcript with a chain from the group's root.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Literal

from peerstate import registry
from peerstate.bounds import MAX_HELD
from peerstate.constants import PeerGroupEventType
from peerstate.crypto import credentials, pake
from peerstate.errors import ErrorName, PeerError, error_name
from peerstate.registry import rule
from peerstate.sync import authentication, batches
from peerstate.sync.messages import (
    Batch, Challenge, End, ExpiredMemberHello, MemberHello, Message, More, PasswordHello, Proof, Refusal,
    encode, message_in_state,
)
from peerstate.sync.port import Neighbor, ReplicaKey, SyncPort

NONCE_BYTES: Final = 32
ConnectorState = Literal["ready", "hello_sent", "receiving", "sending", "sent", "closed"]
Outcome = Literal["synchronized", "refused", "pending"]


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def credential_came_with_group_data(synchronized: bool) -> None:
    """A joiner that has received the whole group data holds a credential in it, so its
    replica is synchronized (``PEER_E_CONNECTION_NOT_AUTHENTICATED``): a password joiner the
    one the listener issued it, a credential joiner the one it took up."""
    if not synchronized:
        raise registry.Refusal("no credential came with the group data")


@rule("PEER_E_CONNECTION_FAILED")
def offered_data_is_whole(waiting: int, complete: bool) -> None:
    """What the listener sent does not wait for data it did not send
    (``PEER_E_CONNECTION_FAILED``): at the end of its group data nothing it offered still
    waits, nor, before the end, more than the replica holds waiting (``MAX_HELD``). An
    honest listener sends each chain in order, with the credentials first; a replica
    left waiting is not synchronized by this conversation, and meets another listener."""
    if waiting and (complete or waiting > MAX_HELD):
        raise registry.Refusal(f"{waiting} envelope(s) the listener sent wait for data it did not send")


def remote_failure(refusal: Refusal) -> ErrorName:
    """The HRESULT a received refusal names, if it names an error one;
    ``PEER_E_CONNECTION_FAILED`` otherwise: what the connector's CONNECTION_FAILED or
    AUTHENTICATION_FAILED event reports.

    Not a rule: no check of this side refused, the other side did, for reasons of its own
    (any HRESULT a peer may name, its own rules' or its store's), and this side passes its
    verdict on as it named it. So no ``PeerError`` is made of it here; only the code travels."""
    return error_name(refusal.error) or "PEER_E_CONNECTION_FAILED"


class Connector:
    """The side whose handle is connected and looks for a listening member."""

    def __init__(self, peer: SyncPort, key: ReplicaKey, remote: Neighbor) -> None:
        self._peer = peer
        self._key = key
        self._remote = remote
        self.state: ConnectorState = "ready"
        self.outcome: Outcome = "pending"
        self._hello = b""
        self._asked_at: datetime | None = None
        """This machine's clock when the hello went: half the round trip is the answer's age."""
        self._ticket: bytes | None = None
        """A password joiner's stretched password, read once for its hello."""
        self._joiner: pake.Joiner | None = None
        """A password joiner's side of the password exchange, begun with its hello."""
        self._outgoing: batches.Outgoing | None = None
        """What the listener lacks, once its first batch said how far its chains stand."""
        self._waiting: frozenset[bytes] = frozenset()
        """The ids of the envelopes the listener sent that wait here for data it has not sent yet."""

    def start(self) -> bytes:
        """The hello: a member's with its chain; one that shows none from a synchronized
        member that holds no GMC valid now (``ExpiredMemberHello``); else a password joiner's."""
        identity, group = self._key
        card, chain = self._peer.sync_card(identity), self._peer.sync_chain(self._key)
        nonce, peer_time = os.urandom(NONCE_BYTES), self._peer.sync_peer_time_now(self._key)
        hello: MemberHello | ExpiredMemberHello | PasswordHello
        if chain:
            hello = MemberHello(group, identity, card, chain, nonce, peer_time)
        elif self._peer.sync_replica(self._key).state.synchronized:
            hello = ExpiredMemberHello(group, identity, card, nonce, peer_time)
        else:
            self._ticket = self._peer.sync_ticket(self._key)
            self._joiner = None if self._ticket is None else pake.Joiner(group, self._ticket)
            hello = PasswordHello(group, identity, card, nonce, peer_time, None if self._joiner is None else self._joiner.public)
        self._hello = encode(hello)
        self._asked_at = self._peer.sync_now()
        self.state = "hello_sent"
        return self._hello

    def receive(self, data: bytes) -> bytes | None:
        """The answer to ``data``, or None when the conversation is over."""
        if self.state == "closed":
            return None
        try:
            taken = message_in_state(data, self.state, "hello_sent", _TABLE)
            if isinstance(taken, Refusal):
                self.state = "closed"
                self._fail(remote_failure(taken), taken.authentication)
                return None
            message, step = taken
            return step(self, message)
        except PeerError as error:
            self.state = "closed"
            self._fail(error.name, False)
            return encode(Refusal(error.name, error.message, False))

    def _fail(self, failure: ErrorName, authentication: bool) -> None:
        self.outcome = "refused"
        kind = (
            PeerGroupEventType.PEER_GROUP_EVENT_AUTHENTICATION_FAILED if authentication
            else PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED
        )
        self._peer.sync_failed(self._key, kind, failure)

    def _on_challenge(self, challenge: Challenge) -> bytes:
        """Check that the listener is a member holding its key; take the group's peer time
        from it, then prove this side's key (and password, for a password joiner)."""
        identity, group = self._key
        state = self._peer.sync_replica(self._key).state.group
        key = authentication.idc_is_the_identity_s(challenge.card, challenge.identity)
        authentication.chain_holds(challenge.chain, group, challenge.identity, key, state.root, self._peer.sync_now())
        signed = authentication.transcript(self._hello, challenge)
        authentication.listener_signature_verifies(key, signed, challenge.signature)
        assert self._asked_at is not None  # a challenge answers the hello
        self._peer.sync_peer_time(self._key, challenge.peer_time, str(self._remote), self._asked_at)
        password_proof = self._password_proof(challenge, signed)
        signature = self._peer.sync_sign(identity, signed)
        self.state = "receiving"
        return encode(Proof(signature, password_proof, batches.heads(self._peer, self._key)))

    def _password_proof(self, challenge: Challenge, signed: bytes) -> bytes:
        """A password joiner's proof: the password exchange's when the listener answered its
        ``A`` (``crypto.pake``); for a group made before, an HMAC of the transcript keyed by
        the stretched password; nothing from a member."""
        if self._joiner is not None and challenge.pake_public is not None:
            proof = self._joiner.proof(challenge.pake_salt or b"", challenge.pake_public)
            authentication.password_exchange_is_safe(proof is None)
            assert proof is not None  # password_exchange_is_safe
            return proof
        return credentials.password_proof(self._ticket, signed) if self._ticket is not None else b""

    def _on_batch(self, batch: Batch) -> bytes:
        """Store the listener's batch; once the group data is whole, with nothing of it still
        waiting, this replica holds a credential in it, and sends what the listener lacks."""
        if self._outgoing is None:
            self._outgoing = batches.Outgoing(self._peer, self._key, batch.heads)
        waiting = batches.take(self._peer, self._key, batch, self._remote)
        known = self._peer.sync_replica(self._key).known
        self._waiting = frozenset(envelope_id for envelope_id in (*self._waiting, *waiting) if envelope_id not in known)
        offered_data_is_whole(len(self._waiting), batch.complete)
        if not batch.complete:
            return encode(More())
        self._peer.sync_first_synchronized(self._key, str(self._remote))
        credential_came_with_group_data(self._peer.sync_replica(self._key).state.synchronized)
        self.outcome = "synchronized"
        self._peer.sync_connected(self._key, self._remote)
        return self._send_next()

    def _on_more(self, _: More) -> bytes:
        return self._send_next()

    def _on_end(self, _: End) -> None:
        self.state = "closed"

    def _send_next(self) -> bytes:
        assert self._outgoing is not None  # the listener's first batch made it
        batch = self._outgoing.next_batch()
        self.state = "sent" if batch.complete else "sending"
        return encode(batch)


_TABLE: Final[dict[tuple[ConnectorState, type[Message]], Callable[[Connector, Any], bytes | None]]] = {
    ("hello_sent", Challenge): Connector._on_challenge,
    ("receiving", Batch): Connector._on_batch,
    ("sending", More): Connector._on_more,
    ("sent", End): Connector._on_end,
}
"""The connector's state table: the one handler of each message it takes in each state."""
