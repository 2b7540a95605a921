"""Synchronization between two replicas of a group, as messages that are bytes.

A connecting replica (its handle connected) meets a listening one. The two sides are
state machines that take a message and give the next (``receive``), so any transport can
carry them; ``exchange`` carries them in memory. The conversation:

1. ``Hello``: the connector names itself, shows its IDC and its GMC chain (none for a
   password joiner), a fresh nonce and its peer time. A member whose own GMC has expired
   says ``ExpiredMemberHello`` instead, without a chain.
2. ``Challenge``: the listener checks the chain against its group root (for a password
   joiner, that its own role may give out the password role; for a member whose GMC
   expired, that its member list holds one valid now), and answers with its own IDC,
   chain, nonce, peer time and a signature over the transcript.
3. ``Proof``: the connector checks the listener's chain against the group peer name's
   authority and its signature, takes the group's peer time from it, signs the transcript itself, adds the password proof
   (an HMAC of the transcript under the group's verifier) and says how far each author's
   chain stands in its replica.
4. ``Batch``: the listener checks the signature and the password proof, issues a password
   joiner its GMC, and sends every envelope the connector lacks with its own heads.
5. ``Batch``: the connector stores what it received in one transaction (each envelope
   judged by admission), becomes synchronized if it now holds a credential, and sends back
   what the listener lacks.

A batch carries at most ``BATCH_BYTES``; when more is missing it says it is incomplete, and
the next round (the network meets the two again while anything changes) carries on from the
heads the first one left. A joiner waits for the whole group data before it judges whether
it came with a credential.

Either side may answer ``Refusal`` instead, and the conversation ends. Each check that makes
a side refuse is a registered rule (``peerstate.registry``) below; the refusal it sends names
the rule's HRESULT. A ``Refusal`` received is the other side's verdict, not a check of this
one: the connector reports the HRESULT it names (``_remote_failure``) and refuses nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import Final, Literal, NoReturn

import attrs

from peerstate import crypto, names, registry, wire
from peerstate.crypto import credentials
from peerstate.bulk import young_collections_only
from peerstate.constants import PeerGroupEventType
from peerstate.domain import rules
from peerstate.domain.group_events import Envelope
from peerstate.errors import ErrorName, PeerError, error_name
from peerstate.registry import rule
from peerstate.sync.port import Neighbor, ReplicaKey, SyncPort

NONCE_BYTES: Final = 32
BATCH_BYTES: Final = wire.MAX_MESSAGE_BYTES // 2
"""What one batch carries at most, well under the message cap whatever the records hold."""


@attrs.frozen
class Head:
    author: str
    seq: int


@attrs.frozen
class Hello:
    group: str
    identity: str
    card: bytes
    chain: tuple[bytes, ...]
    nonce: bytes
    peer_time: datetime


@attrs.frozen
class ExpiredMemberHello:
    """The Hello of a synchronized member whose own GMC has expired, which shows none
    (MS-PPSEC 3.2.7.1): the listener lets it in when its member list holds a GMC of the
    identity valid now, for the key of its IDC (3.3.5.2.2), as a renewal stored for it
    with ``PEER_GROUP_STORE_CREDENTIALS`` is; the member takes it up from the group data.
    A kind of its own, not a ``Hello`` with an empty chain, which is a password joiner's."""

    group: str
    identity: str
    card: bytes
    nonce: bytes
    peer_time: datetime


@attrs.frozen
class Challenge:
    identity: str
    card: bytes
    chain: tuple[bytes, ...]
    nonce: bytes
    peer_time: datetime
    signature: bytes


@attrs.frozen
class Proof:
    signature: bytes
    password_proof: bytes
    heads: tuple[Head, ...]


@attrs.frozen
class Batch:
    envelopes: tuple[Envelope, ...]
    heads: tuple[Head, ...]
    complete: bool
    """False when more was missing than one message carries: the next round sends the rest."""


@attrs.frozen
class Refusal:
    error: str
    reason: str
    authentication: bool
    """True when the connector's password was wrong: it sees AUTHENTICATION_FAILED."""


Message = Hello | ExpiredMemberHello | Challenge | Proof | Batch | Refusal
Outcome = Literal["synchronized", "refused", "pending"]


class _Refuse(Exception):
    """A rule's refusal and whether the connector sees it as AUTHENTICATION_FAILED (a wrong
    password) rather than CONNECTION_FAILED; every other refusal goes as the rule's
    ``PeerError`` itself."""

    def __init__(self, error: PeerError, authentication: bool = False) -> None:
        super().__init__(error.message)
        self.error = error
        self.authentication = authentication


def _send(message: Message) -> bytes:
    with young_collections_only():  # a batch's trees are a great many containers
        return wire.canonical(message)


@rule("PEER_E_CONNECTION_FAILED")
def message_is_well_formed(data: bytes) -> Message:
    """A message is one of the conversation's kinds, in its canonical encoding and within the
    size cap (``PEER_E_CONNECTION_FAILED``): the message, decoded."""
    try:
        return wire.decode(data, Message)  # type: ignore[arg-type]  # a union is a type here
    except wire.WireError as error:
        raise registry.Refusal(f"a malformed message: {error}") from None


def _remote_failure(refusal: Refusal) -> ErrorName:
    """The HRESULT a received refusal names, if it names an error one;
    ``PEER_E_CONNECTION_FAILED`` otherwise: what the connector's CONNECTION_FAILED or
    AUTHENTICATION_FAILED event reports.

    Not a rule: no check of this side refused, the other side did, for reasons of its own
    (any HRESULT a peer may name, its own rules' or its store's), and this side passes its
    verdict on as it named it. So no ``PeerError`` is made of it here; only the code travels."""
    return error_name(refusal.error) or "PEER_E_CONNECTION_FAILED"


def _heads(peer: SyncPort, key: ReplicaKey) -> tuple[Head, ...]:
    return tuple(Head(author, head.seq) for author, head in sorted(peer.sync_replica(key).state.group.heads.items()))


def _batch(peer: SyncPort, key: ReplicaKey, theirs: dict[str, int], heads: tuple[Head, ...]) -> Batch:
    """What the other side lacks, as much as one batch carries."""
    envelopes, complete = peer.sync_missing(key, theirs, BATCH_BYTES)
    return Batch(envelopes, heads, complete)


def _transcript(hello: bytes, challenge: Challenge) -> bytes:
    return wire.digest([hello, attrs.evolve(challenge, signature=b"")])


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def idc_is_the_identity_s(card: bytes, identity: str) -> bytes:
    """The IDC the other side shows is a self-signed certificate of the identity it says it
    is, whose key that name's authority hashes (``PEER_E_CONNECTION_NOT_AUTHENTICATED``): the
    IDC's public key."""
    try:
        parsed = crypto.read_identity_certificate(card)
    except crypto.CryptoFailure as error:
        raise registry.Refusal(f"the IDC does not parse: {error}") from None
    if parsed.peer_name != identity or names.authority_of(parsed.public_key) != identity.partition(".")[0]:
        raise registry.Refusal(f"the IDC is not the one of {identity!r}")
    return parsed.public_key


def _chain_holds(chain: tuple[bytes, ...], group: str, identity: str, key: bytes, root: bytes | None, at: datetime) -> None:
    """A GMC chain from the group's root (the one ``root`` is, when known) to ``identity``'s key."""
    chain_is_from_the_group_root(chain, root)
    links = chain_links_verify(chain, group, at)
    chain_is_the_idc_s(links[-1], identity, key)


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def chain_is_from_the_group_root(chain: tuple[bytes, ...], root: bytes | None) -> None:
    """The GMC chain the other side shows starts at this replica's group root, once this
    replica knows it (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if not chain or (root is not None and chain[0] != root):
        raise registry.Refusal("the credential chain is not from this group's root")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def chain_links_verify(chain: tuple[bytes, ...], group: str, at: datetime) -> tuple[credentials.Membership, ...]:
    """Each link of the other side's GMC chain is signed by the one before, from the root of
    the group its peer name's authority names, valid now, with room and no circle
    (``PEER_E_CONNECTION_NOT_AUTHENTICATED``): the links, read."""
    try:
        return credentials.verify_chain(chain[0], chain[1:], group, at)
    except crypto.CryptoFailure as error:
        raise registry.Refusal(f"the credential chain fails: {error}") from None


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def chain_is_the_idc_s(last: credentials.Membership, identity: str, key: bytes) -> None:
    """The other side's GMC chain ends with a GMC of the identity its IDC names, for the IDC's
    key (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if last.subject != identity or last.public_key != key:
        raise registry.Refusal("the credential chain is not the IDC's")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def listener_signature_verifies(key: bytes, transcript: bytes, signature: bytes) -> None:
    """The listener's challenge is signed over the conversation's transcript by the key of the
    IDC it shows (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if not credentials.signature_matches(key, transcript, signature):
        raise registry.Refusal("the listener's signature fails")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def connector_signature_verifies(key: bytes, transcript: bytes, signature: bytes) -> None:
    """The connector's proof is signed over the conversation's transcript by the key of the
    IDC its hello showed (``PEER_E_CONNECTION_NOT_AUTHENTICATED``)."""
    if not credentials.signature_matches(key, transcript, signature):
        raise registry.Refusal("the connector's signature fails")


@rule("PEER_E_CONNECTION_NOT_AUTHENTICATED")
def credential_came_with_group_data(synchronized: bool) -> None:
    """A joiner that has received the whole group data holds a credential in it, so its
    replica is synchronized (``PEER_E_CONNECTION_NOT_AUTHENTICATED``): a password joiner the
    one the listener issued it, a credential joiner the one it took up."""
    if not synchronized:
        raise registry.Refusal("no credential came with the group data")


@rule("PEER_E_CONNECTION_REFUSED")
def hello_is_for_this_group(hello: Hello | ExpiredMemberHello, group: str) -> None:
    """A hello names the group of the replica that listens (``PEER_E_CONNECTION_REFUSED``)."""
    if hello.group != group:
        raise registry.Refusal("another group")


@rule("PEER_E_CONNECTION_FAILED")
def message_is_expected(message: Message) -> NoReturn:
    """A side takes only the messages its step of the conversation waits for
    (``PEER_E_CONNECTION_FAILED``): called with any other, which it refuses, once the side's
    cases have not taken it."""
    raise registry.Refusal(f"an unexpected {type(message).__name__}")


class Connector:
    """The side whose handle is connected and looks for a listening member."""

    def __init__(self, peer: SyncPort, key: ReplicaKey, remote: Neighbor) -> None:
        self._peer = peer
        self._key = key
        self._remote = remote
        self._hello = b""
        self._asked_at: datetime | None = None
        """This machine's clock when the hello went: half the round trip is the answer's age."""
        self._proved = False
        """Whether this side has answered a listener's challenge: group data only after that."""
        self.outcome: Outcome = "pending"

    def start(self) -> bytes:
        """The hello: with the connector's chain, or, from a synchronized member that holds
        no GMC valid now, one that shows none (``ExpiredMemberHello``)."""
        identity, group = self._key
        card, chain = self._peer.sync_card(identity), self._peer.sync_chain(self._key)
        nonce, peer_time = os.urandom(NONCE_BYTES), self._peer.sync_peer_time_now(self._key)
        if not chain and self._peer.sync_replica(self._key).state.synchronized:
            self._hello = _send(ExpiredMemberHello(group, identity, card, nonce, peer_time))
        else:
            self._hello = _send(Hello(group, identity, card, chain, nonce, peer_time))
        self._asked_at = self._peer.sync_now()
        return self._hello

    def receive(self, data: bytes) -> bytes | None:
        try:
            return self._step(message_is_well_formed(data))
        except PeerError as error:
            self._fail(error.name, False)
            return _send(Refusal(error.name, error.message, False))

    def _fail(self, failure: ErrorName, authentication: bool) -> None:
        self.outcome = "refused"
        kind = (
            PeerGroupEventType.PEER_GROUP_EVENT_AUTHENTICATION_FAILED if authentication
            else PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED
        )
        self._peer.sync_failed(self._key, kind, failure)

    def _step(self, message: Message) -> bytes | None:
        identity, group = self._key
        match message:
            case Challenge() if not self._proved:
                state = self._peer.sync_replica(self._key).state.group
                key = idc_is_the_identity_s(message.card, message.identity)
                _chain_holds(message.chain, group, message.identity, key, state.root, self._peer.sync_now())
                transcript = _transcript(self._hello, message)
                listener_signature_verifies(key, transcript, message.signature)
                assert self._asked_at is not None  # a challenge answers the hello
                self._peer.sync_peer_time(self._key, message.peer_time, str(self._remote), self._asked_at)
                ticket = self._peer.sync_ticket(self._key)
                proof = credentials.password_proof(ticket, transcript) if ticket is not None else b""
                signature = self._peer.sync_sign(identity, transcript)
                self._proved = True
                return _send(Proof(signature, proof, _heads(self._peer, self._key)))
            case Batch() if self._proved:
                self._peer.sync_receive(self._key, message.envelopes, self._remote)
                if not message.complete and not self._peer.sync_replica(self._key).state.synchronized:
                    return None  # the rest of the group data comes at the next round
                self._peer.sync_first_synchronized(self._key, str(self._remote))
                credential_came_with_group_data(self._peer.sync_replica(self._key).state.synchronized)
                self.outcome = "synchronized"
                self._peer.sync_connected(self._key, self._remote)
                theirs = {head.author: head.seq for head in message.heads}
                return _send(_batch(self._peer, self._key, theirs, ()))
            case Refusal():
                self._fail(_remote_failure(message), message.authentication)
                return None
        message_is_expected(message)


class Listener:
    """The side that listens: a synchronized replica with a connected handle."""

    def __init__(self, peer: SyncPort, key: ReplicaKey, remote: Neighbor) -> None:
        self._peer = peer
        self._key = key
        self._remote = remote
        self._hello_bytes = b""
        self._hello: Hello | ExpiredMemberHello | None = None
        self._challenge: Challenge | None = None
        self._joiner_key = b""

    @property
    def _password_joiner(self) -> bool:
        """Whether the connector is a password joiner: a ``Hello`` without a chain."""
        return isinstance(self._hello, Hello) and not self._hello.chain

    def receive(self, data: bytes) -> bytes | None:
        try:
            return self._step(message_is_well_formed(data), data)
        except _Refuse as refusal:
            if self._hello is not None and refusal.authentication:
                self._peer.sync_refuse_join(self._key, self._hello.identity, refusal.error)
            return _send(Refusal(refusal.error.name, refusal.error.message, refusal.authentication))
        except PeerError as error:
            return _send(Refusal(error.name, error.message, False))

    def _step(self, message: Message, data: bytes) -> bytes | None:
        identity, group = self._key
        state = self._peer.sync_replica(self._key).state
        match message:
            case Hello() | ExpiredMemberHello() if self._hello is None:
                hello_is_for_this_group(message, group)
                self._hello, self._hello_bytes = message, data
                self._joiner_key = idc_is_the_identity_s(message.card, message.identity)
                if isinstance(message, ExpiredMemberHello):
                    rules.member_list_holds_credential(state.group, message.identity, self._joiner_key, self._peer.sync_now())
                elif message.chain:
                    _chain_holds(message.chain, group, message.identity, self._joiner_key, state.group.root, self._peer.sync_now())
                else:
                    rules.may_answer_password_joiner(state, identity, self._peer.sync_now())
                    self._peer.sync_password_guess_allowed(self._key, message.identity)
                challenge = Challenge(
                    identity, self._peer.sync_card(identity), self._peer.sync_chain(self._key), os.urandom(NONCE_BYTES),
                    self._peer.sync_peer_time_now(self._key), b"",
                )
                signature = self._peer.sync_sign(identity, _transcript(self._hello_bytes, challenge))
                self._challenge = attrs.evolve(challenge, signature=signature)
                return _send(self._challenge)
            case Proof() if self._hello is not None and self._challenge is not None:
                transcript = _transcript(self._hello_bytes, self._challenge)
                connector_signature_verifies(self._joiner_key, transcript, message.signature)
                if self._password_joiner:
                    _, verifier, _ = rules.may_answer_password_joiner(state, identity, self._peer.sync_now())
                    try:
                        rules.password_proof_matches(
                            credentials.password_proof_matches(verifier.verifier, transcript, message.password_proof),
                        )
                    except PeerError as wrong:
                        raise _Refuse(wrong, authentication=True) from None
                    self._peer.sync_issue_password_credential(self._key, self._hello.card)
                theirs = {head.author: head.seq for head in message.heads}
                return _send(_batch(self._peer, self._key, theirs, _heads(self._peer, self._key)))
            case Batch() if self._challenge is not None:
                self._peer.sync_receive(self._key, message.envelopes, self._remote)
                self._peer.sync_connected(self._key, self._remote)
                return None
            case Refusal():
                return None
        message_is_expected(message)


def exchange(
    connector: Connector, listener: Listener, *, max_messages: int = 8, transcript: list[bytes] | None = None,
) -> Outcome:
    """Carry the conversation in memory until one side has nothing more to say; with
    ``transcript``, keep every message sent there (what a fuzzer starts from)."""
    message: bytes | None = connector.start()
    sides: tuple[Callable[[bytes], bytes | None], ...] = (listener.receive, connector.receive)
    for turn in range(max_messages):
        if message is None:
            break
        if transcript is not None:
            transcript.append(message)
        message = sides[turn % 2](message)
    return connector.outcome

