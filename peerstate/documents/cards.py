"""Identity cards: who an identity says it is, read from what a caller hands the group calls.

``PeerGroupCreateInvitation`` takes an identity's XML (``PeerIdentityGetXML``), and a
``PEER_CREDENTIAL_INFO`` carries a public key; both come from outside, so both are parsed
strictly and a bad one is ``E_INVALIDARG``, the error those calls document for malformed input.
"""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from peerstate import crypto, names
from peerstate.documents import formats
from peerstate.registry import Refusal, rule


def identity_card(text: str, parameter: str) -> crypto.IdentityCertificate:
    """The self-signed IDC inside an identity information document."""
    card = identity_info_holds_an_idc(text, parameter)
    identity_name_is_its_key_s(card, parameter)
    return card


@rule("E_INVALIDARG")
def identity_info_holds_an_idc(text: str, parameter: str) -> crypto.IdentityCertificate:
    """An identity's XML is the document ``PeerIdentityGetXML`` writes, holding exactly one
    self-signed IDC (``E_INVALIDARG``): that IDC, read."""
    try:
        bundle = crypto.certificates_from_pkcs7(formats.read_identity_info_xml(text))
        if len(bundle) != 1:
            raise crypto.CryptoFailure(f"it holds {len(bundle)} certificates, not one")
        return crypto.read_identity_certificate(bundle[0])
    except (formats.MalformedDocument, crypto.CryptoFailure) as error:
        raise Refusal(f"{parameter} is not an identity's XML: {error}") from None


@rule("E_INVALIDARG")
def identity_name_is_its_key_s(card: crypto.IdentityCertificate, parameter: str) -> None:
    """An IDC's peer name has the authority of the key it certifies (``E_INVALIDARG``)."""
    if names.authority_of(card.public_key) != card.peer_name.partition(".")[0]:
        raise Refusal(f"{parameter}: the identity's name is not its key's")


@rule("E_INVALIDARG")
def public_key_is_rsa(value: bytes, parameter: str) -> bytes:
    """A public key is the DER SubjectPublicKeyInfo of an RSA key, as the identity keys are
    (``E_INVALIDARG``): the key in its one DER form."""
    try:
        key = serialization.load_der_public_key(value)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise Refusal(f"{parameter} is not a public key: {error}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refusal(f"{parameter} is not an RSA public key")
    return crypto.public_key_der(key)


public_key = public_key_is_rsa
"""``public_key_is_rsa`` under the name callers have used."""
