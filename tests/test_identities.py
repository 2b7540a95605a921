"""The Identity Manager calls through ``Peer``: results, every error path, nothing changed on failure."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peerstate import Peer, PeerError, PeerSettings, PeerStore, crypto, names, open_store
from peerstate.documents import formats
from peerstate.storage.locations import SQLITE_FILE

from conftest import T0, refused

AUTHORITY = "[0-9a-f]{40}"


def test_create_makes_a_secure_name_from_the_key(peer: Peer) -> None:
    key = rsa.generate_private_key(65537, 2048)
    name = peer.create_identity("chess", "Alice", key=key)
    assert name == f"{names.authority_of(crypto.public_key_der(key))}.chess"
    assert [(p.peer_name, p.friendly_name) for p in peer.identities()] == [(name, "Alice")]


def test_friendly_name_defaults_to_the_peer_name_and_resets_to_it(peer: Peer) -> None:
    name = peer.create_identity("chess")
    assert peer.friendly_name(name) == name
    peer.set_friendly_name(name, "Al")
    assert peer.friendly_name(name) == "Al"
    peer.set_friendly_name(name, "")
    assert peer.friendly_name(name) == name


def test_the_identity_xml_carries_a_self_signed_idc_with_the_current_friendly_name(peer: Peer) -> None:
    name = peer.create_identity("chess", "Alice")
    peer.set_friendly_name(name, "Alicia")
    [der] = crypto.certificates_from_pkcs7(formats.read_identity_info_xml(peer.identity_xml(name)))
    certificate = crypto.read_identity_certificate(der)
    assert (certificate.peer_name, certificate.friendly_name) == (name, "Alicia")
    assert names.authority_of(certificate.public_key) == name.split(".")[0]


def test_the_default_identity_is_made_once(peer: Peer) -> None:
    default = peer.default_identity()
    assert default == peer.default_identity()
    assert peer.identity_xml(None) == peer.identity_xml(default)
    peer.delete_identity(default)
    assert peer.default_identity() != default


@pytest.mark.parametrize(
    ("classifier", "friendly"),
    [("a b", None), ("tab\there", None), ("x" * 150, None), ("ok", "f" * 256), ("ok", "bell\x07"), (5, None)],
)
def test_create_refuses_bad_arguments(peer: Peer, store: PeerStore, classifier: object, friendly: object) -> None:
    with refused(peer, store, "E_INVALIDARG"):
        peer.create_identity(classifier, friendly)  # type: ignore[arg-type]


def test_create_refuses_a_key_that_is_not_rsa(peer: Peer, store: PeerStore) -> None:
    with refused(peer, store, "E_INVALIDARG"):
        peer.create_identity("x", key="not a key")  # type: ignore[arg-type]


def test_the_same_key_and_classifier_cannot_be_created_twice(peer: Peer, store: PeerStore) -> None:
    key = rsa.generate_private_key(65537, 2048)
    peer.create_identity("x", key=key)
    with refused(peer, store, "PEER_E_ALREADY_EXISTS"):
        peer.create_identity("x", key=key)
    assert peer.create_identity("y", key=key).endswith(".y")


def test_deleted_identities_are_tombstones(peer: Peer, store: PeerStore) -> None:
    name = peer.create_identity("chess")
    peer.delete_identity(name)
    assert peer.identities() == []
    for call in (
        lambda: peer.friendly_name(name), lambda: peer.set_friendly_name(name, "x"),
        lambda: peer.identity_xml(name), lambda: peer.export_identity(name, "pw"),
        lambda: peer.delete_identity(name), lambda: peer.groups(name),
    ):
        with refused(peer, store, "PEER_E_NOT_FOUND"):
            call()
    with refused(peer, store, "E_INVALIDARG"):
        peer.create_peer_name(name, "x")


@pytest.mark.parametrize("call", ["friendly_name", "delete_identity", "groups", "export_identity"])
def test_identity_calls_need_an_identity(peer: Peer, store: PeerStore, call: str) -> None:
    args = (None, "pw") if call == "export_identity" else (None,)
    with refused(peer, store, "E_INVALIDARG"):
        getattr(peer, call)(*args)
    unknown = ("0" * 40 + ".x", "pw")[: len(args)]
    with refused(peer, store, "PEER_E_NOT_FOUND"):
        getattr(peer, call)(*unknown)


def test_enumerating_groups_is_empty_until_groups_exist(peer: Peer) -> None:
    assert peer.groups(peer.create_identity("x")) == []


def test_create_peer_name(peer: Peer, store: PeerStore) -> None:
    name = peer.create_identity("chess")
    authority = name.split(".")[0]
    assert peer.create_peer_name(name, "game") == f"{authority}.game"
    assert peer.create_peer_name(name, None) == name
    assert peer.create_peer_name(None, "game") == "0.game"
    for identity, classifier in ((None, None), (None, ""), (None, "a b"), (name, "x" * 150)):
        with refused(peer, store, "E_INVALIDARG"):
            peer.create_peer_name(identity, classifier)


# Export and import -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported() -> tuple[str, str]:
    """One export made once: PBKDF2 at 600,000 rounds makes every export cost."""
    source = Peer(open_store(None), clock=lambda: T0)
    name = source.create_identity("chess", "Alice")
    return name, source.export_identity(name, "correct horse")


def test_import_restores_the_identity_on_another_peer(peer: Peer, exported: tuple[str, str]) -> None:
    name, document = exported
    assert peer.import_identity(document, "correct horse") == name
    assert peer.friendly_name(name) == "Alice"
    peer.set_friendly_name(name, "signed with the imported key")


def test_import_refuses_an_identity_already_here(peer: Peer, store: PeerStore, exported: tuple[str, str]) -> None:
    peer.import_identity(exported[1], "correct horse")
    with refused(peer, store, "PEER_E_ALREADY_EXISTS"):
        peer.import_identity(exported[1], "correct horse")


def test_import_refuses_an_identity_whose_friendly_name_the_api_refuses(peer: Peer, store: PeerStore) -> None:
    """An export made by another build, whose IDC gives a friendly name with a newline and an
    escape: kept, it would go into every group the identity joins, whose members refuse it."""
    key = crypto.generate_identity_key()
    name = f"{names.authority_of(crypto.public_key_der(key))}.eve"
    idc = crypto.make_identity_certificate(key, name, "Eve\n\x1b[31malice", T0)
    document = formats.identity_export_xml(name, crypto.export_pkcs12(key, idc, "Eve", "correct horse"))
    with refused(peer, store, "E_INVALIDARG"):
        try:
            peer.import_identity(document, "correct horse")
        except PeerError as error:
            assert error.rule == "friendly_name_is_valid"
            raise


def test_import_refuses_a_wrong_password(peer: Peer, store: PeerStore, exported: tuple[str, str]) -> None:
    with refused(peer, store, "E_INVALIDARG"):
        peer.import_identity(exported[1], "wrong horse")


@pytest.mark.parametrize("password", [None, "", 3])
def test_export_and_import_need_a_password(peer: Peer, store: PeerStore, exported: tuple[str, str], password: object) -> None:
    name = peer.create_identity("x")
    with refused(peer, store, "E_INVALIDARG"):
        peer.export_identity(name, password)  # type: ignore[arg-type]
    with refused(peer, store, "E_INVALIDARG"):
        peer.import_identity(exported[1], password)  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_altered_byte_is_refused(peer: Peer, store: PeerStore, exported: tuple[str, str], data: st.DataObject) -> None:
    document = exported[1]
    position = data.draw(st.integers(0, len(document) - 1), label="position")
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != document[position]), label="char")
    altered = document[:position] + replacement + document[position + 1:]
    with refused(peer, store, "E_INVALIDARG"):
        peer.import_identity(altered, "correct horse")


@pytest.mark.parametrize(
    "document",
    [
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><PEERIDENTITYEXPORT VERSION="1.0">&a;</PEERIDENTITYEXPORT>',
        '<!DOCTYPE PEERIDENTITYEXPORT SYSTEM "file:///etc/passwd"><PEERIDENTITYEXPORT VERSION="1.0"/>',
        "<PEERIDENTITYEXPORT",
        "x" * 70_000,
        '<PEERIDENTITYINFO VERSION="1.0"/>',
    ],
    ids=["entities", "external-dtd", "truncated", "oversized", "other-document"],
)
def test_import_refuses_hostile_documents(peer: Peer, store: PeerStore, document: str) -> None:
    with refused(peer, store, "E_INVALIDARG"):
        peer.import_identity(document, "pw")


# Keys at rest and restarts -----------------------------------------------------------------

def test_state_survives_a_restart_on_sqlite(tmp_path: Path) -> None:
    store = open_store(tmp_path / "alice")
    peer = Peer(store, clock=lambda: T0)
    name = peer.create_identity("chess", "Alice")
    peer.close()
    store.close()
    reopened = Peer(open_store(tmp_path / "alice"), clock=lambda: T0)
    assert [(p.peer_name, p.friendly_name) for p in reopened.identities()] == [(name, "Alice")]
    reopened.set_friendly_name(name, "still has its key")


def test_keys_are_sealed_at_rest_and_locked_without_the_passphrase(tmp_path: Path) -> None:
    store = open_store(tmp_path / "bob")
    peer = Peer(store, settings=PeerSettings(passphrase="pw-bob"), clock=lambda: T0)
    name = peer.create_identity("chess")
    record = peer._runtime.state.identities[name]
    assert record.sealed
    database = (tmp_path / "bob" / SQLITE_FILE).read_bytes()
    key_der = crypto.private_key_der(peer._runtime.identity_key(record))
    assert base64.b64encode(key_der)[:64] not in database and key_der[:64] not in database
    store.close()

    for passphrase in (None, "wrong"):
        locked_store = open_store(tmp_path / "bob")
        locked = Peer(locked_store, settings=PeerSettings(passphrase=passphrase), clock=lambda: T0)
        assert locked.keys_locked
        assert locked.friendly_name(name) == name and locked.identity_xml(name)
        for call in (
            lambda: locked.create_identity("x"), lambda: locked.export_identity(name, "pw"),
            lambda: locked.set_friendly_name(name, "x"),
        ):
            with refused(locked, locked_store, "PEER_E_NO_KEY_ACCESS"):
                call()
        locked_store.close()

    unlocked = Peer(open_store(tmp_path / "bob"), settings=PeerSettings(passphrase="pw-bob"), clock=lambda: T0)
    assert not unlocked.keys_locked
    unlocked.set_friendly_name(name, "unlocked")


def test_a_passphrase_cannot_be_added_to_a_store_with_clear_keys(store: PeerStore) -> None:
    Peer(store, clock=lambda: T0).create_identity("x")
    head = store.head()
    with pytest.raises(Exception) as caught:
        Peer(store, settings=PeerSettings(passphrase="late"), clock=lambda: T0)
    assert getattr(caught.value, "name", None) == "E_INVALIDARG"
    assert store.head() == head


def test_a_closed_peer_refuses_calls(peer: Peer, store: PeerStore) -> None:
    peer.close()
    with pytest.raises(Exception) as caught:
        peer.identities()
    assert getattr(caught.value, "name", None) == "PEER_E_NOT_INITIALIZED"


# Every call, every malformed argument ------------------------------------------------------

CALLS = {
    "create_identity": ("classifier", "friendly"),
    "delete_identity": ("identity",),
    "friendly_name": ("identity",),
    "set_friendly_name": ("identity", "friendly"),
    "identity_xml": ("identity",),
    "export_identity": ("identity", "password"),
    "import_identity": ("document", "password"),
    "groups": ("identity",),
    "create_peer_name": ("identity", "classifier"),
}
BAD_VALUES = [7, b"bytes", ["list"], "x" * 70_000, "nul\x00inside"]


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("bad", BAD_VALUES, ids=["int", "bytes", "list", "oversized", "nul"])
def test_every_call_refuses_malformed_arguments_and_changes_nothing(
    peer: Peer, store: PeerStore, call: str, bad: object
) -> None:
    name = peer.create_identity("x")
    good = {"identity": name, "classifier": "y", "friendly": "F", "password": "pw", "document": "<x/>"}
    for position in range(len(CALLS[call])):
        args = [good[kind] for kind in CALLS[call]]
        args[position] = bad
        with refused(peer, store, "E_INVALIDARG"):
            getattr(peer, call)(*args)
