"""Group root and membership certificates, chains, signatures and password proofs."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any
from itertools import combinations
from uuid import UUID

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from hypothesis import given, settings
from hypothesis import strategies as st

from peerstate import crypto, names
from peerstate.bounds import MAX_CHAIN_LENGTH
from peerstate.crypto import credentials
from peerstate.crypto.credentials import (
    ROOT_LIFETIME,
    CircularChain,
    GroupRoot,
    issue_membership,
    issued_by,
    read_group_root,
    read_membership,
    verify_chain,
)
from peerstate.crypto import PEER_NAME_OID, CryptoFailure, PrivateKey
from peerstate.names import may_issue
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER

from conftest import T0

END = T0 + timedelta(days=365)
AT = T0 + timedelta(days=1)
ROLES_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.44.3.3")
CLASSIFIERS_OID = x509.ObjectIdentifier("1.3.6.1.4.1.311.44.3.5")
BASIC_CONSTRAINTS = x509.oid.ExtensionOID.BASIC_CONSTRAINTS
ALL_ROLES = (ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER)


def group_name(key: PrivateKey) -> str:
    return f"{names.authority_of(crypto.public_key_der(key))}.chess"


def peer_name(key: PrivateKey, classifier: str) -> str:
    return f"{names.authority_of(crypto.public_key_der(key))}.{classifier}"


@pytest.fixture(scope="module")
def group_key() -> PrivateKey:
    return crypto.generate_identity_key()


@pytest.fixture(scope="module")
def alice_key() -> PrivateKey:
    return crypto.generate_identity_key()


@pytest.fixture(scope="module")
def bob_key() -> PrivateKey:
    return crypto.generate_identity_key()


@pytest.fixture(scope="module")
def stranger_key() -> PrivateKey:
    return crypto.generate_identity_key()


@pytest.fixture(scope="module")
def group(group_key: PrivateKey) -> str:
    return group_name(group_key)


@pytest.fixture(scope="module")
def root(group_key: PrivateKey, group: str) -> bytes:
    return credentials.make_group_root(group_key, group, T0)


def issue(
    issuer_key: PrivateKey,
    issuer_der: bytes,
    subject_key: PrivateKey,
    classifier: str,
    roles: Sequence[UUID],
    group: str,
    *,
    friendly: str = "",
    not_before: datetime = T0,
    not_after: datetime = END,
) -> bytes:
    return issue_membership(
        issuer_key,
        issuer_der,
        group_peer_name=group,
        subject=peer_name(subject_key, classifier),
        subject_friendly_name=friendly,
        subject_public_key=crypto.public_key_der(subject_key),
        roles=roles,
        not_before=not_before,
        not_after=not_after,
    )


@pytest.fixture(scope="module")
def creator(group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str) -> bytes:
    """The creator's own GMC, an admin, signed by the group key."""
    return issue(group_key, root, alice_key, "creator", [ROLE_ADMIN], group)


@pytest.fixture(scope="module")
def three(alice_key: PrivateKey, bob_key: PrivateKey, creator: bytes, group: str) -> list[bytes]:
    """Creator (admin, Alice's key) -> inviting member (Bob's key) -> member (Alice's key)."""
    inviter = issue(alice_key, creator, bob_key, "inviter", [ROLE_INVITING_MEMBER], group)
    member = issue(bob_key, inviter, alice_key, "member", [ROLE_MEMBER], group)
    return [creator, inviter, member]


@pytest.fixture(scope="module")
def long_chain(
    group_key: PrivateKey, alice_key: PrivateKey, bob_key: PrivateKey, root: bytes, group: str
) -> list[bytes]:
    """One link more than allowed: admins whose keys alternate, each under a name of its own."""
    chain: list[bytes] = []
    issuer_key, issuer_der = group_key, root
    for index in range(MAX_CHAIN_LENGTH + 1):
        subject_key = (alice_key, bob_key)[index % 2]
        issuer_der = issue(issuer_key, issuer_der, subject_key, f"admin{index}", [ROLE_ADMIN], group)
        issuer_key = subject_key
        chain.append(issuer_der)
    return chain


def flip(der: bytes, index: int, mask: int = 0x01) -> bytes:
    return der[:index] + bytes([der[index] ^ mask]) + der[index + 1 :]


def extension(der: bytes, oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
    found = [e.value for e in x509.load_der_x509_certificate(der).extensions if e.oid == oid]
    return found[0] if found else None


# Group root certificates --------------------------------------------------------------------

def test_a_group_root_reads_back(group_key: PrivateKey, group: str, root: bytes) -> None:
    assert read_group_root(root) == GroupRoot(root, group, crypto.public_key_der(group_key))
    certificate = x509.load_der_x509_certificate(root)
    assert (certificate.not_valid_before_utc, certificate.not_valid_after_utc) == (T0, T0 + ROOT_LIFETIME)
    assert extension(root, BASIC_CONSTRAINTS) == x509.BasicConstraints(ca=True, path_length=None)
    assert extension(root, PEER_NAME_OID) == x509.UnrecognizedExtension(PEER_NAME_OID, group.encode())
    assert extension(root, ROLES_OID) is None


def forged_root(
    key: PrivateKey,
    *,
    group: str | None = "0.forged",
    ca: bool = True,
    roles: bytes | None = None,
    signer: PrivateKey | None = None,
) -> bytes:
    """A GRC written by hand, with one thing changed at a time."""
    name = x509.Name([x509.NameAttribute(PEER_NAME_OID, "0.forged")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if group is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(PEER_NAME_OID, group.encode()), critical=False)
    if roles is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(ROLES_OID, roles), critical=False)
    return builder.sign(signer or key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_the_hand_written_root_reads(group_key: PrivateKey) -> None:
    assert read_group_root(forged_root(group_key)).group_peer_name == "0.forged"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"group": None}, "no 1.3.6.1.4.1.311.44.3.1 extension"),
        ({"group": "0.other"}, "subject is not the group"),
        ({"ca": False}, "not a certificate authority"),
        ({"roles": ROLE_ADMIN.bytes}, "grants roles"),
    ],
)
def test_a_root_must_have_the_root_layout(group_key: PrivateKey, change: dict[str, Any], reason: str) -> None:
    with pytest.raises(CryptoFailure, match=reason):
        read_group_root(forged_root(group_key, **change))


def test_a_root_must_sign_itself(group_key: PrivateKey, stranger_key: PrivateKey, root: bytes) -> None:
    with pytest.raises(CryptoFailure, match="self-signature"):
        read_group_root(forged_root(group_key, signer=stranger_key))
    with pytest.raises(CryptoFailure, match="self-signature"):
        read_group_root(flip(root, len(root) - 1))


def test_a_root_is_neither_a_gmc_nor_an_idc_nor_junk(alice_key: PrivateKey, creator: bytes) -> None:
    idc = crypto.make_identity_certificate(alice_key, peer_name(alice_key, "me"), "Alice", T0)
    for der in (creator, idc, b"", b"junk"):
        with pytest.raises(CryptoFailure):
            read_group_root(der)


# Group membership certificates --------------------------------------------------------------

@pytest.mark.parametrize(
    "roles", [[ROLE_ADMIN], [ROLE_INVITING_MEMBER], [ROLE_MEMBER], [ROLE_MEMBER, ROLE_ADMIN, ROLE_MEMBER]]
)
def test_a_membership_reads_back(
    group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str, roles: list[UUID]
) -> None:
    der = issue(group_key, root, alice_key, "me", roles, group, friendly="Alice", not_after=END)
    membership = read_membership(der)
    assert membership.der == der
    assert membership.fingerprint == hashlib.sha256(der).digest()
    assert membership.group_peer_name == group
    assert (membership.subject, membership.subject_friendly_name) == (peer_name(alice_key, "me"), "Alice")
    assert membership.public_key == crypto.public_key_der(alice_key)
    assert membership.roles == tuple(sorted(set(roles)))
    assert (membership.not_before, membership.not_after) == (T0, END)
    assert issued_by(der, root)


def test_an_empty_friendly_name_reads_as_the_peer_name(creator: bytes, alice_key: PrivateKey) -> None:
    assert read_membership(creator).subject_friendly_name == peer_name(alice_key, "creator")


def test_the_issuer_name_is_the_issuers_subject(root: bytes, three: list[bytes]) -> None:
    certificates = [x509.load_der_x509_certificate(der) for der in [root, *three]]
    for parent, child in zip(certificates, certificates[1:]):
        assert child.issuer == parent.subject


@pytest.mark.parametrize(
    ("roles", "ca", "participant"),
    [
        ([ROLE_ADMIN], True, False),
        ([ROLE_INVITING_MEMBER], True, True),
        ([ROLE_MEMBER], False, True),
        ([ROLE_ADMIN, ROLE_MEMBER], True, False),
    ],
)
def test_issuing_roles_make_a_ca_and_only_admins_lack_the_participant_classifier(
    group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str,
    roles: list[UUID], ca: bool, participant: bool,
) -> None:
    der = issue(group_key, root, alice_key, "me", roles, group)
    assert extension(der, BASIC_CONSTRAINTS) == x509.BasicConstraints(ca=ca, path_length=None)
    classifiers = x509.UnrecognizedExtension(CLASSIFIERS_OID, b"participant") if participant else None
    assert extension(der, CLASSIFIERS_OID) == classifiers
    assert extension(der, ROLES_OID) == x509.UnrecognizedExtension(
        ROLES_OID, b"".join(role.bytes for role in sorted(set(roles)))
    )


def forged_gmc(
    group_key: PrivateKey,
    root: bytes,
    subject_key: CertificatePublicKeyTypes,
    *,
    group: bytes | None = b"0.forged",
    roles: bytes | None = ROLE_MEMBER.bytes,
    ca: bool = False,
    participant: bool = True,
) -> bytes:
    """A GMC written by hand, with one thing changed at a time."""
    subject = x509.Name(
        [x509.NameAttribute(PEER_NAME_OID, "0.me"), x509.NameAttribute(x509.NameOID.PSEUDONYM, "Me")]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(x509.load_der_x509_certificate(root).subject)
        .public_key(subject_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0)
        .not_valid_after(END)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    classifiers = b"participant" if participant else None
    for oid, value in ((PEER_NAME_OID, group), (ROLES_OID, roles), (CLASSIFIERS_OID, classifiers)):
        if value is not None:
            builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
    return builder.sign(group_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_the_hand_written_gmc_reads(group_key: PrivateKey, alice_key: PrivateKey, root: bytes) -> None:
    membership = read_membership(forged_gmc(group_key, root, alice_key.public_key()))
    assert (membership.group_peer_name, membership.roles) == ("0.forged", (ROLE_MEMBER,))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"group": None}, "no 1.3.6.1.4.1.311.44.3.1 extension"),
        ({"group": b"\xff\xfe"}, "not a group membership certificate"),
        ({"roles": None}, "no 1.3.6.1.4.1.311.44.3.3 extension"),
        ({"roles": b""}, "at least one role"),
        ({"roles": ROLE_MEMBER.bytes[:15]}, "not a multiple of 16"),
        ({"roles": ROLE_MEMBER.bytes + b"\x00"}, "not a multiple of 16"),
        ({"roles": UUID(int=1).bytes}, "not one of the three group roles"),
        ({"roles": ROLE_MEMBER.bytes_le}, "not one of the three group roles"),
        ({"roles": ROLE_MEMBER.bytes + ROLE_ADMIN.bytes}, "not sorted and distinct"),
        ({"roles": ROLE_MEMBER.bytes * 2}, "not sorted and distinct"),
        ({"ca": True}, "basic constraints"),
        ({"participant": False}, "classifiers"),
        ({"roles": ROLE_ADMIN.bytes, "ca": True}, "classifiers"),
    ],
)
def test_a_gmc_must_have_the_gmc_layout(
    group_key: PrivateKey, alice_key: PrivateKey, root: bytes, change: dict[str, Any], reason: str
) -> None:
    with pytest.raises(CryptoFailure, match=reason):
        read_membership(forged_gmc(group_key, root, alice_key.public_key(), **change))


def test_a_gmc_carries_an_rsa_key(group_key: PrivateKey, root: bytes) -> None:
    with pytest.raises(CryptoFailure, match="RSA"):
        read_membership(forged_gmc(group_key, root, ec.generate_private_key(ec.SECP256R1()).public_key()))


def test_a_gmc_is_neither_a_root_nor_junk(root: bytes) -> None:
    for der in (root, b"", b"junk"):
        with pytest.raises(CryptoFailure):
            read_membership(der)


@pytest.mark.parametrize("roles", [[], [UUID(int=1)], [ROLE_MEMBER, UUID(int=1)]])
def test_issuing_refuses_roles_no_reader_would_accept(
    group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str, roles: list[UUID]
) -> None:
    with pytest.raises(ValueError, match="role"):
        issue(group_key, root, alice_key, "me", roles, group)


def test_issuing_refuses_a_bad_issuer_certificate_or_subject_key(
    group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str
) -> None:
    def attempt(issuer_der: bytes, subject_public_key: bytes) -> bytes:
        return issue_membership(
            group_key, issuer_der, group_peer_name=group, subject="0.me", subject_friendly_name="",
            subject_public_key=subject_public_key, roles=[ROLE_MEMBER], not_before=T0, not_after=END,
        )

    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_spki = ec_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    alice = crypto.public_key_der(alice_key)
    for issuer_der, subject_public_key in ((b"junk", alice), (root, b"junk"), (root, ec_spki)):
        with pytest.raises(CryptoFailure):
            attempt(issuer_der, subject_public_key)


# issued_by and may_issue --------------------------------------------------------------------

def test_issued_by_follows_the_chain(root: bytes, three: list[bytes]) -> None:
    parents = [root, *three]
    for parent, child in zip(parents, parents[1:]):
        assert issued_by(child, parent)
        assert not issued_by(parent, child)
    assert issued_by(root, root)


def test_issued_by_refuses_the_wrong_parent(root: bytes, three: list[bytes]) -> None:
    creator, inviter, member = three
    assert not issued_by(inviter, root)
    assert not issued_by(member, creator)
    assert not issued_by(member, member)


def test_issued_by_refuses_an_altered_signature_and_junk(root: bytes, creator: bytes) -> None:
    assert not issued_by(flip(creator, len(creator) - 1), root)
    assert not issued_by(flip(creator, len(creator) - 100, 0xFF), root)
    for child, parent in ((b"", root), (creator, b""), (b"junk", b"junk")):
        assert not issued_by(child, parent)


ISSUABLE_BY = {
    None: {ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER},
    ROLE_ADMIN: {ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER},
    ROLE_INVITING_MEMBER: {ROLE_INVITING_MEMBER, ROLE_MEMBER},
    ROLE_MEMBER: set(),
}
"""[MS-PPSEC] 2.2.5.3 and 2.2.5.2.3: the roles each role (None: the group root) may issue."""
ROLE_SETS = [set(c) for n in range(len(ALL_ROLES) + 1) for c in combinations(ALL_ROLES, n)]


@pytest.mark.parametrize("issuer", list(ISSUABLE_BY), ids=["root", "admin", "inviting", "member"])
@pytest.mark.parametrize("subject", ROLE_SETS, ids=lambda s: "+".join(names.ROLE_NAMES[r][16:] for r in s) or "none")
def test_may_issue_follows_the_role_table(issuer: UUID | None, subject: set[UUID]) -> None:
    issuer_roles = None if issuer is None else [issuer]
    assert may_issue(issuer_roles, subject) == (bool(subject) and subject <= ISSUABLE_BY[issuer])


def test_may_issue_with_several_or_unknown_roles() -> None:
    assert may_issue([ROLE_MEMBER, ROLE_INVITING_MEMBER], [ROLE_INVITING_MEMBER])
    assert not may_issue([ROLE_MEMBER, ROLE_INVITING_MEMBER], [ROLE_ADMIN])
    assert not may_issue(None, [UUID(int=1)])
    assert not may_issue([UUID(int=1)], [ROLE_MEMBER])
    assert not may_issue([], [ROLE_MEMBER])


# verify_chain -------------------------------------------------------------------------------

def test_a_chain_of_one_is_the_creator(alice_key: PrivateKey, root: bytes, creator: bytes, group: str) -> None:
    [link] = verify_chain(root, [creator], group, AT)
    assert link == read_membership(creator)
    assert link.subject == peer_name(alice_key, "creator")


def test_a_chain_of_three(root: bytes, three: list[bytes], group: str) -> None:
    links = verify_chain(root, three, group, AT)
    assert [link.roles for link in links] == [(ROLE_ADMIN,), (ROLE_INVITING_MEMBER,), (ROLE_MEMBER,)]
    assert [link.der for link in links] == three


def test_a_chain_of_exactly_the_limit(root: bytes, long_chain: list[bytes], group: str) -> None:
    links = verify_chain(root, long_chain[:MAX_CHAIN_LENGTH], group, AT)
    assert len(links) == MAX_CHAIN_LENGTH == 24
    assert len({link.subject for link in links}) == MAX_CHAIN_LENGTH


def test_a_chain_longer_than_the_limit_is_refused(root: bytes, long_chain: list[bytes], group: str) -> None:
    with pytest.raises(CryptoFailure, match="25 links; at most 24"):
        verify_chain(root, long_chain, group, AT)


def test_an_empty_chain_is_refused(root: bytes, group: str) -> None:
    with pytest.raises(CryptoFailure, match="no membership certificate"):
        verify_chain(root, [], group, AT)


def test_a_chain_that_names_a_subject_twice_is_circular(
    alice_key: PrivateKey, bob_key: PrivateKey, root: bytes, creator: bytes, group: str
) -> None:
    """A invites B, then B invites A: every link is valid on its own."""
    bob = issue(alice_key, creator, bob_key, "bob", [ROLE_ADMIN], group)
    alice_again = issue(bob_key, bob, alice_key, "creator", [ROLE_MEMBER], group)
    with pytest.raises(CircularChain, match="link 2 of the chain names .*creator', as link 0 does"):
        verify_chain(root, [creator, bob, alice_again], group, AT)


def test_a_subject_issuing_to_itself_is_circular(
    alice_key: PrivateKey, root: bytes, creator: bytes, group: str
) -> None:
    again = issue(alice_key, creator, alice_key, "creator", [ROLE_ADMIN], group)
    with pytest.raises(CircularChain, match="link 1 of the chain"):
        verify_chain(root, [creator, again], group, AT)
    assert issubclass(CircularChain, CryptoFailure)


def test_one_key_under_two_names_is_not_circular(root: bytes, three: list[bytes], group: str) -> None:
    creator, _, member = three
    assert read_membership(creator).public_key == read_membership(member).public_key
    assert len(verify_chain(root, three, group, AT)) == 3


def test_a_member_may_not_issue_and_an_inviter_may_not_make_admins(
    alice_key: PrivateKey, bob_key: PrivateKey, three: list[bytes], root: bytes, group: str
) -> None:
    creator, inviter, member = three
    by_member = issue(alice_key, member, bob_key, "next", [ROLE_MEMBER], group)
    with pytest.raises(CryptoFailure, match="link 3 of the chain grants roles"):
        verify_chain(root, [*three, by_member], group, AT)
    admin_by_inviter = issue(bob_key, inviter, alice_key, "boss", [ROLE_ADMIN], group)
    with pytest.raises(CryptoFailure, match="link 2 of the chain grants roles"):
        verify_chain(root, [creator, inviter, admin_by_inviter], group, AT)


def test_a_link_signed_by_the_wrong_key_is_refused(
    stranger_key: PrivateKey, bob_key: PrivateKey, root: bytes, three: list[bytes], group: str
) -> None:
    creator, _, _ = three
    forged = issue(stranger_key, creator, bob_key, "bob", [ROLE_MEMBER], group)
    with pytest.raises(CryptoFailure, match="link 1 of the chain is not signed by its parent"):
        verify_chain(root, [creator, forged], group, AT)
    with pytest.raises(CryptoFailure, match="link 0 of the chain is not signed by its parent"):
        verify_chain(root, three[1:], group, AT)


def test_a_link_for_another_group_is_refused(
    group_key: PrivateKey, alice_key: PrivateKey, stranger_key: PrivateKey, root: bytes, group: str
) -> None:
    elsewhere = issue(group_key, root, alice_key, "creator", [ROLE_ADMIN], group_name(stranger_key))
    with pytest.raises(CryptoFailure, match="link 0 of the chain is for the group"):
        verify_chain(root, [elsewhere], group, AT)


@pytest.mark.parametrize(
    ("not_before", "not_after"), [(T0, END + timedelta(seconds=1)), (T0 - timedelta(seconds=1), END)]
)
def test_a_child_may_not_outlive_its_parent(
    alice_key: PrivateKey, bob_key: PrivateKey, root: bytes, creator: bytes, group: str,
    not_before: datetime, not_after: datetime,
) -> None:
    child = issue(
        alice_key, creator, bob_key, "bob", [ROLE_MEMBER], group, not_before=not_before, not_after=not_after
    )
    with pytest.raises(CryptoFailure, match="link 1 of the chain is valid outside its parent's validity"):
        verify_chain(root, [creator, child], group, AT)


def test_the_first_link_may_not_outlive_the_root(
    group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str
) -> None:
    too_late = T0 + ROOT_LIFETIME + timedelta(days=1)
    late = issue(group_key, root, alice_key, "creator", [ROLE_ADMIN], group, not_after=too_late)
    with pytest.raises(CryptoFailure, match="link 0 of the chain is valid outside"):
        verify_chain(root, [late], group, AT)


@pytest.mark.parametrize("at", [T0 - timedelta(seconds=1), END + timedelta(seconds=1)])
def test_every_link_must_be_valid_at_the_time(root: bytes, three: list[bytes], group: str, at: datetime) -> None:
    with pytest.raises(CryptoFailure, match="link 0 of the chain is not valid at"):
        verify_chain(root, three, group, at)


def test_the_validity_bounds_are_inclusive(root: bytes, three: list[bytes], group: str) -> None:
    assert verify_chain(root, three, group, T0) == verify_chain(root, three, group, END)


def test_the_root_must_belong_to_the_groups_authority(
    group_key: PrivateKey, alice_key: PrivateKey, stranger_key: PrivateKey
) -> None:
    claimed = group_name(stranger_key)
    root = credentials.make_group_root(group_key, claimed, T0)
    creator = issue(group_key, root, alice_key, "creator", [ROLE_ADMIN], claimed)
    with pytest.raises(CryptoFailure, match="authority"):
        verify_chain(root, [creator], claimed, AT)


def test_the_root_must_be_for_the_group_asked(
    stranger_key: PrivateKey, root: bytes, creator: bytes, group: str
) -> None:
    with pytest.raises(CryptoFailure, match="root certificate is for"):
        verify_chain(root, [creator], group_name(stranger_key), AT)


def test_the_root_and_links_must_parse(root: bytes, three: list[bytes], group: str) -> None:
    with pytest.raises(CryptoFailure, match="not a group root certificate"):
        verify_chain(three[0], three, group, AT)
    with pytest.raises(CryptoFailure, match="link 1 of the chain: not a group membership certificate"):
        verify_chain(root, [three[0], b"junk"], group, AT)


def claiming_an_unused_bit(make: Callable[[], bytes]) -> bytes:
    """A certificate from ``make`` whose signature BIT STRING claims one unused bit.

    It is still valid DER once the signature ends in a zero bit, which every other one does.
    """
    der = next(der for der in iter(make, b"") if der[-1] % 2 == 0)
    count = len(der) - len(x509.load_der_x509_certificate(der).signature) - 1
    altered = der[:count] + b"\x01" + der[count + 1 :]
    assert x509.load_der_x509_certificate(altered).signature == x509.load_der_x509_certificate(der).signature
    return altered


def test_a_signature_claiming_unused_bits_is_refused(
    group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str
) -> None:
    with pytest.raises(CryptoFailure, match="unused bits"):
        read_group_root(claiming_an_unused_bit(lambda: credentials.make_group_root(group_key, group, T0)))
    with pytest.raises(CryptoFailure, match="unused bits"):
        read_membership(
            claiming_an_unused_bit(lambda: issue(group_key, root, alice_key, "me", [ROLE_MEMBER], group))
        )


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")  # a flipped serial
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_flipped_byte_of_a_gmc_is_noticed(root: bytes, creator: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(creator) - 1), label="index")
    mask = data.draw(st.integers(1, 255), label="mask")
    altered = flip(creator, index, mask)
    try:
        read_membership(altered)
    except CryptoFailure:
        return
    assert not issued_by(altered, root)


# Signatures and password proofs -------------------------------------------------------------

def test_a_signature_matches_its_data_and_key(alice_key: PrivateKey) -> None:
    public = crypto.public_key_der(alice_key)
    signature = credentials.sign(alice_key, b"record")
    assert credentials.signature_matches(public, b"record", signature)
    assert credentials.sign(alice_key, b"record") != signature  # PSS is randomised


def test_a_signature_does_not_match_anything_else(alice_key: PrivateKey, bob_key: PrivateKey) -> None:
    public = crypto.public_key_der(alice_key)
    signature = credentials.sign(alice_key, b"record")
    truncated = public[:-1]
    assert not credentials.signature_matches(public, b"recorD", signature)
    assert not credentials.signature_matches(public, b"record", flip(signature, 10))
    assert not credentials.signature_matches(public, b"record", signature[:-1])
    assert not credentials.signature_matches(crypto.public_key_der(bob_key), b"record", signature)
    for garbage in (b"", b"junk", truncated):
        assert not credentials.signature_matches(garbage, b"record", signature)


def test_a_signature_does_not_match_a_non_rsa_key(alice_key: PrivateKey) -> None:
    ec_public = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert not credentials.signature_matches(ec_public, b"record", credentials.sign(alice_key, b"record"))


def test_a_password_proof_is_hmac_sha256_of_the_transcript() -> None:
    proof = credentials.password_proof(b"verifier", b"transcript")
    assert proof == hmac.new(b"verifier", b"transcript", hashlib.sha256).digest()
    assert credentials.password_proof_matches(b"verifier", b"transcript", proof)


@pytest.mark.parametrize(
    ("verifier", "transcript", "cut"),
    [(b"verifieR", b"transcript", 0), (b"verifier", b"transcripT", 0), (b"verifier", b"transcript", 1)],
)
def test_a_password_proof_fails_for_anything_else(verifier: bytes, transcript: bytes, cut: int) -> None:
    proof = credentials.password_proof(b"verifier", b"transcript")
    assert not credentials.password_proof_matches(verifier, transcript, proof[: len(proof) - cut])
