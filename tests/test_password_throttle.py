"""An online password guessing run against an administrator is slowed to the documented
policy: after 3 wrong passwords in a row a joiner waits 1 s, then 2 s, 4 s ... (at most an
hour) before its next guess is even checked; after 10 in a row from anyone, every joiner
does. Each guess checked is kept in the log; an attempt turned away writes nothing at all,
since the joiner has not proven anything yet; and a success forgives."""

from __future__ import annotations

from datetime import datetime, timedelta

from peerstate.peer import sync_port
from peerstate import Peer, PeerSettings, network, open_store
from peerstate.constants import PeerGroupEventType
from peerstate.domain.group_events import EnvelopeAccepted, JoinRefused
from peerstate.names import ROLE_MEMBER
from peerstate.calls.sessions import Interest

from tests.conftest import T0

PASSWORD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _refusals(alice: Peer, key: tuple[str, str], rule: str) -> int:
    return sum(
        1 for event in alice._runtime.store.replica_events(*key) if isinstance(event, JoinRefused) and event.rule == rule
    )


def test_an_hour_of_guessing_every_ten_seconds_gets_a_handful_of_guesses_checked() -> None:
    clock = Clock()
    alice, mallory, bob = (Peer(open_store(None), clock=clock, settings=PeerSettings(address=who)) for who in ("alice", "mallory", "bob"))
    alice_name = alice.create_identity("alice")
    handle = alice.create_group(alice_name, "club", authentication_schemes=2, password=PASSWORD, password_role=ROLE_MEMBER)
    alice.connect(handle)
    key = (alice_name, alice.group_properties(handle).group_peer_name)
    invitation = alice.create_password_invitation(handle)
    joined = mallory.password_join(mallory.create_identity("mallory"), invitation, "wrong guess")
    mallory.connect(joined.handle)
    events = mallory.register_event(joined.handle, [
        Interest(PeerGroupEventType.PEER_GROUP_EVENT_AUTHENTICATION_FAILED), Interest(PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED),
    ])

    attempts = 360
    reasons = []
    for _ in range(attempts):
        clock.now += timedelta(seconds=10)
        before = len(alice._runtime.store.replica_events(*key))
        network.synchronize({"alice": alice, "mallory": mallory})
        while (event := mallory.event_data(events)) is not None:
            reasons.append((event.event_type, event.failure))
        if reasons[-1] == (PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED, "PEER_E_CONNECTION_REFUSED"):
            written = alice._runtime.store.replica_events(*key)[before:]
            own = [event for event in written if isinstance(event, EnvelopeAccepted) and event.envelope.author == alice_name]
            assert written == own, "a hello turned away wrote something (alice republishing her presence aside)"

    checked = _refusals(alice, key, "password_proof_matches")
    assert _refusals(alice, key, "password_guess_allowed") == 0
    assert 3 < checked <= 3 + 12  # 1 + 2 + 4 + ... + 2048 s covers the hour: at most twelve more
    assert len(reasons) == attempts
    assert reasons.count((PeerGroupEventType.PEER_GROUP_EVENT_AUTHENTICATION_FAILED, "PEER_E_NOT_AUTHORIZED")) == checked
    assert reasons.count((PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED, "PEER_E_CONNECTION_REFUSED")) == attempts - checked
    assert not sync_port(mallory).sync_replica((mallory.identities()[0].peer_name, key[1])).state.synchronized

    # the rightful joiner waits at most the longest wait, then gets in, and that forgives
    bob_joined = bob.password_join(bob.create_identity("bob"), invitation, PASSWORD)
    bob.connect(bob_joined.handle)
    clock.now += timedelta(hours=1)
    network.synchronize({"alice": alice, "bob": bob})
    assert sync_port(bob).sync_replica((bob.identities()[0].peer_name, key[1])).state.synchronized
    assert sync_port(alice).sync_replica(key).state.wrong_passwords_in_group.count == 0
