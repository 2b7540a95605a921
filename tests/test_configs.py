"""Group configuration export: round trips under a password, and every altered or foreign one refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from peerstate import crypto
from peerstate.documents import configs, formats
from peerstate.documents.configs import GroupConfig
from peerstate.constants import PnrpCloudFlags, PnrpScope
from peerstate.crypto import PrivateKey
from peerstate.errors import InvalidArgument
from peerstate.registry import RULES

from test_credentials import group_name, peer_name
from test_credentials import alice_key, bob_key, creator, group, group_key, root, stranger_key, three  # noqa: F401

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def owned(group_key: PrivateKey, alice_key: PrivateKey, group: str, root: bytes, creator: bytes) -> GroupConfig:
    """The creator's configuration, with the group key."""
    return GroupConfig(peer_name(alice_key, "creator"), group, "Global_", (root, creator), group_key)


@pytest.fixture(scope="module")
def joined(alice_key: PrivateKey, group: str, root: bytes, three: list[bytes]) -> GroupConfig:
    """A member's configuration two links below the creator, in a private cloud, without a key."""
    return GroupConfig(peer_name(alice_key, "member"), group, "LinkLocal_{1}", (root, *three), None)


@pytest.fixture(scope="module")
def owned_text(owned: GroupConfig) -> str:
    return configs.group_config_xml(owned, PASSWORD)


def refused(text: str, password: str = PASSWORD, rule: str | None = "group_config_opens") -> str:
    """The message of the ``E_INVALIDARG`` that reading ``text`` gives, under ``rule``, or
    (``rule`` None) under one of the rules of ``configs``."""
    with pytest.raises(InvalidArgument) as caught:
        configs.read_group_config(text, password)
    assert caught.value.name == "E_INVALIDARG"
    if rule is None:
        assert RULES[str(caught.value.rule)].module == configs.__name__, caught.value
    else:
        assert caught.value.rule == rule, caught.value
    return caught.value.message


def test_a_config_with_the_group_key_round_trips(owned: GroupConfig, owned_text: str, group_key: PrivateKey) -> None:
    read = configs.read_group_config(owned_text, PASSWORD)
    assert read == owned
    assert read.group_key is not None
    assert crypto.private_key_der(read.group_key) == crypto.private_key_der(group_key)
    assert "group_key" not in repr(read)


def test_a_config_without_a_key_round_trips(joined: GroupConfig) -> None:
    read = configs.read_group_config(configs.group_config_xml(joined, PASSWORD), PASSWORD)
    assert read == joined and read.group_key is None
    assert (read.scope, read.pnrp_scope, read.cloud_flags) == (
        "LINKLOCAL", PnrpScope.PNRP_LINK_LOCAL_SCOPE, PnrpCloudFlags.PNRP_CLOUD_NAME_LOCAL,
    )


def test_a_config_has_the_windows_elements_and_no_key_in_the_clear(
    owned: GroupConfig, owned_text: str, group_key: PrivateKey
) -> None:
    identity, group, cloud, scope, flags, gmc, data = formats.read_group_config_xml(owned_text)
    assert (identity, group, cloud, scope, flags) == (owned.identity, owned.group_peer_name, "Global_", "GLOBAL", 0)
    assert gmc == crypto.certificates_to_pkcs7(list(owned.chain))
    assert crypto.private_key_der(group_key) not in data
    assert owned.chain[1] not in data


def test_a_wrong_password_is_refused(owned_text: str) -> None:
    assert "does not open with this password" in refused(owned_text, "wrong horse")


@pytest.mark.parametrize(
    ("marker", "offset"),
    [
        ("VERSION=", 9), ("<IDENTITYPEERNAME>", 18), ("<GROUPPEERNAME>", 20), ("<CLOUDNAME>", 11),
        ("<SCOPE>", 7), ("<CLOUDFLAGS>", 12), ("</GMC>", -100), ("</GMC>", -2),
        ("</PEERSTATEDATA>", -100), ("</PEERSTATEDATA>", -2), ("</PEERGROUPCONFIG>", 3),
    ],
)
def test_an_altered_character_is_refused(owned_text: str, marker: str, offset: int) -> None:
    index = owned_text.index(marker) + offset
    replacement = "A" if owned_text[index] != "A" else "B"
    refused(owned_text[:index] + replacement + owned_text[index + 1 :], rule=None)


def test_a_cloud_changed_with_its_scope_and_flags_is_refused(joined: GroupConfig) -> None:
    """Scope and flags derive from the cloud, so only the password-protected label tells."""
    text = configs.group_config_xml(joined, PASSWORD)
    altered = text.replace("LinkLocal_{1}", "LinkLocal_{2}")
    assert formats.read_group_config_xml(altered)[2:5] == ("LinkLocal_{2}", "LINKLOCAL", 1)
    assert "cloud" in refused(altered, rule="config_cloud_is_protected")


def test_an_unknown_cloud_is_refused(owned: GroupConfig, root: bytes, creator: bytes) -> None:
    data = crypto.export_pkcs12(None, root, "Mars_", PASSWORD, [creator])
    gmc = crypto.certificates_to_pkcs7([root, creator])
    refused(formats.group_config_xml(owned.identity, owned.group_peer_name, "Mars_", "GLOBAL", 0, gmc, data),
            rule="config_cloud_is_protected")


def test_a_config_for_another_identitys_chain_is_refused(joined: GroupConfig, bob_key: PrivateKey) -> None:
    other = GroupConfig(peer_name(bob_key, "inviter"), joined.group_peer_name, joined.cloud, joined.chain, None)
    assert "not of" in refused(configs.group_config_xml(other, PASSWORD), rule="config_chain_is_the_identity_s")


def test_a_group_that_is_not_the_chains_is_refused(joined: GroupConfig, stranger_key: PrivateKey) -> None:
    other = GroupConfig(joined.identity, group_name(stranger_key), joined.cloud, joined.chain, None)
    assert "root certificate is for" in refused(configs.group_config_xml(other, PASSWORD))


def test_a_chain_that_does_not_verify_is_refused(joined: GroupConfig, root: bytes, three: list[bytes]) -> None:
    broken = GroupConfig(joined.identity, joined.group_peer_name, joined.cloud, (root, three[0], three[2]), None)
    assert "not signed by its parent" in refused(configs.group_config_xml(broken, PASSWORD))


def test_a_key_that_is_not_the_groups_is_refused(owned: GroupConfig, owned_text: str, stranger_key: PrivateKey) -> None:
    """``export_pkcs12`` cannot write one, so the PFX is made by hand: the key beside the chain."""
    data = pkcs12.serialize_key_and_certificates(
        b"Global_", stranger_key, None, [x509.load_der_x509_certificate(der) for der in owned.chain],
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )
    identity, group, cloud, scope, flags, gmc, _ = formats.read_group_config_xml(owned_text)
    assert "does not belong" in refused(formats.group_config_xml(identity, group, cloud, scope, flags, gmc, data))


def test_a_gmc_element_other_than_the_protected_chain_is_refused(owned_text: str, joined: GroupConfig) -> None:
    identity, group, cloud, scope, flags, _, data = formats.read_group_config_xml(owned_text)
    gmc = crypto.certificates_to_pkcs7(list(joined.chain))
    assert "GMC element" in refused(
        formats.group_config_xml(identity, group, cloud, scope, flags, gmc, data), rule="config_gmc_is_protected",
    )


@pytest.mark.parametrize(
    "alter",
    [lambda pfx: pfx + b"\x00", lambda pfx: pfx[:4] + b"\x02\x01\x07" + pfx[7:]],
    ids=["a byte after the PFX", "another PFX version"],
)
def test_a_pfx_changed_outside_its_mac_is_refused(owned_text: str, alter: Callable[[bytes], bytes]) -> None:
    """Neither is covered by the MAC, and ``cryptography`` would open both."""
    identity, group, cloud, scope, flags, gmc, data = formats.read_group_config_xml(owned_text)
    assert data[4:7] == b"\x02\x01\x03"  # a four-octet SEQUENCE header, then INTEGER 3
    refused(formats.group_config_xml(identity, group, cloud, scope, flags, gmc, alter(data)))
