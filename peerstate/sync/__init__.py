"""Synchronization between two replicas of a group, as messages that are bytes.

A connecting replica (its handle connected) meets a listening one. The two sides are
state tables that take a message and give the next (``Connector.receive``,
``Listener.receive``; each module's docstring has its table), so any transport can carry
them; ``exchange`` carries them in memory. The conversation:

1. A hello (``messages``): the connector names itself and shows its IDC, a fresh nonce and
   its peer time, and by its kind says how it will prove its membership: a member shows
   its GMC chain (``MemberHello``), a password joiner will prove the password
   (``PasswordHello``), a member whose own GMC has expired asks for a renewal held for it
   in the member list (``ExpiredMemberHello``).
2. ``Challenge``: the listener checks what the hello shows (``authentication``) and
   answers with its own IDC, chain, nonce, peer time and a signature over the transcript.
3. ``Proof``: the connector checks the listener's chain and signature, takes the group's
   peer time from it, signs the transcript itself, adds the password proof (an HMAC of the
   transcript under the group's verifier) and says how far each author's chain stands in
   its replica.
4. ``Batch`` after ``Batch``: the listener checks the signature and the password proof,
   issues a password joiner its GMC, and sends what the connector lacks, a batch at a time
   (``batches``); the connector answers each incomplete one with ``More``. With the whole
   group data, the connector holds a credential in it, and sends what the listener lacks
   the same way.
5. ``End``: the listener has it all; the conversation is over on both sides.

A hello and a challenge are bounded by ``MAX_HANDSHAKE_BYTES``, every later message by
``MAX_FRAME_BYTES`` (``peerstate.bounds``); until the connector has proven its key (step 4),
the listener writes nothing at all.

Either side may answer ``Refusal`` instead, and the conversation ends. Each check that makes
a side refuse is a registered rule (``peerstate.registry``); the refusal it sends names the
rule's HRESULT. A ``Refusal`` received is the other side's verdict, not a check of this
one: the connector reports the HRESULT it names (``connector.remote_failure``).
"""

from __future__ import annotations

from collections.abc import Callable

from peerstate.sync.connector import Connector, Outcome
from peerstate.sync.listener import Listener
from peerstate.sync.messages import (
    Batch, Challenge, End, ExpiredMemberHello, Head, Hello, MemberHello, Message, More, PasswordHello, Proof, Refusal,
)

__all__ = [
    "Batch", "Challenge", "Connector", "End", "ExpiredMemberHello", "Head", "Hello", "Listener", "MemberHello",
    "Message", "More", "Outcome", "PasswordHello", "Proof", "Refusal", "exchange",
]


def exchange(connector: Connector, listener: Listener, *, transcript: list[bytes] | None = None) -> Outcome:
    """Carry the conversation in memory until one side has nothing more to say; with
    ``transcript``, keep every message sent there (what a fuzzer starts from)."""
    message: bytes | None = connector.start()
    sides: tuple[Callable[[bytes], bytes | None], ...] = (listener.receive, connector.receive)
    turn = 0
    while message is not None:
        if transcript is not None:
            transcript.append(message)
        message = sides[turn % 2](message)
        turn += 1
    return connector.outcome
