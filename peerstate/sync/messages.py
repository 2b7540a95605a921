"""The messages of the sync conversation, how they travel, and the checks every received
message passes before either side looks at it: its size, before it is parsed, and its form.

The bounds depend on how far the conversation has gone (``peerstate.bounds``): until the
connector has proven its key, a message is at most ``MAX_HANDSHAKE_BYTES``, enough for an
IDC and a full chain; after, a frame is at most ``MAX_FRAME_BYTES``, enough for the largest
legal envelope, and a batch holds at most ``MAX_BATCH_ENVELOPES``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import attrs

from peerstate import registry, wire
from peerstate.bounds import MAX_BATCH_ENVELOPES, MAX_FRAME_BYTES, MAX_HANDSHAKE_BYTES
from peerstate.bulk import young_collections_only
from peerstate.domain.added_fields import added
from peerstate.domain.group_events import Envelope
from peerstate.registry import rule


@attrs.frozen
class Head:
    author: str
    seq: int


@attrs.frozen
class MemberHello:
    """The hello of a member that shows its GMC chain, valid now."""

    group: str
    identity: str
    card: bytes
    chain: tuple[bytes, ...]
    nonce: bytes
    peer_time: datetime


@attrs.frozen
class PasswordHello:
    """The hello of a password joiner, which has no GMC yet: its password proves it, and the
    listener issues it one."""

    group: str
    identity: str
    card: bytes
    nonce: bytes
    peer_time: datetime
    pake_public: bytes | None = added()
    """The joiner's SRP public value ``A`` (``crypto.pake``); None from a peer made before."""


@attrs.frozen
class ExpiredMemberHello:
    """The hello of a synchronized member whose own GMC has expired, which shows none
    (MS-PPSEC 3.2.7.1): the listener lets it in when its member list holds a GMC of the
    identity valid now, for the key of its IDC (3.3.5.2.2), as a renewal stored for it
    with ``PEER_GROUP_STORE_CREDENTIALS`` is; the member takes it up from the group data."""

    group: str
    identity: str
    card: bytes
    nonce: bytes
    peer_time: datetime


Hello = MemberHello | PasswordHello | ExpiredMemberHello


@attrs.frozen
class Challenge:
    identity: str
    card: bytes
    chain: tuple[bytes, ...]
    nonce: bytes
    peer_time: datetime
    signature: bytes
    pake_salt: bytes | None = added()
    """To a password joiner of a group that keeps an SRP verifier: its salt."""
    pake_public: bytes | None = added()
    """To a password joiner of a group that keeps an SRP verifier: the listener's ``B``."""


@attrs.frozen
class Proof:
    signature: bytes
    password_proof: bytes
    heads: tuple[Head, ...]


@attrs.frozen
class Batch:
    envelopes: tuple[Envelope, ...]
    heads: tuple[Head, ...]
    """The sender's heads, in the listener's first batch: what the connector's batches
    then carry; empty in every other batch."""
    complete: bool
    """False when more was missing than one batch carries: the receiver asks for ``More``."""


@attrs.frozen
class More:
    """The receiver of an incomplete batch has stored it: the sender goes on with the next."""


@attrs.frozen
class End:
    """The listener has all the connector sent: the conversation is over, on both sides."""


@attrs.frozen
class Refusal:
    error: str
    reason: str
    authentication: bool
    """True when the connector's password was wrong: it sees AUTHENTICATION_FAILED."""


Message = MemberHello | PasswordHello | ExpiredMemberHello | Challenge | Proof | Batch | More | End | Refusal


def encode(message: Message) -> bytes:
    with young_collections_only():  # a batch's trees are a great many containers
        return wire.canonical(message)


@rule("PEER_E_CONNECTION_FAILED")
def message_is_well_formed(data: bytes, max_bytes: int) -> Message:
    """A message is one of the conversation's kinds, in its canonical encoding, and no larger
    than this step of the conversation allows, which is checked before it is parsed
    (``PEER_E_CONNECTION_FAILED``): the message, decoded."""
    try:
        return wire.decode(data, Message, max_bytes=max_bytes)  # type: ignore[arg-type]  # a union is a type here
    except wire.WireError as error:
        raise registry.Refusal(f"a malformed message: {error}") from None


@rule("PEER_E_CONNECTION_FAILED")
def batch_is_within_bounds(batch: Batch) -> None:
    """A batch holds at most ``MAX_BATCH_ENVELOPES`` envelopes (``PEER_E_CONNECTION_FAILED``):
    each costs a signature check, so their number is bounded as well as their bytes."""
    if len(batch.envelopes) > MAX_BATCH_ENVELOPES:
        raise registry.Refusal(f"a batch of {len(batch.envelopes)} envelopes; at most {MAX_BATCH_ENVELOPES} are accepted")


@rule("PEER_E_CONNECTION_FAILED")
def message_is_expected(message: Message, state: str) -> NoReturn:
    """A side takes only the messages its state table allows in its present state
    (``PEER_E_CONNECTION_FAILED``): called with any other, which it refuses, and the
    conversation ends."""
    raise registry.Refusal(f"an unexpected {type(message).__name__} while {state}")


Step = TypeVar("Step")


def message_in_state(
    data: bytes, state: str, handshake: str, table: Mapping[tuple[Any, type[Message]], Step],
) -> Refusal | tuple[Message, Step]:
    """What a side in ``state`` does with ``data``, by its state table: a ``Refusal`` the
    other side sent, for this one to end on, or the message with the table's step for it.
    The message is held to ``MAX_HANDSHAKE_BYTES`` in the side's ``handshake`` state, the
    one that awaits a hello or a challenge, and to ``MAX_FRAME_BYTES`` after; one the table
    has no step for is refused (``message_is_expected``)."""
    message = message_is_well_formed(data, MAX_HANDSHAKE_BYTES if state == handshake else MAX_FRAME_BYTES)
    if isinstance(message, Refusal):
        return message
    step = table.get((state, type(message)))
    if step is None:
        message_is_expected(message, state)
    return message, step
