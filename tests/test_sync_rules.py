"""The conversation's own rules (``peerstate.sync``): each broken alone, in a real conversation
between alice, listening, and a connector, refuses under its rule's name; the refusal that
travels says the rule's HRESULT; the connector's CONNECTION_FAILED event names it; and
neither side's store or replica changes.

A refusal's rule name does not travel (a ``Refusal`` message carries its HRESULT and reason),
so the rule that refused is read where it refused, by recording every refusal the registry
makes while a message is taken."""

from __future__ import annotations


import attrs
import pytest

from peerstate import Peer, PeerSettings, network, open_store, registry, sync, views, wire
from peerstate.calls.sessions import Interest
from peerstate.constants import PeerGroupEventType
from peerstate.peer import sync_port
from peerstate.storage.peer_store import PeerStore
from peerstate.sync.port import ReplicaKey

from tests.conftest import T0

PASSWORD = "knight-e4-e5"
FAILED = PeerGroupEventType.PEER_GROUP_EVENT_CONNECTION_FAILED
AUTHENTICATION_FAILED = PeerGroupEventType.PEER_GROUP_EVENT_AUTHENTICATION_FAILED


@attrs.define
class Club:
    """alice's password group, which bob joined; carol, on a peer of her own, has joined it
    by password but not yet synchronized."""

    alice: Peer
    bob: Peer
    carol: Peer
    stores: tuple[PeerStore, PeerStore, PeerStore]
    alice_key: ReplicaKey
    bob_key: ReplicaKey
    carol_key: ReplicaKey
    handles: dict[str, str]

    def connector(self, who: str = "bob") -> sync.Connector:
        peer, key = (self.bob, self.bob_key) if who == "bob" else (self.carol, self.carol_key)
        return sync.Connector(sync_port(peer), key, network.node(sync_port(self.alice), self.alice_key))

    def listener(self, who: str = "bob") -> sync.Listener:
        peer, key = (self.bob, self.bob_key) if who == "bob" else (self.carol, self.carol_key)
        return sync.Listener(sync_port(self.alice), self.alice_key, network.node(sync_port(peer), key))

    def state(self) -> tuple[object, ...]:
        """What a refused conversation must leave as it was: every store, every replica's
        group, and every replica's connections."""
        replicas = [(self.alice, self.alice_key), (self.bob, self.bob_key), (self.carol, self.carol_key)]
        return (
            tuple(store.head() for store in self.stores),
            tuple(views.group_digest(sync_port(peer).sync_replica(key).state.group) for peer, key in replicas),
            tuple(sync_port(peer).sync_replica(key).state.synchronized for peer, key in replicas),
            tuple(sync_port(peer).sync_connections(key) for peer, key in replicas),
        )


@pytest.fixture(scope="module")
def club() -> Club:
    return make_club()


def make_club() -> Club:
    """alice's password group, bob synchronized in it, carol joined but not synchronized."""
    stores = (open_store(None), open_store(None), open_store(None))
    alice, bob, carol = (
        Peer(store, settings=PeerSettings(address=address), clock=lambda: T0)
        for store, address in zip(stores, ("alice", "bob", "carol"))
    )
    alice_name, bob_name, carol_name = alice.create_identity("alice"), bob.create_identity("bob"), carol.create_identity("carol")
    handle = alice.create_group(
        alice_name, "chess", authentication_schemes=2, password=PASSWORD, password_role="PEER_GROUP_ROLE_MEMBER",
    )
    alice.connect(handle)
    group = alice.group_properties(handle).group_peer_name
    joined = bob.password_join(bob_name, alice.create_password_invitation(handle), PASSWORD)
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    carol_joined = carol.password_join(carol_name, alice.create_password_invitation(handle), PASSWORD)
    carol.connect(carol_joined.handle)
    return Club(
        alice, bob, carol, stores, (alice_name, group), (bob_name, group), (carol_name, group),
        {"alice": handle, "bob": joined.handle, "carol": carol_joined.handle},
    )


def _answer(data: bytes | None) -> sync.Message:
    assert data is not None
    message: sync.Message = wire.decode(data, sync.Message)  # type: ignore[arg-type]
    return message


def _hello(club: Club, **changes: object) -> bytes:
    """bob's hello, with ``changes``."""
    hello = _answer(club.connector().start())
    assert isinstance(hello, sync.Hello)
    return wire.canonical(attrs.evolve(hello, **changes))


def _listener_refuses(club: Club, refusals: list[tuple[str, str]], data: bytes, rule: str, code: str, reason: str,
                      listener: sync.Listener | None = None) -> None:
    """alice, listening, answers ``data`` with a refusal of ``code`` under ``rule`` alone, and nothing changes."""
    before = club.state()
    refusals.clear()
    answer = _answer((listener or club.listener()).receive(data))
    assert isinstance(answer, sync.Refusal)
    assert (answer.error, answer.authentication) == (code, False) and reason in answer.reason, answer
    assert refusals == [(rule, code)]
    assert club.state() == before


def _connector_refuses(club: Club, refusals: list[tuple[str, str]], connector: sync.Connector, data: bytes,
                       rule: str, code: str, reason: str, who: str = "bob") -> None:
    """The connector answers ``data`` with a refusal of ``code`` under ``rule`` alone, says so
    in one CONNECTION_FAILED event, and nothing changes."""
    peer = club.bob if who == "bob" else club.carol
    failures = peer.register_event(club.handles[who], [Interest(FAILED), Interest(AUTHENTICATION_FAILED)])
    before = club.state()
    refusals.clear()
    answer = _answer(connector.receive(data))
    assert isinstance(answer, sync.Refusal)
    assert (answer.error, answer.authentication) == (code, False) and reason in answer.reason, answer
    assert refusals == [(rule, code)]
    assert connector.outcome == "refused"
    event = peer.event_data(failures)
    assert event is not None and (event.event_type, event.failure) == (FAILED, code)
    assert peer.event_data(failures) is None
    peer.unregister_event(failures)
    assert club.state() == before


# The listener's rules ---------------------------------------------------------------------------

def test_a_malformed_message_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    _listener_refuses(club, refusals, b"not a message", "message_is_well_formed", "PEER_E_CONNECTION_FAILED",
                      "a malformed message")
    connector = club.connector()
    connector.start()
    _connector_refuses(club, refusals, connector, b"{}", "message_is_well_formed", "PEER_E_CONNECTION_FAILED",
                       "a malformed message")


def test_a_hello_for_another_group_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    _listener_refuses(club, refusals, _hello(club, group="0.another"), "hello_is_for_this_group",
                      "PEER_E_CONNECTION_REFUSED", "another group")


def test_an_idc_that_is_not_the_identity_s_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    card = sync_port(club.bob).sync_card(club.bob_key[0])
    tampered = card[:-1] + bytes([card[-1] ^ 1])
    for changes, reason in (
        ({"card": tampered}, "the IDC does not parse"),
        ({"card": b"junk"}, "the IDC does not parse"),
        ({"identity": club.carol_key[0]}, "the IDC is not the one of"),
        ({"card": sync_port(club.carol).sync_card(club.carol_key[0])}, "the IDC is not the one of"),
    ):
        _listener_refuses(club, refusals, _hello(club, **changes), "idc_is_the_identity_s",
                          "PEER_E_CONNECTION_NOT_AUTHENTICATED", reason)


def test_a_chain_that_is_not_from_the_group_root_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    root, *links = sync_port(club.bob).sync_chain(club.bob_key)
    _listener_refuses(club, refusals, _hello(club, chain=tuple(links)), "chain_is_from_the_group_root",
                      "PEER_E_CONNECTION_NOT_AUTHENTICATED", "not from this group's root")


def test_a_chain_whose_links_do_not_verify_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    root, alice_link, bob_link = sync_port(club.bob).sync_chain(club.bob_key)
    _listener_refuses(club, refusals, _hello(club, chain=(root, bob_link)), "chain_links_verify",
                      "PEER_E_CONNECTION_NOT_AUTHENTICATED", "the credential chain fails")


def test_a_chain_that_is_not_the_idc_s_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    alice_chain = sync_port(club.alice).sync_chain(club.alice_key)
    _listener_refuses(club, refusals, _hello(club, chain=alice_chain), "chain_is_the_idc_s",
                      "PEER_E_CONNECTION_NOT_AUTHENTICATED", "not the IDC's")


def test_a_proof_the_connector_did_not_sign_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    connector, listener = club.connector(), club.listener()
    proof = _answer(connector.receive(listener.receive(connector.start()) or b""))
    assert isinstance(proof, sync.Proof)
    forged = attrs.evolve(proof, signature=bytes(len(proof.signature)))
    _listener_refuses(club, refusals, wire.canonical(forged), "connector_signature_verifies",
                      "PEER_E_CONNECTION_NOT_AUTHENTICATED", "the connector's signature fails", listener)


def test_a_message_out_of_turn_is_refused_by_either_side(club: Club, refusals: list[tuple[str, str]]) -> None:
    proof = wire.canonical(sync.Proof(b"", b"", ()))
    _listener_refuses(club, refusals, proof, "message_is_expected", "PEER_E_CONNECTION_FAILED", "an unexpected Proof")
    connector = club.connector()
    connector.start()
    _connector_refuses(club, refusals, connector, proof, "message_is_expected", "PEER_E_CONNECTION_FAILED",
                       "an unexpected Proof")
    connector = club.connector()
    connector.start()
    _connector_refuses(club, refusals, connector, wire.canonical(sync.Batch((), (), True)), "message_is_expected",
                       "PEER_E_CONNECTION_FAILED", "an unexpected Batch")


# The connector's rules --------------------------------------------------------------------------

def _challenge(club: Club, connector: sync.Connector, listener: sync.Listener) -> sync.Challenge:
    challenge = _answer(listener.receive(connector.start()))
    assert isinstance(challenge, sync.Challenge)
    return challenge


def test_a_challenge_the_listener_did_not_sign_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    connector, listener = club.connector(), club.listener()
    challenge = _challenge(club, connector, listener)
    forged = attrs.evolve(challenge, signature=bytes(len(challenge.signature)))
    _connector_refuses(club, refusals, connector, wire.canonical(forged), "listener_signature_verifies",
                       "PEER_E_CONNECTION_NOT_AUTHENTICATED", "the listener's signature fails")


def test_a_challenge_with_a_chain_that_is_not_the_listener_s_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    connector, listener = club.connector(), club.listener()
    challenge = _challenge(club, connector, listener)
    bob_chain = sync_port(club.bob).sync_chain(club.bob_key)
    _connector_refuses(club, refusals, connector, wire.canonical(attrs.evolve(challenge, chain=bob_chain)),
                       "chain_is_the_idc_s", "PEER_E_CONNECTION_NOT_AUTHENTICATED", "not the IDC's")


def test_group_data_without_a_credential_for_the_joiner_is_refused(club: Club, refusals: list[tuple[str, str]]) -> None:
    """carol, a password joiner, has proved herself; a batch that completes the group data
    without the credential the listener would have issued her leaves her without one."""
    connector, listener = club.connector("carol"), club.listener("carol")
    challenge = _answer(listener.receive(connector.start()))
    assert isinstance(_answer(connector.receive(wire.canonical(challenge))), sync.Proof)
    _connector_refuses(club, refusals, connector, wire.canonical(sync.Batch((), (), True)),
                       "credential_came_with_group_data", "PEER_E_CONNECTION_NOT_AUTHENTICATED",
                       "no credential came with the group data", who="carol")


# A refusal received -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("error", "authentication", "kind", "failure"),
    [
        ("PEER_E_NOT_AUTHORIZED", False, FAILED, "PEER_E_NOT_AUTHORIZED"),
        ("PEER_E_CONNECTION_NOT_AUTHENTICATED", True, AUTHENTICATION_FAILED, "PEER_E_CONNECTION_NOT_AUTHENTICATED"),
        ("NOT_AN_HRESULT", False, FAILED, "PEER_E_CONNECTION_FAILED"),
        ("S_OK", False, FAILED, "PEER_E_CONNECTION_FAILED"),
    ],
)
def test_a_refusal_received_is_reported_as_the_remote_named_it_and_refused_by_no_rule_here(
    club: Club, refusals: list[tuple[str, str]], error: str, authentication: bool, kind: PeerGroupEventType,
    failure: str,
) -> None:
    failures = club.bob.register_event(club.handles["bob"], [Interest(FAILED), Interest(AUTHENTICATION_FAILED)])
    connector = club.connector()
    connector.start()
    before = club.state()
    refusals.clear()
    assert connector.receive(wire.canonical(sync.Refusal(error, "no", authentication))) is None
    assert connector.outcome == "refused" and refusals == []
    event = club.bob.event_data(failures)
    assert event is not None and (event.event_type, event.failure) == (kind, failure)
    club.bob.unregister_event(failures)
    assert club.state() == before


def test_every_rule_of_the_conversation_is_registered_under_its_module() -> None:
    modules = {
        "message_is_well_formed": "messages", "batch_is_within_bounds": "messages", "message_is_expected": "messages",
        "hello_is_for_this_group": "listener", "sender_not_cut_off_too_often": "listener",
        "credential_came_with_group_data": "connector", "offered_data_is_whole": "connector",
        "idc_is_the_identity_s": "authentication", "chain_is_from_the_group_root": "authentication",
        "chain_links_verify": "authentication", "chain_is_the_idc_s": "authentication",
        "listener_signature_verifies": "authentication", "connector_signature_verifies": "authentication",
        "password_exchange_is_safe": "authentication", "old_password_proofs_taken": "authentication",
    }
    conversation = {f"{sync.__name__}.{module}" for module in modules.values()}
    assert {name: rule.module for name, rule in registry.RULES.items() if rule.module in conversation} == {
        name: f"{sync.__name__}.{module}" for name, module in modules.items()
    }


def test_a_conversation_still_synchronizes(club: Club) -> None:
    """The rules refuse only what they should: bob, a member, meets alice again."""
    assert sync.exchange(club.connector(), club.listener()) == "synchronized"
