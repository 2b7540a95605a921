"""Invitations: what they say, how they are signed, and how a received one is trusted.

A Windows password invitation carries no signature, so an altered one cannot be told from
a true one. Ours keeps the five elements of the Windows document and adds a statement
signed by the inviter, with the inviter's GMC chain from the group root: the chain's root
must be the one the group peer name's authority names, so the text can only have come from
someone the group made able to invite. The statement also carries the group's password salt
and cost, so the joiner can turn the password into the group's verifier at once and never
keep the password itself.

A Windows GMC invitation carries the invitee's GMC chain, whose certificates say everything
else: the group, the issuer (the chain's last but one link), the invitee, its roles, key and
validity. The chain vouches for itself link by link, but not for the cloud, the group's
friendly name or the chain's order (a PKCS#7 bundle is a SET, which may come back in another
order), so ours adds a statement of those, signed by the issuer: no byte of the document can
change unnoticed. The statement names the chain by its certificates' fingerprints rather
than carrying it a second time, which keeps an invitation at the end of a 24-long chain
within the 64 KiB that an argument and a document may have.

Signed statements must be in their canonical encoding, or the same statement could be sent
in other bytes (white space, say) and the document would change unnoticed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import attrs

from peerstate import crypto, wire
from peerstate.bounds import key_derivation_bounded
from peerstate.crypto import credentials
from peerstate.documents import formats
from peerstate.constants import PnrpCloudFlags, PnrpScope
from peerstate.registry import Refusal, rule

_SCOPES = {"Global_": "GLOBAL", "SiteLocal_": "SITELOCAL", "LinkLocal_": "LINKLOCAL"}
_PNRP_SCOPES = {
    "GLOBAL": PnrpScope.PNRP_GLOBAL_SCOPE, "SITELOCAL": PnrpScope.PNRP_SITE_LOCAL_SCOPE,
    "LINKLOCAL": PnrpScope.PNRP_LINK_LOCAL_SCOPE,
}
_T = TypeVar("_T")
_LEAST_INVITATION_GMCS = 2
"""The issuer's GMC and the invitee's: the group root itself only ever issues the creator's."""


def cloud_scope_known(cloud: str) -> bool:
    return cloud.startswith(tuple(_SCOPES))


class InCloud:
    """The scope and flags a PNRP cloud name implies, for everything that names a cloud.

    They are derived, never stored, so a document's ``SCOPE`` and ``CLOUDFLAGS`` can only
    agree with its ``CLOUDNAME``; the cloud's scope must be known (``cloud_scope_known``).
    """

    __slots__ = ()
    cloud: str

    @property
    def scope(self) -> str:
        return next(scope for prefix, scope in _SCOPES.items() if self.cloud.startswith(prefix))

    @property
    def pnrp_scope(self) -> PnrpScope:
        return _PNRP_SCOPES[self.scope]

    @property
    def cloud_flags(self) -> PnrpCloudFlags:
        """Private clouds (``LinkLocal_{adapter}``, ``SiteLocal_%zone``) are local names."""
        suffix = self.cloud.partition("_")[2]
        local = suffix.startswith(("{", "%"))
        return PnrpCloudFlags.PNRP_CLOUD_NAME_LOCAL if local else PnrpCloudFlags(0)

    def cloud_elements(self) -> tuple[str, str, int]:
        """What a document writes for the cloud: ``CLOUDNAME``, ``SCOPE`` and ``CLOUDFLAGS``."""
        return self.cloud, self.scope, int(self.cloud_flags)


@attrs.frozen
class PasswordInvitation(InCloud):
    """What a password invitation says."""

    cloud: str
    group_peer_name: str
    group_friendly_name: str
    issuer: str
    issuer_friendly_name: str
    role: UUID
    salt: bytes
    iterations: int
    lanes: int
    memory_cost: int
    valid_from: datetime
    valid_until: datetime


@attrs.frozen
class SignedStatement:
    invitation: PasswordInvitation
    chain: tuple[bytes, ...]
    """The group root certificate, then the inviter's GMC chain, root side first."""
    signature: bytes


@attrs.frozen
class CredentialInvitation(InCloud):
    """What a GMC invitation says, every field but the cloud and the group's friendly name
    read from the verified certificates of ``chain``."""

    cloud: str
    group_peer_name: str
    group_friendly_name: str
    issuer: str
    issuer_friendly_name: str
    subject: str
    subject_friendly_name: str
    subject_public_key: bytes
    """DER SubjectPublicKeyInfo: the invitee's identity key, which the join must hold."""
    roles: tuple[UUID, ...]
    valid_from: datetime
    valid_until: datetime
    chain: tuple[bytes, ...]
    """The group root certificate, then the GMCs, root side first: the invitee's own last."""


@attrs.frozen
class CredentialStatement(InCloud):
    """What the issuer of a GMC invitation signs: what the certificates do not say."""

    cloud: str
    group_friendly_name: str
    fingerprints: tuple[bytes, ...]
    """SHA-256 of each certificate of the chain, in the chain's order."""


@attrs.frozen
class SignedCredentialStatement:
    statement: CredentialStatement
    signature: bytes


def password_invitation_xml(invitation: PasswordInvitation, chain: tuple[bytes, ...], key: crypto.PrivateKey) -> str:
    signature = credentials.sign(key, wire.canonical(invitation))
    signed = wire.canonical(SignedStatement(invitation, chain, signature))
    return formats.password_invitation_xml(
        *invitation.cloud_elements(), invitation.group_peer_name, invitation.group_friendly_name, signed,
    )


def credential_invitation_xml(
    cloud: str, group_friendly_name: str, chain: tuple[bytes, ...], issuer_key: crypto.PrivateKey,
) -> str:
    """A GMC invitation for ``chain``'s last link, signed by the member whose GMC is the link
    before it and whose key is ``issuer_key``. A chain without both raises ``ValueError``,
    so no invitation is written that its reader would refuse for its length."""
    if len(chain) < 1 + _LEAST_INVITATION_GMCS:
        raise ValueError("a GMC invitation's chain holds the group root, the issuer's GMC and the invitee's")
    statement = CredentialStatement(cloud, group_friendly_name, tuple(map(_fingerprint, chain)))
    signed = SignedCredentialStatement(statement, credentials.sign(issuer_key, wire.canonical(statement)))
    return formats.credential_invitation_xml(
        *statement.cloud_elements(), crypto.certificates_to_pkcs7(list(chain)), wire.canonical(signed),
    )


def read_invitation(text: str) -> PasswordInvitation | CredentialInvitation:
    """The invitation ``text`` says, once trusted: ``PEER_E_UNSUPPORTED_VERSION`` for another
    version, ``PEER_E_INVITATION_NOT_TRUSTED`` for anything malformed, altered or unsigned."""
    invitation_version_is_supported(text)
    return invitation_is_valid(text)


@rule("PEER_E_UNSUPPORTED_VERSION")
def invitation_version_is_supported(text: str) -> None:
    """An invitation that is well-formed XML is of a version this peer reads: 1.1, a password
    invitation, or 1.0, a GMC invitation (``PEER_E_UNSUPPORTED_VERSION``). Whatever else is
    wrong with it is ``invitation_is_valid``'s to refuse, after this."""
    try:
        formats.parse_untrusted_xml(text, "PEERINVITATION", *formats.INVITATION_VERSIONS)
    except formats.UnsupportedVersion as error:
        raise Refusal(f"pwzInvitation: {error}") from None
    except formats.MalformedDocument:
        return  # no invitation of any version: invitation_is_valid refuses it


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_is_valid(text: str) -> PasswordInvitation | CredentialInvitation:
    """An invitation is one of the two documents peerstate writes, its signed statement
    decodes and its certificates parse and verify as a chain from the group root
    (``PEER_E_INVITATION_NOT_TRUSTED``): the invitation, once the ``invitation_*`` rules
    that its kind calls have trusted what it says."""
    try:
        parts = formats.read_invitation_xml(text)
        if isinstance(parts, formats.PasswordInvitationParts):
            return _password_invitation(parts)
        return _credential_invitation(parts)
    except (formats.MalformedDocument, wire.WireError, crypto.CryptoFailure) as error:
        raise Refusal(f"pwzInvitation is not a valid invitation: {error}") from None


def _password_invitation(parts: formats.PasswordInvitationParts) -> PasswordInvitation:
    statement = invitation_statement_is_canonical(parts.signed, SignedStatement)
    invitation = statement.invitation
    invitation_key_derivation_is_bounded(invitation)
    invitation_cloud_is_known(invitation.cloud)
    invitation_is_as_signed(parts, formats.PasswordInvitationParts(
        *invitation.cloud_elements(), invitation.group_peer_name, invitation.group_friendly_name, parts.signed,
    ))
    invitation_chain_has_gmcs(statement.chain, 1)
    links = credentials.verify_chain(
        statement.chain[0], statement.chain[1:], invitation.group_peer_name, invitation.valid_from
    )
    invitation_chain_is_the_issuer_s(links[-1], invitation.issuer)
    invitation_signed_by_issuer(links[-1], wire.canonical(invitation), statement.signature)
    return invitation


def _credential_invitation(parts: formats.CredentialInvitationParts) -> CredentialInvitation:
    """The chain is verified at its last link's own start, so that reading does not depend
    on today's date: whether the invitation is in time is the join's question."""
    signed = invitation_statement_is_canonical(parts.signed, SignedCredentialStatement)
    statement = signed.statement
    invitation_cloud_is_known(statement.cloud)
    chain = invitation_gmcs_are_the_signed_ones(parts.gmc_pkcs7, statement.fingerprints)
    invitation_chain_has_gmcs(chain, _LEAST_INVITATION_GMCS)
    group = credentials.read_group_root(chain[0]).group_peer_name
    at = credentials.read_membership(chain[-1]).not_before
    *_, issuer, subject = credentials.verify_chain(chain[0], chain[1:], group, at)
    invitation_is_as_signed(parts, formats.CredentialInvitationParts(
        *statement.cloud_elements(), crypto.certificates_to_pkcs7(list(chain)), parts.signed,
    ))
    invitation_signed_by_issuer(issuer, wire.canonical(statement), signed.signature)
    return CredentialInvitation(
        statement.cloud, group, statement.group_friendly_name, issuer.subject, issuer.subject_friendly_name,
        subject.subject, subject.subject_friendly_name, subject.public_key, subject.roles, subject.not_before,
        subject.not_after, chain,
    )


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_statement_is_canonical(data: bytes, kind: type[_T]) -> _T:
    """An invitation's signed statement is in its canonical encoding
    (``PEER_E_INVITATION_NOT_TRUSTED``), or the same statement could come in other bytes and the
    document change unnoticed: the statement, decoded."""
    statement = wire.decode(data, kind)
    if wire.canonical(statement) != data:
        raise Refusal("the signed statement is not in its canonical encoding")
    return statement


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_key_derivation_is_bounded(invitation: PasswordInvitation) -> None:
    """A password invitation's key derivation parameters are within what a joiner derives
    with (``PEER_E_INVITATION_NOT_TRUSTED``): an inviter cannot make a joiner spend hours or
    gigabytes."""
    if not key_derivation_bounded(invitation.salt, invitation.iterations, invitation.lanes, invitation.memory_cost):
        raise Refusal("the invitation's key derivation parameters are outside what a joiner derives with")


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_gmcs_are_the_signed_ones(gmc_pkcs7: bytes, fingerprints: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """A GMC invitation's GMC element carries every certificate its signed statement names
    (``PEER_E_INVITATION_NOT_TRUSTED``): the chain, in the order the statement names it. One
    it does not name is caught later: the element must then be exactly the PKCS#7 of this
    chain."""
    carried = {_fingerprint(der): der for der in crypto.certificates_from_pkcs7(gmc_pkcs7)}
    if not set(fingerprints) <= set(carried):
        raise Refusal("the GMC element lacks a certificate that the invitation's issuer signed")
    return tuple(carried[fingerprint] for fingerprint in fingerprints)


def _fingerprint(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_cloud_is_known(cloud: str) -> None:
    """An invitation names a cloud whose scope is known: global, site-local or link-local
    (``PEER_E_INVITATION_NOT_TRUSTED``)."""
    if not cloud_scope_known(cloud):
        raise Refusal(f"the invitation names the cloud {cloud!r}, whose scope is unknown")


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_is_as_signed(
    parts: formats.PasswordInvitationParts | formats.CredentialInvitationParts,
    signed: formats.PasswordInvitationParts | formats.CredentialInvitationParts,
) -> None:
    """An invitation's readable elements are the document that its issuer's statement would
    have written, ``signed`` (``PEER_E_INVITATION_NOT_TRUSTED``)."""
    if parts != signed:
        raise Refusal("the invitation's elements differ from what its issuer signed")


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_chain_has_gmcs(chain: tuple[bytes, ...], least: int) -> None:
    """An invitation's chain holds the group root and at least ``least`` GMCs: the issuer's
    and, in a GMC invitation, the invitee's (``PEER_E_INVITATION_NOT_TRUSTED``)."""
    if len(chain) < 1 + least:
        raise Refusal(
            f"the invitation's chain holds {len(chain)} certificates, not the group root and {least} or more GMCs"
        )


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_chain_is_the_issuer_s(last: credentials.Membership, issuer: str) -> None:
    """A password invitation's chain ends with the GMC of the member it names as its issuer
    (``PEER_E_INVITATION_NOT_TRUSTED``)."""
    if last.subject != issuer:
        raise Refusal("the invitation's credential chain is not its issuer's")


@rule("PEER_E_INVITATION_NOT_TRUSTED")
def invitation_signed_by_issuer(issuer: credentials.Membership, data: bytes, signature: bytes) -> None:
    """An invitation's statement is signed by the key its issuer's GMC certifies
    (``PEER_E_INVITATION_NOT_TRUSTED``)."""
    if not credentials.signature_matches(issuer.public_key, data, signature):
        raise Refusal("the invitation is not signed by its issuer")
