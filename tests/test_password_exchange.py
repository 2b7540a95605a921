"""The group password by an augmented PAKE (issue 30, ``crypto.pake``): what a group
replicates of its password lets a member check a joiner's password, never join with it.

The attack, as it was played before: the group's ``PasswordVerifier`` travels to every
member in ``GroupCreated``, in clear in every batch and in database files, and the password
proof was an HMAC keyed by its ``verifier``. An eavesdropper that read one batch joined a
group whose password role is administrator, without the password."""

from __future__ import annotations

import itertools

import attrs
import pytest

from peerstate import Peer, PeerError, PeerSettings, network, open_store
from peerstate.crypto import pake
from peerstate.domain import rules
from peerstate.domain.group_events import EnvelopeAccepted, GroupCreated, PasswordVerifier
from peerstate.names import ROLE_ADMIN
from peerstate.peer import sync_port

from tests.conftest import T0

PASSWORD = "correct horse battery"


def _club() -> tuple[Peer, str, str]:
    """alice's group, its password role administrator, listening: alice, her identity, the group."""
    alice = Peer(open_store(None), settings=PeerSettings(address="alice"), clock=lambda: T0)
    alice_name = alice.create_identity("alice")
    handle = alice.create_group(alice_name, "club", authentication_schemes=2, password=PASSWORD, password_role=ROLE_ADMIN)
    alice.connect(handle)
    return alice, alice_name, alice.group_properties(handle).group_peer_name


def _joins(alice: Peer, alice_name: str, group: str, password: str, *, secret: bytes | None = None) -> bool:
    """Whether a new peer joins alice's group by password: with ``password`` typed, or, an
    attacker's, proving with ``secret`` in place of the stretched password its peer keeps."""
    (handle,) = [handle for handle, _ in sync_port(alice).sync_handles()]
    joiner = Peer(open_store(None), settings=PeerSettings(address="joiner"), clock=lambda: T0)
    joined = joiner.password_join(joiner.create_identity("joiner"), alice.create_password_invitation(handle), password)
    if secret is not None:
        sync_port(joiner).sync_ticket = lambda key: secret  # type: ignore[method-assign]
    joiner.connect(joined.handle)
    network.synchronize({"alice": alice, "joiner": joiner})
    state = sync_port(joiner).sync_replica((joiner.identities()[-1].peer_name, group)).state
    return state.synchronized and state.group.credential_of(joiner.identities()[-1].peer_name, T0) is not None


def test_the_password_joins() -> None:
    alice, alice_name, group = _club()
    assert _joins(alice, alice_name, group, PASSWORD)


def test_nothing_the_group_replicates_joins_it() -> None:
    """Every value of the verifier in the group's creation, as an eavesdropper reads it from
    a batch, used as the stretched password: turned away each time (a wrong password counted), and
    alice's group holds no credential more than before."""
    alice, alice_name, group = _club()
    key = (alice_name, group)
    events = alice._runtime.store.replica_events(*key)
    genesis = next(event.envelope.payload for event in events if isinstance(event, EnvelopeAccepted))
    assert isinstance(genesis, GroupCreated) and genesis.properties.password is not None
    stolen = genesis.properties.password
    values = [value for field in attrs.fields(type(stolen)) if isinstance(value := getattr(stolen, field.name), bytes) and value]
    assert values
    for value in values:
        before = sync_port(alice).sync_replica(key).state.group.credentials
        assert not _joins(alice, alice_name, group, "not the password", secret=value)
        assert sync_port(alice).sync_replica(key).state.group.credentials == before
    counted = alice._runtime.store.wrong_passwords(*key)
    assert counted is not None and counted.group.count == len(values)


@pytest.mark.parametrize("setting", ["creation", "change"])
def test_the_group_keeps_no_value_a_joiner_could_prove_with(setting: str) -> None:
    """Made, or given a new password, the group keeps an SRP verifier and an empty
    ``verifier``."""
    alice, alice_name, group = _club()
    if setting == "change":
        (handle,) = [handle for handle, _ in sync_port(alice).sync_handles()]
        alice.set_group_properties(handle, password="a new password for the club")
    password = sync_port(alice).sync_replica((alice_name, group)).state.group.properties
    assert password is not None and password.password is not None
    assert password.password.augmented and password.password.verifier == b""


@pytest.mark.parametrize("public", [bytes(pake.PUBLIC_BYTES), b""], ids=["zero", "empty"])
def test_an_unsafe_public_value_is_refused_before_any_guess(monkeypatch: pytest.MonkeyPatch, public: bytes) -> None:
    """The attack: a joiner's ``A`` that is 0 modulo the group's prime fixes the listener's
    session key whatever the password, so it could prove a password it does not know; an
    empty one made the listener's check raise ``ValueError`` at the proof. Refused at the
    hello (``password_exchange_is_safe``), before any guess is counted: no guess in alice's
    log, and no credential more in her group."""

    class Unsafe(pake.Joiner):
        def __init__(self, username: str, stretched: bytes) -> None:
            super().__init__(username, stretched)
            self.public = public

        def proof(self, salt: bytes, public: bytes) -> bytes | None:
            return bytes(32)  # what it would send, were it asked

    alice, alice_name, group = _club()
    credentials = sync_port(alice).sync_replica((alice_name, group)).state.group.credentials
    monkeypatch.setattr(pake, "Joiner", Unsafe)
    assert not _joins(alice, alice_name, group, PASSWORD)
    assert alice._runtime.store.wrong_passwords(alice_name, group) is None
    assert sync_port(alice).sync_replica((alice_name, group)).state.group.credentials == credentials


@pytest.mark.parametrize(("verifier", "salt", "pake_verifier"), list(itertools.product([b"", b"stretched"], [None, b"salt"], [None, b"v"])))
def test_a_password_is_kept_by_one_scheme(verifier: bytes, salt: bytes | None, pake_verifier: bytes | None) -> None:
    """Of every mix of the old field and the SRP fields, only the old one alone and the SRP
    ones alone pass ``verifier_is_one_scheme``."""
    kept = PasswordVerifier(b"argon2 salt", 2, 1, 19 * 1024, verifier, salt, pake_verifier)
    one_scheme = (verifier, salt, pake_verifier) in ((b"stretched", None, None), (b"", b"salt", b"v"))
    if one_scheme:
        rules.verifier_is_one_scheme(kept)
    else:
        with pytest.raises(PeerError) as refused:
            rules.verifier_is_one_scheme(kept)
        assert refused.value.name == "PEER_E_INVALID_GROUP_PROPERTIES"
