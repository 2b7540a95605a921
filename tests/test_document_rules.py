"""The rules of the parsers' modules that no other test file breaks by name: identity cards
and the group database file. Each is broken alone, refuses under its rule's name with its
HRESULT, and leaves the peer (and the directory its files are in) as it was."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from peerstate import Peer, PeerSettings, crypto, open_store
from peerstate.calls.credentials import CredentialRequest
from peerstate.documents import cards, database_files, formats
from peerstate.errors import ErrorName, PeerError
from peerstate.names import ROLE_MEMBER, authority_of
from peerstate.registry import RULES
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0


def _refused(rule: str, code: ErrorName, call: Callable[[], object]) -> PeerError:
    with pytest.raises(PeerError) as caught:
        call()
    assert (caught.value.rule, caught.value.name) == (rule, code), caught.value
    assert code in RULES[rule].codes
    return caught.value


@attrs.frozen
class Club:
    peer: Peer
    store: PeerStore
    name: str
    handle: str
    root: Path

    def unchanged(self) -> Callable[[], None]:
        """A check that nothing this peer keeps has changed since it was made."""
        head, identities = self.store.head(), self.peer.identities()
        files = sorted(self.root.rglob("*"))
        records = self.peer.records(self.handle)

        def check() -> None:
            assert (self.store.head(), self.peer.identities()) == (head, identities)
            assert sorted(self.root.rglob("*")) == files
            assert self.peer.records(self.handle) == records

        return check


@pytest.fixture
def club(tmp_path: Path) -> Iterator[Club]:
    store = open_store(None)
    peer = Peer(store, settings=PeerSettings(file_root=tmp_path), clock=lambda: T0)
    name = peer.create_identity("alice")
    handle = peer.create_group(name, "chess")
    peer.add_record(handle, ROLE_MEMBER, T0 + timedelta(days=1), data=b"e4")
    yield Club(peer, store, name, handle, tmp_path)
    peer.close()


# Identity cards -------------------------------------------------------------------------------

def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _identity_xml(key: rsa.RSAPrivateKey, peer_name: str) -> str:
    card = crypto.make_identity_certificate(key, peer_name, "Bob", T0)
    return formats.identity_info_xml(crypto.certificates_to_pkcs7([card]))


def _card_name(key: rsa.RSAPrivateKey) -> str:
    return f"{authority_of(crypto.public_key_der(key))}.bob"


def test_an_identity_xml_that_holds_no_idc_is_refused(club: Club) -> None:
    key = _rsa_key()
    card = crypto.make_identity_certificate(key, _card_name(key), "Bob", T0)
    two = formats.identity_info_xml(crypto.certificates_to_pkcs7([card, crypto.make_identity_certificate(key, _card_name(key), "B", T0)]))
    for text in ("<x/>", formats.identity_info_xml(b"junk"), two):
        _refused("identity_info_holds_an_idc", "E_INVALIDARG", lambda: cards.identity_card(text, "pwzIdentityInfo"))
    unchanged = club.unchanged()
    _refused("identity_info_holds_an_idc", "E_INVALIDARG", lambda: club.peer.create_invitation(club.handle, two))
    unchanged()
    assert cards.identity_card(_identity_xml(key, _card_name(key)), "p").peer_name == _card_name(key)


def test_an_identity_whose_key_is_of_an_unknown_algorithm_is_refused(club: Club) -> None:
    """Found by ``test_fuzz``: an IDC whose key names an algorithm ``cryptography`` does not
    know (rsaEncryption's OID changed in one byte) raised ``UnsupportedAlgorithm`` out of
    the call, where any other unreadable IDC gives ``E_INVALIDARG``."""
    key = _rsa_key()
    card = crypto.make_identity_certificate(key, _card_name(key), "Bob", T0)
    rsa_encryption = bytes.fromhex("06092a864886f70d010101")
    assert card.count(rsa_encryption) == 1
    unknown = card.replace(rsa_encryption, rsa_encryption[:-1] + b"\x09")
    text = formats.identity_info_xml(crypto.certificates_to_pkcs7([unknown]))
    _refused("identity_info_holds_an_idc", "E_INVALIDARG", lambda: cards.identity_card(text, "pwzIdentityInfo"))
    unchanged = club.unchanged()
    _refused("identity_info_holds_an_idc", "E_INVALIDARG", lambda: club.peer.create_invitation(club.handle, text))
    unchanged()


def test_an_identity_named_for_another_key_is_refused(club: Club) -> None:
    key, other = _rsa_key(), _rsa_key()
    text = _identity_xml(key, _card_name(other))
    error = _refused("identity_name_is_its_key_s", "E_INVALIDARG", lambda: cards.identity_card(text, "pwzIdentityInfo"))
    assert error.message == "pwzIdentityInfo: the identity's name is not its key's"
    unchanged = club.unchanged()
    _refused("identity_name_is_its_key_s", "E_INVALIDARG", lambda: club.peer.create_invitation(club.handle, text))
    unchanged()


def test_a_public_key_that_is_not_an_rsa_key_is_refused(club: Club) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    for value, problem in ((b"junk", "is not a public key"), (ec_key, "is not an RSA public key")):
        error = _refused("public_key_is_rsa", "E_INVALIDARG", lambda: cards.public_key(value, "pPublicKey"))
        assert problem in error.message
        unchanged = club.unchanged()
        _refused("public_key_is_rsa", "E_INVALIDARG", lambda: club.peer.issue_credentials(
            club.handle, club.name, CredentialRequest(value, (ROLE_MEMBER,)),
        ))
        unchanged()
    key = crypto.public_key_der(_rsa_key())
    assert cards.public_key(key, "pPublicKey") == key


# The group database file ----------------------------------------------------------------------

def test_a_file_that_is_no_database_or_of_another_format_is_refused(club: Club) -> None:
    club.peer.export_database(club.handle, "/db.bin")
    snapshot = database_files.decode((club.root / "db.bin").read_bytes())
    (club.root / "junk.bin").write_bytes(b"junk")
    (club.root / "other.bin").write_bytes(database_files.encode(attrs.evolve(snapshot, format="peerstate-database/2")))
    _refused("database_file_decodes", "PEER_E_INVALID_DATABASE", lambda: database_files.decode(b"junk"))
    _refused("database_format_is_ours", "PEER_E_INVALID_DATABASE",
             lambda: database_files.decode((club.root / "other.bin").read_bytes()))
    for path, rule in (("/junk.bin", "database_file_decodes"), ("/other.bin", "database_format_is_ours")):
        unchanged = club.unchanged()
        _refused(rule, "PEER_E_INVALID_DATABASE", lambda: club.peer.import_database(club.handle, path))
        unchanged()


def test_a_file_larger_than_any_database_is_refused(club: Club, monkeypatch: pytest.MonkeyPatch) -> None:
    club.peer.export_database(club.handle, "/db.bin")
    monkeypatch.setattr(database_files, "MAX_FILE_BYTES", (club.root / "db.bin").stat().st_size - 1)
    error = _refused("database_file_fits", "PEER_E_INVALID_DATABASE",
                     lambda: database_files.read(club.root / "db.bin", "/db.bin"))
    assert error.message == "'/db.bin' is larger than any group database"
    unchanged = club.unchanged()
    _refused("database_file_fits", "PEER_E_INVALID_DATABASE", lambda: club.peer.import_database(club.handle, "/db.bin"))
    unchanged()


@pytest.mark.parametrize("shared", [False, True], ids=["this machine", "a simulation's share"])
def test_a_relative_file_path_is_refused(shared: bool, tmp_path: Path) -> None:
    for path in ("relative.db", "a/b.db", ""):
        error = _refused("file_path_is_absolute", "E_INVALIDARG",
                         lambda: database_files.resolve(path, tmp_path if shared else None))
        assert error.message == f"pwzFilePath {path!r} is not an absolute path"


def test_a_share_path_that_names_no_file_or_climbs_out_is_refused(club: Club) -> None:
    for path in ("/../b.db", "/a/../../b.db", "/", "/a\\b.db", "C:\\..\\b.db"):
        _refused("file_path_stays_in_its_directory", "E_INVALIDARG", lambda: database_files.resolve(path, club.root))
        unchanged = club.unchanged()
        _refused("file_path_stays_in_its_directory", "E_INVALIDARG", lambda: club.peer.export_database(club.handle, path))
        unchanged()


@pytest.mark.parametrize(
    ("where", "code"),
    [
        ("missing.db", "ERROR_FILE_NOT_FOUND"),
        ("missing/db.bin", "ERROR_FILE_NOT_FOUND"),
        ("directory", "E_ACCESSDENIED"),
        ("x" * 300, "E_FAIL"),  # ENAMETOOLONG: no HRESULT of its own
    ],
)
def test_a_file_the_file_system_cannot_read_is_its_failure_passed_through(
    club: Club, where: str, code: ErrorName,
) -> None:
    (club.root / "directory").mkdir()
    _refused("file_system_allows", code, lambda: database_files.read(club.root / where, "/" + where))
    unchanged = club.unchanged()
    _refused("file_system_allows", code, lambda: club.peer.import_database(club.handle, "/" + where))
    unchanged()


def test_a_file_written_into_no_directory_is_path_not_found_and_leaves_nothing(club: Club) -> None:
    _refused("file_system_allows", "ERROR_PATH_NOT_FOUND",
             lambda: database_files.write(club.root / "missing" / "db.bin", b"data", "/missing/db.bin"))
    peer = Peer(open_store(None), clock=lambda: T0)  # a machine of its own: no share to make directories in
    handle = peer.create_group(peer.create_identity("bob"), "go")
    target = club.root / "missing" / "db.bin"
    _refused("file_system_allows", "ERROR_PATH_NOT_FOUND", lambda: peer.export_database(handle, str(target)))
    assert sorted(club.root.rglob("*")) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_a_file_the_process_may_not_read_is_access_denied(club: Club) -> None:
    (club.root / "locked.db").write_bytes(b"x")
    (club.root / "locked.db").chmod(0)
    _refused("file_system_allows", "E_ACCESSDENIED",
             lambda: database_files.read(club.root / "locked.db", "/locked.db"))


def test_every_code_of_the_file_system_rule_is_an_errno_s() -> None:
    assert RULES["file_system_allows"].codes == ("ERROR_FILE_NOT_FOUND", "ERROR_PATH_NOT_FOUND", "E_ACCESSDENIED", "E_FAIL")
    assert database_files._WIN32_ERRORS[errno.ENOTDIR] == "ERROR_PATH_NOT_FOUND"
