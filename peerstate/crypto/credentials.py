"""Group credentials: the root certificate, membership certificates, chains, signatures, proofs.

The domain's events carry these certificates as DER and never a certificate object, so every
decision about membership (who may issue what, until when) can be re-checked from the bytes
alone by ``verify_chain``.

The layout is our own: MS-PPSEC 2.2.5 gives the object identifiers and the chain rules, not a
byte layout to copy. Keys are RSA as in ``peerstate.crypto``; certificates are signed with
SHA-256 (PKCS#1 v1.5).

- GRC (group root certificate): self-signed by the group key; the subject is one GROUPING_PEERNAME
  attribute holding the group peer name; ``BasicConstraints(ca=True)``; no GROUPING_ROLES
  extension, whose absence is what tells a GRC from a GMC.
- GMC (group membership certificate): the issuer name is the subject of the issuer's certificate
  (the GRC for the creator's own GMC); the subject is a GROUPING_PEERNAME attribute holding the
  member identity's peer name plus a PSEUDONYM holding its friendly name (the peer name when the
  friendly name is empty); ``BasicConstraints(ca=...)`` is true when the roles allow issuing.
- Non-critical extensions, each an ``UnrecognizedExtension`` whose value is raw bytes:
  GROUPING_PEERNAME (1.3.6.1.4.1.311.44.3.1), the group peer name in UTF-8, in every certificate;
  GROUPING_ROLES (1.3.6.1.4.1.311.44.3.3), the 16-byte ``UUID.bytes`` of the sorted, distinct
  roles, in GMCs only; GROUPING_CLASSIFIERS (1.3.6.1.4.1.311.44.3.5), ``b"participant"``, in GMCs
  without the admin role (the classifier MS-PPSEC 2.2.5.3 gives non-admin roles).

The readers accept this layout and nothing looser, so the domain never reasons about a
certificate it half understands, and one certificate has one DER and so one fingerprint:
anything else raises ``CryptoFailure``.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Final
from uuid import UUID

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from peerstate.bounds import MAX_CHAIN_LENGTH
from peerstate.crypto import PEER_NAME_OID, CryptoFailure, PrivateKey, public_key_der
from peerstate.names import ISSUABLE_ROLES, ROLE_ADMIN, ROLE_NAMES, authority_of, may_issue

ROOT_LIFETIME: Final = timedelta(days=365 * 1000)
"""What Windows calls an infinite lifetime: 1000 years."""

_GROUPING_ROLES: Final = x509.ObjectIdentifier("1.3.6.1.4.1.311.44.3.3")
_GROUPING_CLASSIFIERS: Final = x509.ObjectIdentifier("1.3.6.1.4.1.311.44.3.5")
_PARTICIPANT: Final = x509.UnrecognizedExtension(_GROUPING_CLASSIFIERS, b"participant")
_ROLE_BYTES: Final = 16
_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_PARSE_ERRORS: Final = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
"""What ``cryptography`` raises, eagerly or lazily, for a certificate it cannot read."""


class CircularChain(CryptoFailure):
    """A chain that names one peer twice (A invites B, then B invites A): MS-PPSEC's
    ``PEER_E_CIRCULAR_CHAIN_DETECTED``, told apart so callers can report that code."""


@attrs.frozen
class GroupRoot:
    """A parsed group root certificate (GRC)."""

    der: bytes
    group_peer_name: str
    public_key: bytes


@attrs.frozen
class Membership:
    """A parsed group membership certificate (GMC).

    ``roles`` are sorted and distinct, so two GMCs granting the same roles compare equal on them.
    """

    der: bytes
    fingerprint: bytes
    group_peer_name: str
    subject: str
    subject_friendly_name: str
    public_key: bytes
    roles: tuple[UUID, ...]
    not_before: datetime
    not_after: datetime


# Group root certificates --------------------------------------------------------------------

def make_group_root(key: PrivateKey, group_peer_name: str, now: datetime) -> bytes:
    """The GRC in DER: the group key vouching for itself, the root of every membership chain."""
    name = x509.Name([x509.NameAttribute(PEER_NAME_OID, group_peer_name)])
    builder = _builder(name, name, key.public_key(), now, now + ROOT_LIFETIME, group_peer_name)
    return _signed(builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True), key)


def read_group_root(der: bytes) -> GroupRoot:
    """Parse and self-verify a GRC; a GMC, an IDC, a forged or an altered one raises."""
    with _parsing("group root certificate"):
        certificate = x509.load_der_x509_certificate(der)
        key = _rsa_key(certificate)
        _require_whole_byte_signature(der, certificate)
        _require(_directly_issued(certificate, certificate), "its self-signature does not verify")
        _require(
            _extension(certificate, ExtensionOID.BASIC_CONSTRAINTS)
            == x509.BasicConstraints(ca=True, path_length=None),
            "it is not a certificate authority",
        )
        _require(_extension(certificate, _GROUPING_ROLES) is None, "it grants roles, as only a GMC does")
        group_peer_name = _group_peer_name(certificate)
        _require(
            _single(certificate.subject, PEER_NAME_OID) == group_peer_name,
            "its subject is not the group it names",
        )
        return GroupRoot(der, group_peer_name, public_key_der(key))


# Group membership certificates --------------------------------------------------------------

def issue_membership(
    issuer_key: PrivateKey,
    issuer_der: bytes,
    *,
    group_peer_name: str,
    subject: str,
    subject_friendly_name: str,
    subject_public_key: bytes,
    roles: Sequence[UUID],
    not_before: datetime,
    not_after: datetime,
) -> bytes:
    """A GMC in DER, signed by ``issuer_key`` under the subject name of ``issuer_der``.

    It writes exactly what it is asked: whether the issuer may grant these roles for this long is
    the caller's decision, and ``verify_chain`` checks it again from the bytes. Roles that
    ``read_membership`` would refuse raise ``ValueError``, so no unreadable GMC is ever made.
    """
    granted = tuple(sorted(set(roles)))
    problem = _roles_problem(granted)
    if problem is not None:
        raise ValueError(problem)
    issuer = _certificate(issuer_der)
    name = x509.Name(
        [
            x509.NameAttribute(PEER_NAME_OID, subject),
            x509.NameAttribute(NameOID.PSEUDONYM, subject_friendly_name or subject),
        ]
    )
    builder = (
        _builder(name, issuer.subject, _rsa_public_key(subject_public_key), not_before, not_after, group_peer_name)
        .add_extension(x509.BasicConstraints(ca=_can_issue(granted), path_length=None), critical=True)
        .add_extension(
            x509.UnrecognizedExtension(_GROUPING_ROLES, b"".join(role.bytes for role in granted)), critical=False
        )
    )
    if ROLE_ADMIN not in granted:
        builder = builder.add_extension(_PARTICIPANT, critical=False)
    return _signed(builder, issuer_key)


def read_membership(der: bytes) -> Membership:
    """Parse a GMC. Its signature is not checked here: only its parent can, with ``issued_by``."""
    with _parsing("group membership certificate"):
        certificate = x509.load_der_x509_certificate(der)
        key = _rsa_key(certificate)
        _require_whole_byte_signature(der, certificate)
        roles = _roles(certificate)
        _require(
            _extension(certificate, ExtensionOID.BASIC_CONSTRAINTS)
            == x509.BasicConstraints(ca=_can_issue(roles), path_length=None),
            "its basic constraints do not match its roles",
        )
        _require(
            _extension(certificate, _GROUPING_CLASSIFIERS) == (None if ROLE_ADMIN in roles else _PARTICIPANT),
            "its classifiers do not match its roles",
        )
        return Membership(
            der=der,
            fingerprint=certificate.fingerprint(hashes.SHA256()),
            group_peer_name=_group_peer_name(certificate),
            subject=_single(certificate.subject, PEER_NAME_OID),
            subject_friendly_name=_single(certificate.subject, NameOID.PSEUDONYM),
            public_key=public_key_der(key),
            roles=roles,
            not_before=certificate.not_valid_before_utc,
            not_after=certificate.not_valid_after_utc,
        )


def issued_by(child_der: bytes, parent_der: bytes) -> bool:
    """Whether the parent's subject named and the parent's key signed the child; junk is False."""
    try:
        child, parent = x509.load_der_x509_certificate(child_der), x509.load_der_x509_certificate(parent_der)
    except _PARSE_ERRORS:
        return False
    return _directly_issued(child, parent)


# Chains -------------------------------------------------------------------------------------

def verify_chain(
    root_der: bytes, chain: Sequence[bytes], group_peer_name: str, at: datetime
) -> tuple[Membership, ...]:
    """The parsed links of a GMC chain, in order, once every rule of MS-PPSEC 2.2.5.2 holds.

    ``chain[0]`` is issued by the GRC and each later link by the one before it; the last is the
    member's own. A broken rule raises ``CryptoFailure`` naming the link that breaks it, and a
    chain that names one subject twice raises ``CircularChain``.
    """
    root = read_group_root(root_der)
    _require_root_of(root, group_peer_name)
    _require_length(chain)
    parent_der, parent_roles, parent_validity = root_der, None, _validity(root_der)
    links = []
    for index, der in enumerate(chain):
        try:
            link = read_membership(der)
        except CryptoFailure as error:
            raise CryptoFailure(f"link {index} of the chain: {error}") from None
        problem = _link_problem(link, parent_der, parent_roles, parent_validity, group_peer_name, at)
        if problem is not None:
            raise CryptoFailure(f"link {index} of the chain {problem}")
        links.append(link)
        parent_der, parent_roles, parent_validity = der, link.roles, (link.not_before, link.not_after)
    _require_no_cycle(links)
    return tuple(links)


def _require_root_of(root: GroupRoot, group_peer_name: str) -> None:
    if root.group_peer_name != group_peer_name:
        raise CryptoFailure(f"the root certificate is for {root.group_peer_name!r}, not {group_peer_name!r}")
    if group_peer_name.partition(".")[0] != authority_of(root.public_key):
        raise CryptoFailure(f"the authority of {group_peer_name!r} is not the root certificate's key")


def _require_length(chain: Sequence[bytes]) -> None:
    if not chain:
        raise CryptoFailure("the chain holds no membership certificate")
    if len(chain) > MAX_CHAIN_LENGTH:
        raise CryptoFailure(f"the chain has {len(chain)} links; at most {MAX_CHAIN_LENGTH} are allowed")


def _require_no_cycle(links: Sequence[Membership]) -> None:
    """Every link is valid on its own in a cycle, so only the repeated subject gives it away."""
    first: dict[str, int] = {}
    for index, link in enumerate(links):
        if first.setdefault(link.subject, index) != index:
            raise CircularChain(
                f"link {index} of the chain names {link.subject!r}, as link {first[link.subject]} does"
            )


def _link_problem(
    link: Membership,
    parent_der: bytes,
    parent_roles: tuple[UUID, ...] | None,
    parent_validity: tuple[datetime, datetime],
    group_peer_name: str,
    at: datetime,
) -> str | None:
    """What is wrong with ``link`` below its parent, as the end of a sentence, or None."""
    if not issued_by(link.der, parent_der):
        return "is not signed by its parent"
    if link.group_peer_name != group_peer_name:
        return f"is for the group {link.group_peer_name!r}"
    if not may_issue(parent_roles, link.roles):
        return "grants roles that its parent may not issue"
    if link.not_before < parent_validity[0] or link.not_after > parent_validity[1]:
        return "is valid outside its parent's validity"
    if not link.not_before <= at <= link.not_after:
        return f"is not valid at {at.isoformat()}"
    return None


# Signatures and password proofs -------------------------------------------------------------

def sign(key: PrivateKey, data: bytes) -> bytes:
    """RSA-PSS over SHA-256 with the largest usual salt: the randomised scheme, not PKCS#1 v1.5."""
    return key.sign(data, _PSS, hashes.SHA256())


def verify_with(key: rsa.RSAPublicKey, data: bytes, signature: bytes) -> None:
    """Nothing when ``sign`` with this key made ``signature`` over ``data``; else ``InvalidSignature``."""
    key.verify(signature, data, _PSS, hashes.SHA256())


def signature_matches(public_key: bytes, data: bytes, signature: bytes) -> bool:
    """Whether ``sign`` with the key of this DER SubjectPublicKeyInfo made ``signature``; junk is False."""
    try:
        verify_with(_rsa_public_key(public_key), data, signature)
    except (CryptoFailure, InvalidSignature, TypeError):
        return False
    return True


def password_proof(key: bytes, transcript: bytes) -> bytes:
    """HMAC-SHA256 of the transcript keyed by the stretched password: how a group made
    before the password exchange (``crypto.pake``) checks a password, with the verifier it
    replicates, which is that very value.

    It proves knowledge of the key without revealing it, and binds the proof to this
    transcript, so a proof recorded from one join does not pass in another.
    """
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(transcript)
    return mac.finalize()


def password_proof_matches(key: bytes, transcript: bytes, proof: bytes) -> bool:
    """Compared in constant time, so a guesser learns nothing from how long a refusal takes."""
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(transcript)
    try:
        mac.verify(proof)
    except InvalidSignature:
        return False
    return True


# Helpers ------------------------------------------------------------------------------------

@contextmanager
def _parsing(what: str) -> Iterator[None]:
    """Turn whatever ``cryptography`` or a check raises into one ``CryptoFailure`` saying what it is not."""
    try:
        yield
    except _PARSE_ERRORS as error:
        raise CryptoFailure(f"not a {what}: {error}") from None


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise CryptoFailure(reason)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    not_before: datetime,
    not_after: datetime,
    group_peer_name: str,
) -> x509.CertificateBuilder:
    """What a GRC and a GMC have in common, the group peer name included."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.UnrecognizedExtension(PEER_NAME_OID, group_peer_name.encode()), critical=False)
    )


def _signed(builder: x509.CertificateBuilder, key: PrivateKey) -> bytes:
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except _PARSE_ERRORS as error:
        raise CryptoFailure(f"not a DER certificate: {error}") from None


@functools.lru_cache(maxsize=4096)
def _rsa_public_key(der: bytes) -> rsa.RSAPublicKey:
    """The key a DER SubjectPublicKeyInfo holds, parsed once: every envelope of an author
    is verified with the same key, and parsing costs half a verification."""
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, UnsupportedAlgorithm):
        raise CryptoFailure("not a DER SubjectPublicKeyInfo") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoFailure("the public key is not an RSA key")
    return key


def _rsa_key(certificate: x509.Certificate) -> rsa.RSAPublicKey:
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoFailure("it does not carry an RSA key")
    return key


def _require_whole_byte_signature(der: bytes, certificate: x509.Certificate) -> None:
    """Refuse a signature BIT STRING (the last field of the DER) that claims unused bits.

    ``cryptography`` verifies the signature octets whatever that count says, so a copy with
    another count would verify as well and yet have another fingerprint; one certificate must
    have one fingerprint. Only the count octet is looked at: ``cryptography`` parsed the rest.
    """
    _require(der.endswith(b"\x00" + certificate.signature), "its signature claims unused bits")


def _directly_issued(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _extension(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> x509.ExtensionType | None:
    return next((extension.value for extension in certificate.extensions if extension.oid == oid), None)


def _raw_extension(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> bytes:
    extension = _extension(certificate, oid)
    if not isinstance(extension, x509.UnrecognizedExtension):
        raise CryptoFailure(f"it has no {oid.dotted_string} extension")
    return extension.value


def _group_peer_name(certificate: x509.Certificate) -> str:
    return _raw_extension(certificate, PEER_NAME_OID).decode()


def _single(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    attributes = name.get_attributes_for_oid(oid)
    if len(attributes) != 1:
        raise CryptoFailure(f"its subject has {len(attributes)} {oid.dotted_string} attributes, not one")
    return str(attributes[0].value)


def _roles(certificate: x509.Certificate) -> tuple[UUID, ...]:
    value = _raw_extension(certificate, _GROUPING_ROLES)
    if len(value) % _ROLE_BYTES:
        raise CryptoFailure(f"its roles take {len(value)} bytes, not a multiple of {_ROLE_BYTES}")
    roles = tuple(UUID(bytes=value[i : i + _ROLE_BYTES]) for i in range(0, len(value), _ROLE_BYTES))
    problem = _roles_problem(roles)
    if problem is not None:
        raise CryptoFailure(problem)
    return roles


def _roles_problem(roles: tuple[UUID, ...]) -> str | None:
    """Why ``roles`` cannot stand in a GMC, or None; they must be sorted, distinct and known."""
    if not roles:
        return "a membership certificate must grant at least one role"
    unknown = [role for role in roles if role not in ROLE_NAMES]
    if unknown:
        return f"{unknown[0]} is not one of the three group roles"
    if list(roles) != sorted(set(roles)):
        return "the roles are not sorted and distinct"
    return None


def _can_issue(roles: Collection[UUID]) -> bool:
    return any(ISSUABLE_ROLES[role] for role in roles)


def _validity(der: bytes) -> tuple[datetime, datetime]:
    certificate = x509.load_der_x509_certificate(der)
    return certificate.not_valid_before_utc, certificate.not_valid_after_utc
