"""No secret in clear anywhere a run leaves bytes: every stored byte (the SQLite files and
whatever SQLite keeps beside them), every export, and every line the commands print.

Two peers protect their key stores with passphrases; alice creates a password group, bob
joins it by password, they add records, export identities, configurations and the
database, and the commands read the stores. The secrets are the group password, both
passphrases, and every private key made in the run (each identity's and the group root's),
looked for as raw bytes, as UTF-8 and UTF-16 text, as hex and as base64 at every alignment.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from peerstate.errors import PeerError
from peerstate.crypto.key_ring import KeyRing
from peerstate.peer import sync_port
from peerstate import Peer, PeerSettings, crypto, network, open_store
from peerstate.cli import main
from peerstate.names import ROLE_MEMBER

from tests.conftest import T0

GROUP_PASSWORD = "Tr0ub4dor&3 under the stairs"
PASSPHRASES = {"alice": "alice's long passphrase 7", "bob": "bob's long passphrase 9"}
EXPORT_PASSWORD = "export password 42"


def _forms(secret: bytes) -> list[bytes]:
    """The ways a secret could show: itself, hex, and base64 of it at each of the three
    alignments a longer encoding could start it at (a middle stretch, so padding does not matter)."""
    forms = [secret, secret.hex().encode(), secret.hex().upper().encode()]
    for skip in range(3):
        encoded = base64.b64encode(secret[skip:])
        forms.append(encoded[4:-4] if len(encoded) > 12 else encoded)
    return forms


def _text_forms(secret: str) -> list[bytes]:
    return [*_forms(secret.encode()), secret.encode("utf-16-le")]


def test_no_password_passphrase_or_private_key_is_anywhere_in_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = [T0]
    stores = {who: tmp_path / "stores" / who for who in PASSPHRASES}
    alice, bob = (
        Peer(open_store(stores[who]), clock=lambda: clock[0], settings=PeerSettings(address=who, passphrase=PASSPHRASES[who]))
        for who in ("alice", "bob")
    )
    alice_name, bob_name = alice.create_identity("alice", "Alice"), bob.create_identity("bob", "Bob")
    handle = alice.create_group(alice_name, "club", authentication_schemes=2, password=GROUP_PASSWORD, password_role=ROLE_MEMBER)
    alice.connect(handle)
    joined = bob.password_join(bob_name, alice.create_password_invitation(handle), GROUP_PASSWORD)
    bob.connect(joined.handle)
    network.synchronize({"alice": alice, "bob": bob})
    clock[0] += timedelta(minutes=1)
    bob.add_record(joined.handle, UUID(int=7), clock[0] + timedelta(hours=1), data=b"bob's note")
    alice.set_group_properties(handle, password=GROUP_PASSWORD + " changed")
    network.synchronize({"alice": alice, "bob": bob})

    exports = [
        alice.export_identity(alice_name, EXPORT_PASSWORD), bob.export_identity(bob_name, EXPORT_PASSWORD),
        alice.export_config(handle, EXPORT_PASSWORD), bob.export_config(joined.handle, EXPORT_PASSWORD),
        alice.create_password_invitation(handle),
    ]
    alice.export_database(handle, str(tmp_path / "club.peerdb"))
    group = alice.group_properties(handle).group_peer_name
    keys = [
        alice._runtime.identity_key(alice._runtime.state.identities[alice_name]), bob._runtime.identity_key(bob._runtime.state.identities[bob_name]),
        crypto.load_private_key(alice._runtime.keys.take(group, sync_port(alice).sync_replica((alice_name, group)).state.root_key or b"", True)),
    ]
    capsys.readouterr()
    for command in ("log", "verify", "identities", "groups", "members"):
        main([command, "--store", str(tmp_path / "stores")])
        main([command, "--store", str(tmp_path / "stores"), "--json"])
    printed = capsys.readouterr()
    for peer in (alice, bob):
        peer.close()

    haystacks = {str(path): path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    haystacks.update({f"export {index}": text.encode() for index, text in enumerate(exports)})
    haystacks["printed"] = (printed.out + printed.err).encode()
    assert any(path.endswith("peer.sqlite3") for path in haystacks) and len(haystacks) >= 9

    secrets = {"the group password": _text_forms(GROUP_PASSWORD), "the changed group password": _text_forms(GROUP_PASSWORD + " changed")}
    secrets.update({f"{who}'s passphrase": _text_forms(phrase) for who, phrase in PASSPHRASES.items()})
    secrets["the export password"] = _text_forms(EXPORT_PASSWORD)
    for index, key in enumerate(keys):
        numbers = key.private_numbers()
        secrets[f"private key {index}"] = [
            *_forms(crypto.private_key_der(key)),
            *_forms(numbers.d.to_bytes((numbers.d.bit_length() + 7) // 8, "big")),
            *_forms(numbers.p.to_bytes((numbers.p.bit_length() + 7) // 8, "big")),
        ]
    found = [
        f"{name} in {where}" for name, forms in secrets.items() for where, haystack in haystacks.items()
        if any(form in haystack for form in forms)
    ]
    assert found == []


def test_a_sealed_secret_edited_in_the_store_does_not_open() -> None:
    """A sealed key whose bytes were changed, or sealed under another passphrase, is refused
    (``PEER_E_NO_KEY_ACCESS``, rule ``sealed_secret_opens``), never opened as something else."""
    kek = crypto.derive_key_encryption_key("passphrase", crypto.new_kdf_parameters())
    ring = KeyRing(True, kek)
    kept, sealed = ring.keep("alice", b"the secret")
    assert sealed and ring.take("alice", kept, sealed) == b"the secret"
    edited = kept[:-1] + bytes([kept[-1] ^ 1])
    for context, stored in (("alice", edited), ("bob", kept)):
        with pytest.raises(PeerError) as refused:
            ring.take(context, stored, True)
        assert (refused.value.name, refused.value.rule) == ("PEER_E_NO_KEY_ACCESS", "sealed_secret_opens")
