"""A victim process for ``tests/test_volume.py``: alice listens in her password group, on a
SQLite store, while an attacker sends her ``MEGABYTES`` of hostile sync messages, then the
worker prints what that cost her as one JSON line.

Usage: ``volume_worker.py STORE_DIR (outsider|member) MEGABYTES``

- ``outsider``: peers that never prove a key. Frames over the handshake cap, hellos of
  the largest size the cap lets through with a chain that is not the group's, and password
  hellos followed, once challenged, by a batch of envelopes out of turn: each a new
  conversation.
- ``member``: bob, a member who proves his key, then sends batches of envelopes with a gap
  in his chain (refused for lack of context: the conversation goes on), then batches of
  envelopes his key never signed (each cuts him off: he connects again, until alice
  refuses his hellos), half each.

The line: ``sent`` (bytes), ``store_growth`` (bytes of the store's files), ``writes`` (the
store's head before and after), ``rss_growth`` (the peak resident size over the one after
the setup, bytes), ``seconds``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs

from peerstate import Peer, PeerSettings, network, open_store, wire
from peerstate.bounds import MAX_FRAME_BYTES, MAX_HANDSHAKE_BYTES
from peerstate.calls import envelopes
from peerstate.domain.group_events import PresencePublished
from peerstate.peer import sync_port
from peerstate.sync import Batch, Connector, Listener, MemberHello, PasswordHello

from tests.conftest import T0

PASSWORD = "knight-e4-e5"


def _files(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir())


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Victim:
    """alice on a SQLite store, listening; bob, a member on his own peer, synchronized."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.store = open_store(directory)
        self.alice = Peer(self.store, settings=PeerSettings(address="alice"), clock=lambda: T0)
        self.bob = Peer(open_store(None), settings=PeerSettings(address="bob"), clock=lambda: T0)
        alice_name, bob_name = self.alice.create_identity("alice"), self.bob.create_identity("bob")
        handle = self.alice.create_group(
            alice_name, "chess", authentication_schemes=2, password=PASSWORD, password_role="PEER_GROUP_ROLE_MEMBER",
        )
        self.alice.connect(handle)
        self.group = self.alice.group_properties(handle).group_peer_name
        self.bob.connect(self.bob.password_join(bob_name, self.alice.create_password_invitation(handle), PASSWORD).handle)
        network.synchronize({"alice": self.alice, "bob": self.bob})
        self.alice_key, self.bob_key = (alice_name, self.group), (bob_name, self.group)

    def listener(self, remote: Peer, key: tuple[str, str]) -> Listener:
        return Listener(sync_port(self.alice), self.alice_key, network.node(sync_port(remote), key))

    def authenticated(self) -> Listener:
        """alice's side of a conversation in which bob has proven his key and taken her data,
        unless she no longer hears him (cut off too often): then it is closed."""
        listener = self.listener(self.bob, self.bob_key)
        connector = Connector(sync_port(self.bob), self.bob_key, network.node(sync_port(self.alice), self.alice_key))
        challenge = listener.receive(connector.start())
        if listener.state == "closed":
            return listener
        assert challenge is not None
        proof = connector.receive(challenge)
        assert proof is not None and listener.receive(proof) is not None
        assert listener.state == "receiving", listener.state
        return listener


def outsiders(victim: Victim, budget: int) -> Iterator[int]:
    """Each conversation an outsider starts: the bytes it sent."""
    mallory = Peer(open_store(None), settings=PeerSettings(address="mallory"), clock=lambda: T0)
    name = mallory.create_identity("mallory")
    card = sync_port(mallory).sync_card(name)
    chain = sync_port(victim.bob).sync_chain(victim.bob_key)
    junk = bytes(1024)
    padded = MemberHello(victim.group, name, card, (junk,) * 1, os.urandom(32), T0)
    links = (MAX_HANDSHAKE_BYTES - len(wire.canonical(padded)) - 16 * 1024) // len(wire.canonical(junk))
    largest_hello = wire.canonical(attrs.evolve(padded, chain=(junk,) * links + chain[1:]))
    assert len(largest_hello) <= MAX_HANDSHAKE_BYTES
    frame = os.urandom(MAX_FRAME_BYTES)
    hello = wire.canonical(PasswordHello(victim.group, name, card, os.urandom(32), T0))
    out_of_turn = _forged_run(victim, 150, 1)  # what bob could have sent, pushed by mallory
    assert len(out_of_turn) <= MAX_HANDSHAKE_BYTES
    kinds = ((frame,), (largest_hello,), (hello, out_of_turn))
    sent = 0
    while sent < budget:
        for messages in kinds:
            listener = victim.listener(mallory, (name, victim.group))
            for message in messages:
                listener.receive(message)
            yield sum(map(len, messages))
            sent += sum(map(len, messages))


def _forged_run(victim: Victim, count: int, shift: int) -> bytes:
    """An incomplete batch of ``count`` of bob's envelopes after his head (``shift`` past
    it: a gap), signed with a signature his key never made."""
    state = sync_port(victim.alice).sync_replica(victim.alice_key).state.group
    head = state.heads[victim.bob_key[0]]
    template = envelopes.accepted(victim.bob._runtime, victim.bob_key)[-1]
    batch = [
        attrs.evolve(
            template, seq=head.seq + 1 + shift + index, prev=head.last,
            payload=PresencePublished(f"bob-{index}", T0), signature=os.urandom(256),
        )
        for index in range(count)
    ]
    return wire.canonical(Batch(tuple(batch), (), False))


def member(victim: Victim, budget: int) -> Iterator[int]:
    """bob's hostile batches, the largest a frame carries: half of them envelopes with a gap,
    on one conversation (refused for lack of context: bob stays), then envelopes his key
    never signed (each cuts him off: he connects again, until alice no longer hears him)."""
    per_batch = 1800
    gaps = _forged_run(victim, per_batch, 1)
    forged = _forged_run(victim, per_batch, 0)
    assert len(forged) <= MAX_FRAME_BYTES and len(gaps) <= MAX_FRAME_BYTES
    sent = 0
    listener = victim.authenticated()
    while sent < budget // 2:
        listener.receive(gaps)
        yield len(gaps)
        sent += len(gaps)
    while sent < budget:
        victim.authenticated().receive(forged)
        yield len(forged)
        sent += len(forged)


def main() -> None:
    directory, attacker, megabytes = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    victim = Victim(directory)
    files, head, baseline = _files(directory), victim.store.head(), _peak()
    started = time.perf_counter()
    attack = outsiders if attacker == "outsider" else member
    sent = sum(attack(victim, megabytes * 1000 * 1000))
    print(json.dumps({
        "sent": sent, "store_growth": _files(directory) - files, "writes": [head, victim.store.head()],
        "rss_growth": _peak() - baseline, "seconds": round(time.perf_counter() - started, 1),
    }), flush=True)


if __name__ == "__main__":
    main()
