"""Password and GMC invitations: round trips, every field, and every way a forgery is refused."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import attrs
import pytest

from peerstate import crypto, wire
from peerstate.bounds import MAX_CHAIN_LENGTH, MAX_DOCUMENT_CHARS
from peerstate.crypto import credentials
from peerstate.documents import formats, invitations
from peerstate.constants import PnrpCloudFlags, PnrpScope
from peerstate.crypto import PrivateKey
from peerstate.errors import PeerError
from peerstate.registry import RULES
from peerstate.documents.invitations import CredentialInvitation, PasswordInvitation
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER

from conftest import T0
from test_credentials import END, issue, peer_name
from test_credentials import alice_key, bob_key, group, group_key, long_chain, root, stranger_key  # noqa: F401

FROM, UNTIL = T0 + timedelta(days=2), END - timedelta(days=2)
NOT_TRUSTED = "PEER_E_INVITATION_NOT_TRUSTED"
UNSUPPORTED = "PEER_E_UNSUPPORTED_VERSION"


@pytest.fixture(scope="module")
def creator(group_key: PrivateKey, alice_key: PrivateKey, root: bytes, group: str) -> bytes:
    return issue(group_key, root, alice_key, "creator", [ROLE_ADMIN], group, friendly="Alice")


@pytest.fixture(scope="module")
def chain(alice_key: PrivateKey, bob_key: PrivateKey, root: bytes, creator: bytes, group: str) -> tuple[bytes, ...]:
    """Alice, the creator, invites Bob as an inviting member, for less time than her own."""
    bob = issue(
        alice_key, creator, bob_key, "bob", [ROLE_MEMBER, ROLE_INVITING_MEMBER], group,
        friendly="Bob", not_before=FROM, not_after=UNTIL,
    )
    return root, creator, bob


@pytest.fixture(scope="module")
def document(chain: tuple[bytes, ...], alice_key: PrivateKey) -> str:
    return invitations.credential_invitation_xml("Global_", "Chess & co", chain, alice_key)


@pytest.fixture(scope="module")
def password_invitation(alice_key: PrivateKey, group: str) -> PasswordInvitation:
    return PasswordInvitation(
        "SiteLocal_%4", group, "Chess", peer_name(alice_key, "creator"), "Alice", ROLE_MEMBER,
        b"salt" * 4, 2, 1, 19 * 1024, FROM, UNTIL,
    )


@contextmanager
def refused(rule: str, name: str = NOT_TRUSTED) -> Iterator[None]:
    """The block is refused with ``name`` under the registered rule ``rule``."""
    with pytest.raises(PeerError) as caught:
        yield
    assert (caught.value.rule, caught.value.name) == (rule, name), caught.value


def outcome(text: str) -> str:
    """The HRESULT name that reading ``text`` fails with, or "read"."""
    return refusal(text)[0]


def refusal(text: str) -> tuple[str, str | None]:
    """The HRESULT name that reading ``text`` fails with and the rule that refused it, or
    ("read", None)."""
    try:
        invitations.read_invitation(text)
    except PeerError as error:
        return error.name, error.rule
    return "read", None


def forged(
    chain: tuple[bytes, ...], signer: PrivateKey, *, carried: tuple[bytes, ...] | None = None,
    cloud: str = "Global_", elements: tuple[str, str, int] = ("Global_", "GLOBAL", 0),
) -> str:
    """A credential invitation written by hand, as ``credential_invitation_xml`` never would:
    a statement of ``chain`` signed by ``signer``, with a GMC element of ``carried`` (the chain
    itself unless given) and the readable cloud elements ``elements``."""
    fingerprints = tuple(hashlib.sha256(der).digest() for der in chain)
    statement = invitations.CredentialStatement(cloud, "Chess", fingerprints)
    signed = invitations.SignedCredentialStatement(statement, credentials.sign(signer, wire.canonical(statement)))
    gmc = crypto.certificates_to_pkcs7(list(chain if carried is None else carried))
    return formats.credential_invitation_xml(*elements, gmc, wire.canonical(signed))


# Round trips ---------------------------------------------------------------------------------

def test_a_credential_invitation_reads_back_every_field_from_its_certificates(
    document: str, chain: tuple[bytes, ...], group: str, alice_key: PrivateKey, bob_key: PrivateKey
) -> None:
    assert invitations.read_invitation(document) == CredentialInvitation(
        cloud="Global_",
        group_peer_name=group,
        group_friendly_name="Chess & co",
        issuer=peer_name(alice_key, "creator"),
        issuer_friendly_name="Alice",
        subject=peer_name(bob_key, "bob"),
        subject_friendly_name="Bob",
        subject_public_key=crypto.public_key_der(bob_key),
        roles=tuple(sorted([ROLE_MEMBER, ROLE_INVITING_MEMBER])),
        valid_from=FROM,
        valid_until=UNTIL,
        chain=chain,
    )


def test_a_credential_invitation_has_the_windows_elements_then_the_signed_statement(
    document: str, chain: tuple[bytes, ...]
) -> None:
    parts = formats.read_invitation_xml(document)
    assert isinstance(parts, formats.CredentialInvitationParts)
    assert (parts.cloud, parts.scope, parts.cloud_flags) == ("Global_", "GLOBAL", 0)
    assert parts.gmc_pkcs7 == crypto.certificates_to_pkcs7(list(chain))
    assert document.startswith('<PEERINVITATION VERSION="1.0"><CLOUDNAME>Global_</CLOUDNAME>')


def test_a_password_invitation_round_trips(
    password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey
) -> None:
    text = invitations.password_invitation_xml(password_invitation, chain[:2], alice_key)
    assert invitations.read_invitation(text) == password_invitation


@pytest.mark.parametrize(
    ("cloud", "scope", "pnrp_scope", "flags"),
    [
        ("Global_", "GLOBAL", PnrpScope.PNRP_GLOBAL_SCOPE, PnrpCloudFlags(0)),
        ("SiteLocal_fec0", "SITELOCAL", PnrpScope.PNRP_SITE_LOCAL_SCOPE, PnrpCloudFlags(0)),
        ("SiteLocal_%4", "SITELOCAL", PnrpScope.PNRP_SITE_LOCAL_SCOPE, PnrpCloudFlags.PNRP_CLOUD_NAME_LOCAL),
        ("LinkLocal_{0A}", "LINKLOCAL", PnrpScope.PNRP_LINK_LOCAL_SCOPE, PnrpCloudFlags.PNRP_CLOUD_NAME_LOCAL),
    ],
)
def test_both_kinds_derive_scope_and_flags_from_the_cloud(
    chain: tuple[bytes, ...], alice_key: PrivateKey, password_invitation: PasswordInvitation,
    cloud: str, scope: str, pnrp_scope: PnrpScope, flags: PnrpCloudFlags,
) -> None:
    read = invitations.read_invitation(invitations.credential_invitation_xml(cloud, "Chess", chain, alice_key))
    for invitation in (read, attrs.evolve(password_invitation, cloud=cloud)):
        assert (invitation.cloud, invitation.scope, invitation.pnrp_scope, invitation.cloud_flags) == (
            cloud, scope, pnrp_scope, flags,
        )


def test_a_chain_of_exactly_the_limit_fits_in_an_invitation(
    root: bytes, long_chain: list[bytes], alice_key: PrivateKey
) -> None:
    """``long_chain`` is administrators with Alice's and Bob's keys in turn, Alice's first."""
    chain = (root, *long_chain[:MAX_CHAIN_LENGTH])
    text = invitations.credential_invitation_xml("Global_", "Chess", chain, alice_key)
    assert len(text) <= MAX_DOCUMENT_CHARS
    invitation = invitations.read_invitation(text)
    assert isinstance(invitation, CredentialInvitation) and invitation.chain == chain


# Altered, foreign and forged documents -------------------------------------------------------

def test_altering_any_character_is_noticed(document: str) -> None:
    """Every 7th character, and each of the VERSION value's, replaced by another one."""
    start = document.index('VERSION="') + len('VERSION="')
    version = range(start, document.index('"', start))
    wrong = {}
    for index in sorted({*range(0, len(document), 7), *version}):
        replacement = "A" if document[index] != "A" else "B"
        result, rule = refusal(document[:index] + replacement + document[index + 1 :])
        if result != (UNSUPPORTED if index in version else NOT_TRUSTED) or getattr(RULES.get(rule or ""), "module", None) != invitations.__name__:
            wrong[index] = (result, rule)
    assert wrong == {}


@pytest.mark.parametrize("version", ["1.2", "2.0", "0.9"])
def test_another_version_is_unsupported(
    document: str, password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey,
    version: str,
) -> None:
    password_text = invitations.password_invitation_xml(password_invitation, chain[:2], alice_key)
    for text in (document.replace('"1.0"', f'"{version}"', 1), password_text.replace('"1.1"', f'"{version}"', 1)):
        with refused("invitation_version_is_supported", UNSUPPORTED):
            invitations.read_invitation(text)


def test_one_kind_under_the_others_version_is_not_trusted(
    document: str, password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey
) -> None:
    password_text = invitations.password_invitation_xml(password_invitation, chain[:2], alice_key)
    for text in (document.replace('"1.0"', '"1.1"', 1), password_text.replace('"1.1"', '"1.0"', 1)):
        with refused("invitation_is_valid"):
            invitations.read_invitation(text)


def test_a_member_may_not_issue(
    alice_key: PrivateKey, bob_key: PrivateKey, stranger_key: PrivateKey, root: bytes, creator: bytes, group: str
) -> None:
    member = issue(alice_key, creator, bob_key, "bob", [ROLE_MEMBER], group)
    invitee = issue(bob_key, member, stranger_key, "carol", [ROLE_MEMBER], group)
    with refused("invitation_is_valid"):
        invitations.read_invitation(
            invitations.credential_invitation_xml("Global_", "Chess", (root, creator, member, invitee), bob_key)
        )


def test_a_chain_of_25_gmcs_is_refused(root: bytes, long_chain: list[bytes], bob_key: PrivateKey) -> None:
    assert len(long_chain) == MAX_CHAIN_LENGTH + 1 == 25
    text = invitations.credential_invitation_xml("Global_", "Chess", (root, *long_chain), bob_key)
    with refused("invitation_is_valid"):
        invitations.read_invitation(text)


def test_a_link_signed_by_a_key_not_its_parents_is_refused(
    alice_key: PrivateKey, bob_key: PrivateKey, stranger_key: PrivateKey, root: bytes, creator: bytes, group: str
) -> None:
    forged_link = issue(stranger_key, creator, bob_key, "bob", [ROLE_MEMBER], group)
    with refused("invitation_is_valid"):
        invitations.read_invitation(forged((root, creator, forged_link), alice_key))


def test_a_circular_chain_is_refused(
    alice_key: PrivateKey, bob_key: PrivateKey, root: bytes, creator: bytes, group: str
) -> None:
    """Alice invites Bob as an administrator, then Bob invites Alice."""
    bob = issue(alice_key, creator, bob_key, "bob", [ROLE_ADMIN], group)
    alice_again = issue(bob_key, bob, alice_key, "creator", [ROLE_MEMBER], group)
    with refused("invitation_is_valid"):
        invitations.read_invitation(
            invitations.credential_invitation_xml("Global_", "Chess", (root, creator, bob, alice_again), bob_key)
        )


def test_only_the_issuer_may_sign(
    chain: tuple[bytes, ...], group_key: PrivateKey, bob_key: PrivateKey, stranger_key: PrivateKey
) -> None:
    for signer in (bob_key, group_key, stranger_key):
        with refused("invitation_signed_by_issuer"):
            invitations.read_invitation(invitations.credential_invitation_xml("Global_", "Chess", chain, signer))


def test_the_gmc_element_must_carry_exactly_the_signed_chain(
    chain: tuple[bytes, ...], alice_key: PrivateKey, bob_key: PrivateKey, group: str
) -> None:
    root, creator, _ = chain
    other_bob = issue(alice_key, creator, bob_key, "bob", [ROLE_ADMIN], group)
    assert outcome(forged(chain, alice_key)) == "read"
    for carried, rule in (
        ((root, creator, other_bob), "invitation_gmcs_are_the_signed_ones"),  # without the invitee's
        (chain[:2], "invitation_gmcs_are_the_signed_ones"),
        ((*chain, other_bob), "invitation_is_as_signed"),  # with one more: not the chain's PKCS#7
    ):
        assert refusal(forged(chain, alice_key, carried=carried)) == (NOT_TRUSTED, rule)


def test_a_chain_without_the_issuers_gmc_is_refused(root: bytes, creator: bytes, group_key: PrivateKey) -> None:
    with refused("invitation_chain_has_gmcs"):
        invitations.read_invitation(forged((root, creator), group_key))
    with pytest.raises(ValueError, match="the issuer's GMC and the invitee's"):
        invitations.credential_invitation_xml("Global_", "Chess", (root, creator), group_key)


@pytest.mark.parametrize(
    ("cloud", "elements", "rule"),
    [
        ("Mars_", ("Mars_", "GLOBAL", 0), "invitation_cloud_is_known"),
        ("Global_", ("LinkLocal_{0A}", "LINKLOCAL", 1), "invitation_is_as_signed"),
        ("Global_", ("Global_", "SITELOCAL", 0), "invitation_is_as_signed"),
        ("Global_", ("Global_", "GLOBAL", 1), "invitation_is_as_signed"),
    ],
)
def test_the_cloud_elements_must_be_the_signed_clouds(
    chain: tuple[bytes, ...], alice_key: PrivateKey, cloud: str, elements: tuple[str, str, int], rule: str,
) -> None:
    with refused(rule):
        invitations.read_invitation(forged(chain, alice_key, cloud=cloud, elements=elements))


def test_a_statement_that_does_not_decode_is_refused(chain: tuple[bytes, ...]) -> None:
    gmc = crypto.certificates_to_pkcs7(list(chain))
    for signed in (b"junk", b'{"@type": "SignedStatement"}'):
        with refused("invitation_is_valid"):
            invitations.read_invitation(formats.credential_invitation_xml("Global_", "GLOBAL", 0, gmc, signed))


def test_a_statement_in_other_bytes_is_refused(
    document: str, password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey
) -> None:
    """White space after the JSON, which a lenient decoder would read as the same statement."""
    password_text = invitations.password_invitation_xml(password_invitation, chain[:2], alice_key)
    for text in (document, password_text):
        signed = formats.read_invitation_xml(text).signed
        loose = text.replace(base64.b64encode(signed).decode(), base64.b64encode(signed + b" ").decode())
        assert formats.read_invitation_xml(loose).signed == signed + b" "
        with refused("invitation_statement_is_canonical"):
            invitations.read_invitation(loose)


def test_a_gmc_element_that_is_not_a_certificate_bundle_is_refused(document: str, chain: tuple[bytes, ...]) -> None:
    parts = formats.read_invitation_xml(document)
    assert isinstance(parts, formats.CredentialInvitationParts)
    signed_data = bytes.fromhex("2a864886f70d010702")  # the content type of a certificate bundle
    other_type = parts.gmc_pkcs7.replace(signed_data, signed_data[:-1] + b"\x63", 1)
    other_version = parts.gmc_pkcs7.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x05", 1)
    for gmc in (chain[1], b"junk", other_type, other_version):
        with refused("invitation_is_valid"):
            invitations.read_invitation(formats.credential_invitation_xml("Global_", "GLOBAL", 0, gmc, parts.signed))


def test_a_password_invitation_whose_chain_is_not_its_issuers_is_refused(
    password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey, bob_key: PrivateKey,
) -> None:
    """Alice's chain and signature, naming Bob as the issuer."""
    named_bob = attrs.evolve(password_invitation, issuer=peer_name(bob_key, "bob"))
    with refused("invitation_chain_is_the_issuer_s"):
        invitations.read_invitation(invitations.password_invitation_xml(named_bob, chain[:2], alice_key))


@pytest.mark.parametrize(
    "change",
    [{"iterations": 10**9}, {"lanes": 0}, {"memory_cost": 2**32 - 1}, {"salt": b"short"}],
    ids=["iterations", "lanes", "memory", "salt"],
)
def test_a_password_invitation_asking_a_joiner_for_an_unbounded_derivation_is_refused(
    password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey, change: dict[str, object],
) -> None:
    costly = attrs.evolve(password_invitation, **change)
    with refused("invitation_key_derivation_is_bounded"):
        invitations.read_invitation(invitations.password_invitation_xml(costly, chain[:2], alice_key))


def test_a_password_invitation_whose_costs_no_dword_holds_is_refused_as_it_is_read(
    password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey,
) -> None:
    """Its signed statement is held to the bounds of its fields' types before any of it is
    used (``peerstate.bounds.FIELDS``)."""
    costly = attrs.evolve(password_invitation, memory_cost=2**40)
    with refused("invitation_is_valid"):
        invitations.read_invitation(invitations.password_invitation_xml(costly, chain[:2], alice_key))


def test_a_password_invitation_without_the_issuers_gmc_is_refused(
    password_invitation: PasswordInvitation, chain: tuple[bytes, ...], alice_key: PrivateKey,
) -> None:
    with refused("invitation_chain_has_gmcs"):
        invitations.read_invitation(invitations.password_invitation_xml(password_invitation, chain[:1], alice_key))
