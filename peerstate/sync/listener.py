"""The listening side of a sync, as a state table: which message it takes in which state,
and what it answers. Anything else is refused, and the conversation ends.

==================  ======================  ========================================  ==========
state               takes                   does                                      then
==================  ======================  ========================================  ==========
``awaiting_hello``  ``MemberHello``,        checks that the connector was not cut     challenged
                    ``PasswordHello``,      off too often, its IDC and, by the
                    ``ExpiredMemberHello``  hello's kind, its chain, that this
                                            member may answer a password joiner
                                            now, or that its member list holds a
                                            GMC for it; sends a signed ``Challenge``
``challenged``      ``Proof``               checks the connector's signature (and     sending,
                                            password: a wrong one is kept in the      receiving
                                            log); issues a password joiner its GMC;
                                            sends its first batch
``sending``         ``More``                sends its next batch                      sending,
                                                                                      receiving
``receiving``       ``Batch``               stores it; asks ``More`` while            receiving,
                                            incomplete, else says ``End``             closed
any but ``closed``  ``Refusal``             nothing                                   closed
``closed``          anything                nothing                                   closed
==================  ======================  ========================================  ==========

Nothing received is stored, and nothing persistent changes (connections, refusals, counters),
before the connector has proven in this conversation that it holds its identity's key: the
checks on a hello only read, a throttled password joiner included. A hello is at most
``MAX_HANDSHAKE_BYTES``; every later message ``MAX_FRAME_BYTES``, the ``Proof`` included,
which carries a head for every author of the group.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Final, Literal

import attrs

from peerstate import names, registry
from peerstate.bounds import MAX_CUT_OFFS
from peerstate.crypto import credentials, pake
from peerstate.domain import rules
from peerstate.domain.group_events import PasswordVerifier
from peerstate.domain.replica import ReplicaState, SenderRefusals
from peerstate.errors import PeerError
from peerstate.registry import rule
from peerstate.sync import authentication, batches
from peerstate.sync.connector import NONCE_BYTES
from peerstate.sync.messages import (
    Batch, Challenge, End, ExpiredMemberHello, Head, Hello, MemberHello, Message, More, PasswordHello, Proof, Refusal,
    encode, message_in_state,
)
from peerstate.sync.port import Neighbor, ReplicaKey, SyncPort

ListenerState = Literal["awaiting_hello", "challenged", "sending", "receiving", "closed"]


@rule("PEER_E_CONNECTION_REFUSED")
def hello_is_for_this_group(hello: Hello, group: str) -> None:
    """A hello names the group of the replica that listens (``PEER_E_CONNECTION_REFUSED``)."""
    if hello.group != group:
        raise registry.Refusal("another group")


@rule("PEER_E_CONNECTION_REFUSED")
def sender_not_cut_off_too_often(replica: ReplicaState, identity: str) -> None:
    """A member this replica has cut off ``MAX_CUT_OFFS`` times is not heard again
    (``PEER_E_CONNECTION_REFUSED``): each cut-off was for something no honest member sends,
    and each reconnection would cost the replica a row."""
    cut_off = replica.sender_refusals.get(identity, SenderRefusals()).cut_off
    if cut_off >= MAX_CUT_OFFS:
        raise registry.Refusal(f"{identity!r} was cut off {cut_off} times for what no honest member sends")


class _WrongPassword(Exception):
    """The connector proved its key but not the password: its refusal is kept in the log,
    for the throttle, and it sees AUTHENTICATION_FAILED."""

    def __init__(self, error: PeerError) -> None:
        super().__init__(error.message)
        self.error = error


class Listener:
    """The side that listens: a synchronized replica with a connected handle."""

    def __init__(self, peer: SyncPort, key: ReplicaKey, remote: Neighbor) -> None:
        self._peer = peer
        self._key = key
        self._remote = remote
        self.state: ListenerState = "awaiting_hello"
        self._hello_bytes = b""
        self._hello: Hello | None = None
        self._challenge: Challenge | None = None
        self._connector_key = b""
        self._listening: pake.Listening | None = None
        """A password joiner's exchange, begun at its hello, when the group keeps an SRP
        verifier (``crypto.pake``)."""
        self._outgoing: batches.Outgoing | None = None

    def receive(self, data: bytes) -> bytes | None:
        """The answer to ``data``, or None when the conversation is over."""
        if self.state == "closed":
            return None
        try:
            taken = message_in_state(data, self.state, "awaiting_hello", _TABLE)
            if isinstance(taken, Refusal):
                self.state = "closed"
                return None
            message, step = taken
            return step(self, message, data)
        except _WrongPassword as wrong:
            self.state = "closed"
            assert self._hello is not None  # a proof follows a hello
            self._peer.sync_settle_guess(self._key, self._hello.identity, self._remote.address, wrong.error)
            return encode(Refusal(wrong.error.name, wrong.error.message, True))
        except PeerError as error:
            self.state = "closed"
            return encode(Refusal(error.name, error.message, False))

    def _on_hello(self, hello: Hello, data: bytes) -> bytes:
        """Check who the connector says it is, by its hello's kind, and challenge it to prove
        it holds the key: nothing is written here."""
        identity, group = self._key
        state = self._peer.sync_replica(self._key).state
        now = self._peer.sync_now()
        hello_is_for_this_group(hello, group)
        names.peer_name_is_well_formed(hello.identity)
        sender_not_cut_off_too_often(state, hello.identity)
        self._connector_key = authentication.idc_is_the_identity_s(hello.card, hello.identity)
        match hello:
            case MemberHello():
                authentication.chain_holds(hello.chain, group, hello.identity, self._connector_key, state.group.root, now)
            case ExpiredMemberHello():
                rules.member_list_holds_credential(state.group, hello.identity, self._connector_key, now)
            case PasswordHello():
                _, verifier, _ = rules.may_answer_password_joiner(state, identity, now)
                self._listening = _password_exchange(group, verifier, hello.pake_public, self._peer.sync_refuses_old_password_proofs())
                self._peer.sync_start_guess(self._key, hello.identity, self._remote.address)
        listening = self._listening
        challenge = Challenge(
            identity, self._peer.sync_card(identity), self._peer.sync_chain(self._key), os.urandom(NONCE_BYTES),
            self._peer.sync_peer_time_now(self._key), b"", None if listening is None else listening.salt,
            None if listening is None else listening.public,
        )
        signature = self._peer.sync_sign(identity, authentication.transcript(data, challenge))
        self._hello, self._hello_bytes = hello, data
        self._challenge = attrs.evolve(challenge, signature=signature)
        self.state = "challenged"
        return encode(self._challenge)

    def _on_proof(self, proof: Proof, _data: bytes) -> bytes:
        """Check the connector's signature over this conversation (and a password joiner's
        password, then issue it its GMC), and send the first batch of what it lacks."""
        identity, _group = self._key
        assert self._challenge is not None  # the state is challenged
        signed = authentication.transcript(self._hello_bytes, self._challenge)
        authentication.connector_signature_verifies(self._connector_key, signed, proof.signature)
        if isinstance(self._hello, PasswordHello):
            state = self._peer.sync_replica(self._key).state
            _, verifier, _ = rules.may_answer_password_joiner(state, identity, self._peer.sync_now())
            matches = (
                self._listening.proof_matches(proof.password_proof) if self._listening is not None
                else credentials.password_proof_matches(verifier.verifier, signed, proof.password_proof)
            )
            try:
                rules.password_proof_matches(matches)
            except PeerError as error:
                raise _WrongPassword(error) from None
            self._peer.sync_settle_guess(self._key, self._hello.identity, self._remote.address, None)
            self._peer.sync_issue_password_credential(self._key, self._hello.card)
        self._outgoing = batches.Outgoing(self._peer, self._key, proof.heads)
        return self._send_next(batches.heads(self._peer, self._key))

    def _on_more(self, _more: More, _data: bytes) -> bytes:
        return self._send_next()

    def _on_batch(self, batch: Batch, _data: bytes) -> bytes:
        """Store the connector's batch; the conversation ends once it has sent everything."""
        batches.take(self._peer, self._key, batch, self._remote)
        self._peer.sync_connected(self._key, self._remote)
        if not batch.complete:
            return encode(More())
        self.state = "closed"
        return encode(End())

    def _send_next(self, own_heads: tuple[Head, ...] = ()) -> bytes:
        assert self._outgoing is not None  # the proof made it
        batch = self._outgoing.next_batch(own_heads)
        self.state = "receiving" if batch.complete else "sending"
        return encode(batch)


def _password_exchange(group: str, verifier: PasswordVerifier, joiner_public: bytes | None, refuse_old: bool) -> pake.Listening | None:
    """The listener's side of a password joiner's exchange, for a group that keeps an SRP
    verifier; None for a group made before, whose joiners prove the stretched password by
    an HMAC, unless this peer refuses such proofs (``refuse_old``,
    ``old_password_proofs_taken``). A joiner's ``A`` that is missing or unsafe ends the
    conversation here (``password_exchange_is_safe``), before any guess is counted."""
    if verifier.pake_salt is None or verifier.pake_verifier is None:
        authentication.old_password_proofs_taken(refuse_old)
        return None
    listening = pake.Listening(group, pake.Verifier(verifier.pake_salt, verifier.pake_verifier), joiner_public or b"")
    authentication.password_exchange_is_safe(listening.unsafe)
    return listening


_TABLE: Final[dict[tuple[ListenerState, type[Message]], Callable[[Listener, Any, bytes], bytes]]] = {
    ("awaiting_hello", MemberHello): Listener._on_hello,
    ("awaiting_hello", PasswordHello): Listener._on_hello,
    ("awaiting_hello", ExpiredMemberHello): Listener._on_hello,
    ("challenged", Proof): Listener._on_proof,
    ("sending", More): Listener._on_more,
    ("receiving", Batch): Listener._on_batch,
}
"""The listener's state table: the one handler of each message it takes in each state."""
