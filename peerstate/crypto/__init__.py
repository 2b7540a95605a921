"""Keys, certificates, identity exports and keys at rest, all through ``cryptography``.

Nothing here decides anything: it makes and checks the artefacts that the domain's events
carry as bytes (DER certificates, PKCS#8 keys, PKCS#12 exports, sealed blobs), so the events
stay plain data and the domain never holds a key object.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

from peerstate.bounds import MAX_PFX_DEPTH, MAX_PKCS12_ITERATIONS

RSA_BITS: Final = 2048
"""Windows identities are RSA key pairs of at least 1024 bits; 2048 is today's floor."""
IDENTITY_CERTIFICATE_LIFETIME: Final = timedelta(days=365 * 100)
PEER_NAME_OID: Final = x509.ObjectIdentifier("1.3.6.1.4.1.311.44.3.1")
"""GROUPING_PEERNAME of MS-PPSEC 2.2.5: the peer name a P2P certificate speaks for."""

PrivateKey = rsa.RSAPrivateKey


class CryptoFailure(ValueError):
    """A blob did not decrypt, verify or parse. Callers map it to their documented HRESULT."""


def generate_identity_key() -> PrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def public_key_der(key: PrivateKey | rsa.RSAPublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo, which is what a secure peer name's authority hashes."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_key_der(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(der: bytes) -> PrivateKey:
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoFailure("the stored key is not an RSA key")
    return key


def make_identity_certificate(
    key: PrivateKey, peer_name: str, friendly_name: str, now: datetime
) -> bytes:
    """The IDC: a self-signed certificate naming the identity, in DER.

    The peer name rides in a GROUPING_PEERNAME attribute rather than the common name,
    whose 64-character limit a 190-character peer name would break.
    """
    subject = x509.Name(
        [x509.NameAttribute(PEER_NAME_OID, peer_name), x509.NameAttribute(NameOID.PSEUDONYM, friendly_name or peer_name)]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + IDENTITY_CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@attrs.frozen
class IdentityCertificate:
    """What peerstate reads out of an IDC."""

    peer_name: str
    friendly_name: str
    public_key: bytes
    der: bytes


def read_identity_certificate(der: bytes) -> IdentityCertificate:
    """Parse and self-verify an IDC; a forged, altered or foreign one raises ``CryptoFailure``."""
    try:
        certificate = x509.load_der_x509_certificate(der)
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise CryptoFailure("the identity certificate does not carry an RSA key")
        certificate.verify_directly_issued_by(certificate)
        names = certificate.subject.get_attributes_for_oid(PEER_NAME_OID)
        friendly = certificate.subject.get_attributes_for_oid(NameOID.PSEUDONYM)
    except InvalidSignature:
        raise CryptoFailure("not a valid identity certificate: its self-signature does not verify") from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:  # a key of an algorithm no one knows: unreadable too
        raise CryptoFailure(f"not a valid identity certificate: {error}") from None
    if len(names) != 1 or len(friendly) != 1:
        raise CryptoFailure("the identity certificate does not name exactly one peer")
    return IdentityCertificate(str(names[0].value), str(friendly[0].value), public_key_der(public), der)


def certificates_to_pkcs7(ders: list[bytes]) -> bytes:
    """A PKCS#7 (RFC 2315) certificate bundle, the form Windows puts in its XML documents."""
    return pkcs7.serialize_certificates(
        [x509.load_der_x509_certificate(der) for der in ders], serialization.Encoding.DER
    )


def certificates_from_pkcs7(blob: bytes) -> list[bytes]:
    try:
        certificates = pkcs7.load_der_pkcs7_certificates(blob)
    except (ValueError, UnsupportedAlgorithm, x509.InvalidVersion) as error:
        raise CryptoFailure(f"not a PKCS#7 certificate bundle: {error}") from None
    return [c.public_bytes(serialization.Encoding.DER) for c in certificates]


def export_pkcs12(
    key: PrivateKey | None, certificate_der: bytes, label: str, password: str, others: Sequence[bytes] = (),
) -> bytes:
    """A password-encrypted PFX (PBES2, AES-256-CBC, PBKDF2-SHA256) of a certificate, its key
    when there is one, and ``others`` in order; ``label`` names the certificate and the key.

    Every bag is encrypted and the MAC covers them all, the label included, so nothing in it
    can be read or changed without the password.
    """
    _require_no_nul(password)
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(MAX_PKCS12_ITERATIONS)  # the most an import runs: what an export of ours needs
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password.encode())
    )
    certificate, *rest = (x509.load_der_x509_certificate(der) for der in (certificate_der, *others))
    return pkcs12.serialize_key_and_certificates(label.encode(), key, certificate, rest or None, encryption)


def _require_no_nul(password: str) -> None:
    """OpenSSL takes a PKCS#12 password as a C string: ``cryptography`` panics on a NUL in it."""
    if "\x00" in password:
        raise CryptoFailure("a password holds a NUL character")


def open_pkcs12(blob: bytes, password: str) -> tuple[str, PrivateKey | None, tuple[bytes, ...]]:
    """The label, the key (None when there is none) and the certificates of ``export_pkcs12``,
    the key's certificate first; a wrong password, an altered byte or a foreign key raises.

    ``cryptography`` reads what is not DER as BER, with a warning, and so accepts a PFX with
    bytes after it, which its MAC does not cover: that warning is refused as an alteration.
    """
    _require_bounded_iterations(blob)
    _require_no_nul(password)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", "PKCS#12 bundle could not be parsed as DER", UserWarning)
            loaded = pkcs12.load_pkcs12(blob, password.encode())
    except (ValueError, UserWarning):
        raise CryptoFailure("the export does not open with this password, or it was altered") from None
    _require_version_3(blob)
    key, certificates = loaded.key, [c for c in (loaded.cert, *loaded.additional_certs) if c is not None]
    if not certificates or not isinstance(key, (rsa.RSAPrivateKey, type(None))):
        raise CryptoFailure("the export does not hold a certificate and, if any key, an RSA key")
    first = certificates[0].certificate
    if key is not None and public_key_der(key) != public_key_der(first.public_key()):  # type: ignore[arg-type]
        raise CryptoFailure("the exported key does not belong to the exported certificate")
    label = (certificates[0].friendly_name or b"").decode(errors="replace")
    return label, key, tuple(c.certificate.public_bytes(serialization.Encoding.DER) for c in certificates)


_PBKDF2: Final = bytes.fromhex("06092a864886f70d01050c")  # OID 1.2.840.113549.1.5.12


def _require_bounded_iterations(pfx: bytes) -> None:
    """Refuse a PFX whose MacData iteration count, or any PBKDF2 iteration count of its bags,
    exceeds what an export of ours uses: OpenSSL runs them all before it can tell that the
    password is wrong or the MAC does not match."""
    try:
        _, auth_safe, *mac = der_elements(der_content(pfx))
        counts = [_der_integer(der_elements(der_content(mac[0]))[2])] if mac else []
        counts += _pbkdf2_iterations(auth_safe)
    except (IndexError, ValueError):
        raise CryptoFailure("the export is not a PFX") from None
    if any(count > MAX_PKCS12_ITERATIONS for count in counts):
        raise CryptoFailure(f"the export asks for {max(counts)} iterations; at most {MAX_PKCS12_ITERATIONS} are run")


def _pbkdf2_iterations(der: bytes, depth: int = 0) -> list[int]:
    """The iteration count of every PBKDF2-params in ``der``, looking into constructed elements
    and OCTET STRINGs (the authSafe and SafeContents are DER inside OCTET STRINGs), no deeper
    than any PFX of ours nests."""
    if depth > MAX_PFX_DEPTH:
        raise ValueError("the PFX nests deeper than any export")
    counts: list[int] = []
    for element in der_elements(der):
        tag, content = element[0], der_content(element)
        if tag == 0x30 and content.startswith(_PBKDF2):
            _, iterations, *_ = der_elements(der_content(der_elements(content)[1]))  # salt, count, ...
            counts.append(_der_integer(iterations))
        elif tag & 0x20 or tag == 0x04:
            try:
                counts += _pbkdf2_iterations(content, depth + 1)
            except (IndexError, ValueError):
                if tag & 0x20:
                    raise  # an OCTET STRING may hold bytes that are not DER (encrypted data)
    return counts


def der_elements(data: bytes) -> list[bytes]:
    """The DER elements, whole (tag, length, content), that ``data`` is made of
    (``ValueError`` or ``IndexError`` for what is not DER): enough of DER to read what
    ``cryptography`` does not show, a PFX's iteration counts."""
    elements, index = [], 0
    while index < len(data):
        length, start = data[index + 1], index + 2
        if length & 0x80:
            count = length & 0x7F
            if not 1 <= count <= 4:
                raise ValueError("a DER length of more than four bytes")
            length, start = int.from_bytes(data[start : start + count], "big"), start + count
        if start + length > len(data):
            raise ValueError("a DER element runs past its end")
        elements.append(data[index : start + length])
        index = start + length
    return elements


def der_content(element: bytes) -> bytes:
    """What a DER element holds, without its tag and length."""
    length = element[1]
    return element[2 + (length & 0x7F if length & 0x80 else 0) :]


def _der_integer(element: bytes) -> int:
    if element[0] != 0x02:
        raise ValueError("not an INTEGER")
    return int.from_bytes(der_content(element), "big", signed=True)


def _require_version_3(pfx: bytes) -> None:
    """Refuse a PFX whose version, its first field and the one its MAC does not cover, is not 3.

    ``cryptography`` opens any version, so another one would open as well and yet be other
    bytes. The PFX parsed as DER, so its SEQUENCE header is two octets plus those of a long-form
    length; only the version's three octets after it are looked at.
    """
    header = 2 + (pfx[1] & 0x7F if pfx[1] & 0x80 else 0)
    if pfx[header : header + 3] != b"\x02\x01\x03":
        raise CryptoFailure("the export is not a version 3 PFX")


def import_pkcs12(blob: bytes, password: str) -> tuple[PrivateKey, bytes]:
    """The key and IDC of a PFX; a wrong password, an altered byte or a foreign key raises."""
    _, key, certificates = open_pkcs12(blob, password)
    if key is None:
        raise CryptoFailure("the export does not hold an RSA key and its certificate")
    return key, certificates[0]


# Keys at rest -------------------------------------------------------------------------------

@attrs.frozen
class KdfParameters:
    """Argon2id parameters, recorded beside the salt so a later peerstate can still derive."""

    salt: bytes
    iterations: int = 2
    lanes: int = 1
    memory_cost: int = 19 * 1024  # KiB: OWASP's minimum for Argon2id


_CHECK_PLAINTEXT: Final = b"peerstate key store"
_SEALED_CHECK_PLAINTEXT: Final = b"peerstate key store, sealed"
_NONCE_BYTES: Final = 12


def new_kdf_parameters() -> KdfParameters:
    return KdfParameters(salt=os.urandom(16))


def derive_key_encryption_key(passphrase: str, parameters: KdfParameters) -> bytes:
    return Argon2id(
        salt=parameters.salt,
        length=32,
        iterations=parameters.iterations,
        lanes=parameters.lanes,
        memory_cost=parameters.memory_cost,
    ).derive(passphrase.encode())


def seal(kek: bytes, plaintext: bytes, context: str) -> bytes:
    """AES-256-GCM under the key-encryption key; ``context`` binds the blob to its owner."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, plaintext, context.encode())


def unseal(kek: bytes, blob: bytes, context: str) -> bytes:
    try:
        return AESGCM(kek).decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode())
    except (InvalidTag, ValueError):
        raise CryptoFailure("the sealed key does not open with this passphrase") from None


def key_check(kek: bytes) -> bytes:
    """A sealed constant that tells a right passphrase from a wrong one before any key is used."""
    return seal(kek, _CHECK_PLAINTEXT, "check")


def passes_key_check(kek: bytes, check: bytes) -> bool:
    try:
        return unseal(kek, check, "check") in (_CHECK_PLAINTEXT, _SEALED_CHECK_PLAINTEXT)
    except CryptoFailure:
        return False


def sealed_store_check(kek: bytes) -> bytes:
    """The key check of a store made since stores are sealed (``storage.store_seal``): it
    tells a right passphrase as ``key_check`` does, and says that the store's commits carry
    a seal, which no one without the passphrase can say of a store made before."""
    return seal(kek, _SEALED_CHECK_PLAINTEXT, "check")


def check_says_sealed(kek: bytes, check: bytes) -> bool:
    """Whether ``check`` is a ``sealed_store_check`` under ``kek``."""
    try:
        return unseal(kek, check, "check") == _SEALED_CHECK_PLAINTEXT
    except CryptoFailure:
        return False


def store_seal_key(kek: bytes) -> bytes:
    """The key a store's seal is made with, derived from the key-encryption key (HKDF), so
    that no secret the store seals and no seal share a key."""
    return HKDF(hashes.SHA256(), 32, None, b"peerstate store seal").derive(kek)


def store_seal(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of ``data`` under a store's seal key."""
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def bulk_seal(key: bytes, data: bytes) -> bytes:
    """A MAC of ``data`` that costs a fraction of a SHA-256 of it, for large values (a
    snapshot row): AES-256-GCM authenticating ``data`` and encrypting nothing (GMAC) under
    a key derived from ``key`` (HKDF), with a random nonce kept before the tag."""
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_bulk_key(key)).encrypt(nonce, b"", data)


def bulk_seal_holds(key: bytes, kept: bytes, data: bytes) -> bool:
    """Whether ``kept`` is a ``bulk_seal`` of ``data`` under ``key``."""
    try:
        AESGCM(_bulk_key(key)).decrypt(kept[:_NONCE_BYTES], kept[_NONCE_BYTES:], data)
    except (InvalidTag, ValueError):
        return False
    return True


def _bulk_key(key: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, None, b"peerstate bulk seal").derive(key)
