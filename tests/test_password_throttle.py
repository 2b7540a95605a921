"""An online password guessing run against an administrator is slowed to the documented
policy: after 3 wrong passwords in a row a joiner, or an address, waits 1 s, then 2 s,
4 s ... (at most an hour) before its next guess is even checked; after 10 in a row from
anyone, every address that guessed wrong does. A guess counts from its hello, so parallel
conversations count them all. Each guess checked is counted outside the log, so that no
run of guesses grows it; an attempt turned away is not even counted, since the joiner has
not proven anything yet; and a success forgives."""

from __future__ import annotations

from datetime import datetime, timedelta

from peerstate import Peer, PeerSettings, network, open_store, sync
from peerstate.bounds import MAX_THROTTLED_GUESSERS
from peerstate.domain.group_state import GroupState
import pytest

from peerstate.domain.replica import WRONG_PASSWORD_RULE, Guesses, ReplicaState, WrongPasswords, counted_before, evolve_replica
from peerstate.domain.rules import FREE_GUESSES, LONGEST_WAIT, password_guess_allowed
from peerstate.errors import PeerError
from peerstate.peer import sync_port
from peerstate.sync.port import Neighbor
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


def _checked(alice: Peer, key: tuple[str, str]) -> int:
    """How many wrong passwords alice's replica counted since the last success."""
    counted = alice._runtime.store.wrong_passwords(*key)
    return 0 if counted is None else counted.group.count


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
        written = alice._runtime.store.replica_events(*key)[before:]
        own = [event for event in written if isinstance(event, EnvelopeAccepted) and event.envelope.author == alice_name]
        assert written == own, "a guess, checked or turned away, wrote to the log (alice republishing her presence aside)"

    checked = _checked(alice, key)
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
    assert _checked(alice, key) == 0


def _club_and_guesser(clock: Clock, guessers: int) -> tuple[Peer, tuple[str, str], Peer, list[tuple[str, str]], str]:
    """alice's password group, listening, and mallory's peer (address "mallory") with
    ``guessers`` identities, each joined by a wrong password: alice, her replica's key,
    mallory, the keys of mallory's replicas, and the invitation."""
    alice = Peer(open_store(None), clock=clock, settings=PeerSettings(address="alice"))
    alice_name = alice.create_identity("alice")
    handle = alice.create_group(alice_name, "club", authentication_schemes=2, password=PASSWORD, password_role=ROLE_MEMBER)
    alice.connect(handle)
    group = alice.group_properties(handle).group_peer_name
    invitation = alice.create_password_invitation(handle)
    mallory = Peer(open_store(None), clock=clock, settings=PeerSettings(address="mallory"))
    keys = []
    for index in range(guessers):
        name = mallory.create_identity(f"guesser{index}")
        mallory.connect(mallory.password_join(name, invitation, f"wrong guess {index}").handle)
        keys.append((name, group))
    return alice, (alice_name, group), mallory, keys, invitation


def _in_parallel(alice: Peer, alice_key: tuple[str, str], joiner: Peer, keys: list[tuple[str, str]], *, addresses: bool = False) -> None:
    """One conversation per key, all at once: every hello answered before any proof; with
    ``addresses``, each seen by alice as coming from an address of its own."""
    pairs = [
        (sync.Connector(sync_port(joiner), key, network.node(sync_port(alice), alice_key)),
         sync.Listener(sync_port(alice), alice_key, Neighbor(f"address{index}", key[0]) if addresses else network.node(sync_port(joiner), key)))
        for index, key in enumerate(keys)
    ]
    answers = [listener.receive(connector.start()) for connector, listener in pairs]
    for (connector, listener), answer in zip(pairs, answers):
        assert answer is not None
        proof = connector.receive(answer)
        if proof is not None:
            listener.receive(proof)


def test_parallel_sessions_count_every_guess_they_start() -> None:
    """The attack: 30 conversations at once, 29 with a wrong password and the last with the
    right one. Before, the throttle was read at each hello and counted at each proof, so all
    30 were checked and the last got a GMC. Now each hello reserves its guess: past the
    guesses one address may make, the rest are turned away at their hello, the right one
    too, and at most ``FREE_GUESSES`` wrong ones are checked."""
    clock = Clock()
    alice, alice_key, mallory, keys, invitation = _club_and_guesser(clock, 29)
    rightful = mallory.create_identity("rightful")
    mallory.connect(mallory.password_join(rightful, invitation, PASSWORD).handle)
    keys.append((rightful, alice_key[1]))
    _in_parallel(alice, alice_key, mallory, keys)
    assert _checked(alice, alice_key) <= FREE_GUESSES
    assert sync_port(alice).sync_replica(alice_key).state.group.credential_of(rightful, clock.now) is None


def test_one_joiner_s_parallel_sessions_count_from_any_address() -> None:
    """One identity guesses in six conversations at once, each from an address of its own:
    its own guesses under way count, so at most ``FREE_GUESSES`` are checked."""
    clock = Clock()
    alice, alice_key, mallory, keys, _ = _club_and_guesser(clock, 1)
    _in_parallel(alice, alice_key, mallory, keys * 6, addresses=True)
    assert _checked(alice, alice_key) == FREE_GUESSES


def test_guessing_from_one_address_does_not_keep_a_joiner_elsewhere_out() -> None:
    """The attack: a guesser changes its identity at every guess, to spend the group's
    budget and keep the rightful joiner out (44 guesses in a day kept it out on all its
    144 tries). Now the group's budget binds only an address that has guessed wrong: bob,
    from his own address, is checked at once, with the right password, and joins."""
    clock = Clock()
    alice, alice_key, mallory, keys, invitation = _club_and_guesser(clock, 44)
    for key in keys:
        clock.now += timedelta(minutes=30)
        _in_parallel(alice, alice_key, mallory, [key])
    assert _checked(alice, alice_key) < 44
    bob = Peer(open_store(None), clock=clock, settings=PeerSettings(address="bob"))
    bob_name = bob.create_identity("bob")
    bob.connect(bob.password_join(bob_name, invitation, PASSWORD).handle)
    network.synchronize({"alice": alice, "bob": bob})
    assert sync_port(bob).sync_replica((bob_name, alice_key[1])).state.synchronized


def test_guesses_from_many_addresses_add_no_row_to_the_log() -> None:
    """The attack: a guesser with many addresses (an IPv6 prefix) and an identity per guess
    is checked once from each new address. Before, each wrong password it had checked was a
    ``JoinRefused`` row in the listener's log, so guessing grew the log without end. Now
    alice's log gains nothing, and her counters hold one count per address."""
    clock = Clock()
    alice, alice_key, mallory, keys, _ = _club_and_guesser(clock, 40)
    before = alice._runtime.store.replica_events(*alice_key)
    _in_parallel(alice, alice_key, mallory, keys, addresses=True)
    written = alice._runtime.store.replica_events(*alice_key)[len(before):]
    assert [event for event in written if not isinstance(event, EnvelopeAccepted)] == []
    counted = alice._runtime.store.wrong_passwords(*alice_key)
    assert counted is not None and counted.group.count == 40 and len(counted.addresses) == 40


def test_a_count_edited_past_any_wait_costs_nothing_to_read() -> None:
    """A counter is read from the store, which anyone who can write the file can edit: a
    count of 2**62 waits the longest wait, and is not raised to its power."""
    counted = WrongPasswords(group=Guesses(2**62, T0)).after("mallory", "::1", T0)
    with pytest.raises(PeerError) as refused:
        password_guess_allowed(counted, "bob", "::1", T0 + LONGEST_WAIT - timedelta(seconds=1), ())
    assert refused.value.name == "PEER_E_CONNECTION_REFUSED"
    password_guess_allowed(counted, "bob", "::1", T0 + LONGEST_WAIT, ())


def test_the_throttle_keeps_a_bounded_count_of_guessers() -> None:
    """However many identities and addresses guess wrong, a replica keeps the count of at
    most ``MAX_THROTTLED_GUESSERS`` of each, the most recent: one guess each from one more
    than that, and the first is forgotten."""
    counted = WrongPasswords()
    for index in range(MAX_THROTTLED_GUESSERS + 1):
        counted = counted.after(f"joiner{index}", f"::{index}", T0 + timedelta(seconds=index))
    assert len(counted.joiners) == len(counted.addresses) == MAX_THROTTLED_GUESSERS
    assert counted.of_joiner("joiner0") == counted.of_address("::0") == Guesses()
    assert counted.group.count == MAX_THROTTLED_GUESSERS + 1


def test_a_log_written_before_counts_its_refusals_within_the_bound() -> None:
    """A log written before issue 30 holds a ``JoinRefused`` per wrong password: its fold
    keeps the same bounded counts, which the replica starts counting from."""
    state = ReplicaState(GroupState("group"))
    for index in range(MAX_THROTTLED_GUESSERS + 1):
        refused = JoinRefused(f"joiner{index}", WRONG_PASSWORD_RULE, "PEER_E_NOT_AUTHORIZED", "", T0 + timedelta(seconds=index), f"::{index}")
        state = evolve_replica(state, refused)
    for counted in (state.wrong_passwords, state.wrong_passwords_from):
        assert len(counted) == MAX_THROTTLED_GUESSERS
    assert "joiner0" not in state.wrong_passwords and "::0" not in state.wrong_passwords_from
    assert state.wrong_passwords_in_group.count == MAX_THROTTLED_GUESSERS + 1
    assert counted_before(state).group == state.wrong_passwords_in_group


def test_a_success_forgives_its_joiner_and_the_group_not_others_or_its_address() -> None:
    """The right password starts its joiner and the group counting again; another joiner's
    count, and every address's, stay: a guesser cannot clear its address by joining."""
    counted = WrongPasswords().after("mallory", "::1", T0).after("bob", "::2", T0)
    forgiven = counted.forgiving("bob")
    assert forgiven.of_joiner("bob") == Guesses() and forgiven.group == Guesses()
    assert forgiven.of_joiner("mallory") == counted.of_joiner("mallory") and forgiven.of_address("::2") == counted.of_address("::2")
