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
from peerstate.crypto import credentials
from peerstate.documents import formats
from peerstate.constants import PnrpCloudFlags, PnrpScope
from peerstate.errors import PeerError, peer_error

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
    try:
        parts = formats.read_invitation_xml(text)
        if isinstance(parts, formats.PasswordInvitationParts):
            return _password_invitation(parts)
        return _credential_invitation(parts)
    except formats.UnsupportedVersion as error:
        raise peer_error("PEER_E_UNSUPPORTED_VERSION", f"pwzInvitation: {error}") from None
    except (formats.MalformedDocument, wire.WireError, crypto.CryptoFailure) as error:
        raise _not_trusted(f"pwzInvitation is not a valid invitation: {error}") from None


def _password_invitation(parts: formats.PasswordInvitationParts) -> PasswordInvitation:
    statement = _canonical(parts.signed, SignedStatement)
    invitation = statement.invitation
    if not crypto.kdf_parameters_bounded(
        crypto.KdfParameters(invitation.salt, invitation.iterations, invitation.lanes, invitation.memory_cost)
    ):
        raise _not_trusted("the invitation's key derivation parameters are outside what a joiner derives with")
    _require_known_cloud(invitation.cloud)
    _require_as_signed(parts, formats.PasswordInvitationParts(
        *invitation.cloud_elements(), invitation.group_peer_name, invitation.group_friendly_name, parts.signed,
    ))
    _require_gmcs(statement.chain, 1)
    links = credentials.verify_chain(
        statement.chain[0], statement.chain[1:], invitation.group_peer_name, invitation.valid_from
    )
    if links[-1].subject != invitation.issuer:
        raise _not_trusted("the invitation's credential chain is not its issuer's")
    _require_signed_by(links[-1], wire.canonical(invitation), statement.signature)
    return invitation


def _credential_invitation(parts: formats.CredentialInvitationParts) -> CredentialInvitation:
    """The chain is verified at its last link's own start, so that reading does not depend
    on today's date: whether the invitation is in time is the join's question."""
    signed = _canonical(parts.signed, SignedCredentialStatement)
    statement = signed.statement
    _require_known_cloud(statement.cloud)
    chain = _chain_named(parts.gmc_pkcs7, statement.fingerprints)
    _require_gmcs(chain, _LEAST_INVITATION_GMCS)
    group = credentials.read_group_root(chain[0]).group_peer_name
    at = credentials.read_membership(chain[-1]).not_before
    *_, issuer, subject = credentials.verify_chain(chain[0], chain[1:], group, at)
    _require_as_signed(parts, formats.CredentialInvitationParts(
        *statement.cloud_elements(), crypto.certificates_to_pkcs7(list(chain)), parts.signed,
    ))
    _require_signed_by(issuer, wire.canonical(statement), signed.signature)
    return CredentialInvitation(
        statement.cloud, group, statement.group_friendly_name, issuer.subject, issuer.subject_friendly_name,
        subject.subject, subject.subject_friendly_name, subject.public_key, subject.roles, subject.not_before,
        subject.not_after, chain,
    )


def _canonical(data: bytes, kind: type[_T]) -> _T:
    statement = wire.decode(data, kind)
    if wire.canonical(statement) != data:
        raise _not_trusted("the signed statement is not in its canonical encoding")
    return statement


def _chain_named(gmc_pkcs7: bytes, fingerprints: tuple[bytes, ...]) -> tuple[bytes, ...]:
    """The GMC element's certificates in the order the statement names them. One it does not
    name is caught later: the element must then be exactly the PKCS#7 of this chain."""
    carried = {_fingerprint(der): der for der in crypto.certificates_from_pkcs7(gmc_pkcs7)}
    if not set(fingerprints) <= set(carried):
        raise _not_trusted("the GMC element lacks a certificate that the invitation's issuer signed")
    return tuple(carried[fingerprint] for fingerprint in fingerprints)


def _fingerprint(der: bytes) -> bytes:
    return hashlib.sha256(der).digest()


def _require_known_cloud(cloud: str) -> None:
    if not cloud_scope_known(cloud):
        raise _not_trusted(f"the invitation names the cloud {cloud!r}, whose scope is unknown")


def _require_as_signed(
    parts: formats.PasswordInvitationParts | formats.CredentialInvitationParts,
    signed: formats.PasswordInvitationParts | formats.CredentialInvitationParts,
) -> None:
    """``signed`` is the document that the issuer's statement would have written."""
    if parts != signed:
        raise _not_trusted("the invitation's elements differ from what its issuer signed")


def _require_gmcs(chain: tuple[bytes, ...], least: int) -> None:
    if len(chain) < 1 + least:
        raise _not_trusted(
            f"the invitation's chain holds {len(chain)} certificates, not the group root and {least} or more GMCs"
        )


def _require_signed_by(issuer: credentials.Membership, data: bytes, signature: bytes) -> None:
    if not credentials.signature_matches(issuer.public_key, data, signature):
        raise _not_trusted("the invitation is not signed by its issuer")


def _not_trusted(message: str) -> PeerError:
    return peer_error("PEER_E_INVITATION_NOT_TRUSTED", message)
