"""The sync conversation's state tables (``sync.connector``, ``sync.listener``): every kind of
message sent to each side in each of its states. A message the table does not allow there
is refused under ``message_is_expected`` and ends the conversation; a refusal received ends
it quietly; a closed side answers nothing. In every case nothing changes: no store, no
replica, no connection.

Then the attacks on the door, as an attacker drives them by hand: group data pushed to a
listener by someone who never proved the key of the identity it claims."""

from __future__ import annotations

import os
from datetime import timedelta

import attrs
import pytest

from peerstate import Peer, PeerSettings, open_store, sync, wire
from peerstate.bounds import (
    MAX_BATCH_BYTES, MAX_BATCH_ENVELOPES, MAX_CUT_OFFS, MAX_FRAME_BYTES, MAX_HANDSHAKE_BYTES, MAX_RECORD_SIZE,
)
from peerstate.calls import envelopes
from peerstate.crypto import pake
from peerstate.domain.group_events import Envelope, PresencePublished
from peerstate.peer import sync_port
from peerstate.sync import batches, connector as connector_module, listener as listener_module
from peerstate.sync.port import Neighbor

from tests.conftest import T0
from tests.test_sync_rules import Club, _answer, make_club

KIND = "5f0c1f4e-0000-4000-8000-00000000c0de"


@pytest.fixture(scope="module")
def club() -> Club:
    return make_club()


@pytest.fixture(autouse=True)
def one_envelope_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of one envelope, so that either side can be caught between two of them."""
    monkeypatch.setattr(batches, "BATCH_BYTES", 1)


def _news(peer: Peer, handle: str) -> None:
    """Two records the other side lacks: enough for a conversation of several batches."""
    for _ in range(2):
        peer.add_record(handle, KIND, T0 + timedelta(days=1), data=os.urandom(8))


def _listener_in(club: Club, state: str) -> sync.Listener:
    """alice listening, bob connecting, driven until alice is in ``state``."""
    _news(club.alice, club.handles["alice"])
    _news(club.bob, club.handles["bob"])
    connector, listener = club.connector(), club.listener()
    message: bytes | None = connector.start()
    while listener.state != state:
        assert message is not None, f"the conversation ended before the listener was {state}"
        answer = listener.receive(message)
        if listener.state == state:
            break
        assert answer is not None
        message = connector.receive(answer)
    return listener


def _connector_in(club: Club, state: str) -> sync.Connector:
    """bob connecting to alice, driven until bob is in ``state``."""
    _news(club.alice, club.handles["alice"])
    _news(club.bob, club.handles["bob"])
    connector, listener = club.connector(), club.listener()
    if state == "ready":
        return connector
    message: bytes | None = connector.start()
    while connector.state != state:
        assert message is not None, f"the conversation ended before the connector was {state}"
        answer = listener.receive(message)
        assert answer is not None
        message = connector.receive(answer)
    return connector


def _samples(club: Club) -> dict[str, bytes]:
    """One message of each kind, as a peer could send it."""
    port = sync_port(club.carol)
    identity, group = club.carol_key
    card, now = port.sync_card(identity), T0
    member_hello = club.connector().start()
    challenge = club.listener().receive(club.connector().start())
    assert challenge is not None
    return {
        "MemberHello": member_hello,
        "PasswordHello": wire.canonical(sync.PasswordHello(group, identity, card, os.urandom(32), now)),
        "ExpiredMemberHello": wire.canonical(sync.ExpiredMemberHello(group, identity, card, os.urandom(32), now)),
        "Challenge": challenge,
        "Proof": wire.canonical(sync.Proof(b"signature", b"", ())),
        "Batch": wire.canonical(sync.Batch((), (), True)),
        "More": wire.canonical(sync.More()),
        "End": wire.canonical(sync.End()),
        "Refusal": wire.canonical(sync.Refusal("PEER_E_CONNECTION_FAILED", "no", False)),
    }


KINDS = ("MemberHello", "PasswordHello", "ExpiredMemberHello", "Challenge", "Proof", "Batch", "More", "End", "Refusal")
LISTENER_STATES = ("awaiting_hello", "challenged", "sending", "receiving", "closed")
CONNECTOR_STATES = ("ready", "hello_sent", "receiving", "sending", "sent", "closed")


def _check(club: Club, refusals: list[tuple[str, str]], side: sync.Listener | sync.Connector, state: str, kind: str,
           data: bytes, allowed: set[tuple[str, str]]) -> None:
    """``side``, in ``state``, takes ``data`` as its table says, and nothing changes unless allowed."""
    if (state, kind) in allowed:
        return
    before = club.state()
    refusals.clear()
    answer = side.receive(data)
    if state == "closed" or kind == "Refusal":
        assert answer is None and refusals == []
    else:
        refusal = _answer(answer)
        assert isinstance(refusal, sync.Refusal), (state, kind, refusal)
        assert refusal.error == "PEER_E_CONNECTION_FAILED" and f"an unexpected {kind} while {state}" in refusal.reason
        assert refusals == [("message_is_expected", "PEER_E_CONNECTION_FAILED")]
    assert side.state == "closed"
    assert club.state() == before, (state, kind)
    assert side.receive(data) is None, "a closed conversation answers nothing"
    assert club.state() == before


def _allowed(table: dict[tuple[str, type], object]) -> set[tuple[str, str]]:
    return {(state, kind.__name__) for state, kind in table}


@pytest.mark.parametrize("state", LISTENER_STATES)
def test_the_listener_takes_only_what_its_table_allows(club: Club, refusals: list[tuple[str, str]], state: str) -> None:
    allowed = _allowed(listener_module._TABLE)  # type: ignore[arg-type]
    samples = _samples(club)
    for kind in KINDS:
        _check(club, refusals, _listener_in(club, state), state, kind, samples[kind], allowed)


@pytest.mark.parametrize("state", CONNECTOR_STATES)
def test_the_connector_takes_only_what_its_table_allows(club: Club, refusals: list[tuple[str, str]], state: str) -> None:
    allowed = _allowed(connector_module._TABLE)  # type: ignore[arg-type]
    samples = _samples(club)
    for kind in KINDS:
        _check(club, refusals, _connector_in(club, state), state, kind, samples[kind], allowed)


def test_every_state_of_each_table_is_reached_and_named() -> None:
    assert {state for state, _ in listener_module._TABLE} | {"closed"} == set(LISTENER_STATES)
    assert {state for state, _ in connector_module._TABLE} | {"ready", "closed"} == set(CONNECTOR_STATES)


# Group data pushed before any proof -----------------------------------------------------------

def _bobs_news(club: Club) -> Envelope:
    """An envelope bob wrote that alice lacks: what a relay, or a thief, could push to her."""
    _news(club.bob, club.handles["bob"])
    return envelopes.accepted(club.bob._runtime, club.bob_key)[-1]


def _pushed(club: Club, refusals: list[tuple[str, str]], listener: sync.Listener, batch: bytes) -> None:
    """The batch is refused as out of turn, and alice stores nothing, lists no connection."""
    before = club.state()
    refusals.clear()
    answer = _answer(listener.receive(batch))
    assert isinstance(answer, sync.Refusal) and answer.error == "PEER_E_CONNECTION_FAILED"
    assert refusals == [("message_is_expected", "PEER_E_CONNECTION_FAILED")]
    assert club.state() == before


def test_an_outsider_to_a_password_group_cannot_push_a_batch(club: Club, refusals: list[tuple[str, str]]) -> None:
    mallory = Peer(open_store(None), settings=PeerSettings(address="mallory"), clock=lambda: T0)
    name = mallory.create_identity("mallory")
    public = pake.Joiner(club.alice_key[1], b"a guess").public
    hello = sync.PasswordHello(club.alice_key[1], name, sync_port(mallory).sync_card(name), os.urandom(32), T0, public)
    listener = sync.Listener(sync_port(club.alice), club.alice_key, Neighbor("mallory", name))
    assert isinstance(_answer(listener.receive(wire.canonical(hello))), sync.Challenge)
    _pushed(club, refusals, listener, wire.canonical(sync.Batch((_bobs_news(club),), (), True)))


def test_a_copy_of_a_members_idc_and_chain_without_its_key_cannot_push_a_batch(
    club: Club, refusals: list[tuple[str, str]],
) -> None:
    port = sync_port(club.bob)
    hello = sync.MemberHello(
        club.bob_key[1], club.bob_key[0], port.sync_card(club.bob_key[0]), port.sync_chain(club.bob_key), os.urandom(32), T0,
    )
    listener = sync.Listener(sync_port(club.alice), club.alice_key, Neighbor("thief", club.bob_key[0]))
    assert isinstance(_answer(listener.receive(wire.canonical(hello))), sync.Challenge)
    _pushed(club, refusals, listener, wire.canonical(sync.Batch((_bobs_news(club),), (), True)))


def test_a_connector_whose_proof_was_refused_cannot_push_a_batch(club: Club, refusals: list[tuple[str, str]]) -> None:
    listener = club.listener()
    assert isinstance(_answer(listener.receive(club.connector().start())), sync.Challenge)
    refused = _answer(listener.receive(wire.canonical(sync.Proof(bytes(256), b"", ()))))
    assert isinstance(refused, sync.Refusal) and refused.error == "PEER_E_CONNECTION_NOT_AUTHENTICATED"
    batch = wire.canonical(sync.Batch((_bobs_news(club),), (), True))
    before = club.state()
    assert listener.receive(batch) is None
    assert club.state() == before


# A member cut off too often ---------------------------------------------------------------------

def test_a_member_cut_off_too_often_is_not_heard_again(refusals: list[tuple[str, str]]) -> None:
    """bob proves his key each time, then sends an envelope his key never signed: each cuts
    him off (``signature_verifies``), and after ``MAX_CUT_OFFS`` alice refuses his hello
    (``sender_not_cut_off_too_often``) and changes nothing."""
    club = make_club()
    head = sync_port(club.alice).sync_replica(club.alice_key).state.group.heads[club.bob_key[0]]
    template = [envelope for envelope in envelopes.accepted(club.bob._runtime, club.bob_key) if envelope.author == club.bob_key[0]][-1]
    for attempt in range(MAX_CUT_OFFS):
        forged = attrs.evolve(template, seq=head.seq + 1, prev=head.last, signature=bytes([attempt]) * 256)
        batch = wire.canonical(sync.Batch((forged,), (), True))
        connector, listener = club.connector(), club.listener()
        listener.receive(connector.receive(listener.receive(connector.start()) or b"") or b"")
        assert listener.state == "receiving"
        refused = _answer(listener.receive(batch))
        assert isinstance(refused, sync.Refusal) and refused.error == "PEER_E_INVALID_RECORD"
    before = club.state()
    refusals.clear()
    refused = _answer(club.listener().receive(club.connector().start()))
    assert isinstance(refused, sync.Refusal) and refused.error == "PEER_E_CONNECTION_REFUSED"
    assert refusals == [("sender_not_cut_off_too_often", "PEER_E_CONNECTION_REFUSED")]
    assert club.state() == before


def test_the_largest_legal_record_travels_in_one_frame() -> None:
    """A record of ``MAX_RECORD_SIZE`` bytes of data is larger than a batch carries, so it
    goes alone, in a frame larger than ``MAX_BATCH_BYTES`` and within ``MAX_FRAME_BYTES``."""
    club = make_club()
    record = club.alice.add_record(club.handles["alice"], KIND, T0 + timedelta(days=1), data=os.urandom(MAX_RECORD_SIZE))
    sent: list[bytes] = []
    assert sync.exchange(club.connector(), club.listener(), transcript=sent) == "synchronized"
    assert MAX_BATCH_BYTES < max(map(len, sent)) <= MAX_FRAME_BYTES
    assert club.bob.get_record(club.handles["bob"], record) == club.alice.get_record(club.handles["alice"], record)


# Bounds of the conversation's messages ------------------------------------------------------------

def test_a_hello_must_name_a_peer_name(club: Club, refusals: list[tuple[str, str]]) -> None:
    hello = _answer(club.connector().start())
    assert isinstance(hello, sync.MemberHello)
    before = club.state()
    refused = _answer(club.listener().receive(wire.canonical(attrs.evolve(hello, identity=hello.identity + "\n\x1b[2J"))))
    assert isinstance(refused, sync.Refusal) and refused.error == "PEER_E_INVALID_PEER_NAME"
    assert refusals == [("peer_name_is_well_formed", "PEER_E_INVALID_PEER_NAME")]
    assert club.state() == before


def test_a_proof_with_a_head_for_each_of_thousands_of_authors_is_read(club: Club, refusals: list[tuple[str, str]]) -> None:
    """A proof carries a head per author of the group: it is held to the frame, not to the
    hello's cap, and this one, not signed by bob, is refused for its signature alone."""
    listener = club.listener()
    assert isinstance(_answer(listener.receive(club.connector().start())), sync.Challenge)
    heads = tuple(sync.Head(f"{index:040x}.member", 1) for index in range(3000))
    proof = wire.canonical(sync.Proof(bytes(256), b"", heads))
    assert MAX_HANDSHAKE_BYTES < len(proof) <= MAX_FRAME_BYTES
    before = club.state()
    refusals.clear()
    refused = _answer(listener.receive(proof))
    assert isinstance(refused, sync.Refusal) and refusals == [("connector_signature_verifies", "PEER_E_CONNECTION_NOT_AUTHENTICATED")]
    assert club.state() == before


def test_a_batch_of_more_envelopes_than_the_bound_is_refused_whole(club: Club, refusals: list[tuple[str, str]]) -> None:
    listener = _listener_in(club, "receiving")
    template = envelopes.accepted(club.bob._runtime, club.bob_key)[-1]
    small = attrs.evolve(template, payload=PresencePublished("bob", T0), signature=b"")
    many = tuple(attrs.evolve(small, seq=template.seq + 1 + index) for index in range(MAX_BATCH_ENVELOPES + 1))
    batch = wire.canonical(sync.Batch(many, (), True))
    assert len(batch) <= MAX_FRAME_BYTES
    before = club.state()
    refusals.clear()
    refused = _answer(listener.receive(batch))
    assert isinstance(refused, sync.Refusal) and refused.error == "PEER_E_CONNECTION_FAILED"
    assert refusals == [("batch_is_within_bounds", "PEER_E_CONNECTION_FAILED")]
    assert club.state() == before
