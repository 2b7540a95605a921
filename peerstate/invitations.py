"""Invitations: what they say, how they are signed, and how a received one is trusted.

A Windows password invitation carries no signature, so an altered one cannot be told from
a true one. Ours keeps the five elements of the Windows document and adds a statement
signed by the inviter, with the inviter's GMC chain from the group root: the chain's root
must be the one the group peer name's authority names, so the text can only have come from
someone the group made able to invite. The statement also carries the group's password salt
and cost, so the joiner can turn the password into the group's verifier at once and never
keep the password itself.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import attrs

from peerstate import credentials, crypto, formats, wire
from peerstate.constants import PnrpCloudFlags, PnrpScope
from peerstate.errors import peer_error

_SCOPES = {"Global_": "GLOBAL", "SiteLocal_": "SITELOCAL", "LinkLocal_": "LINKLOCAL"}
_PNRP_SCOPES = {
    "GLOBAL": PnrpScope.PNRP_GLOBAL_SCOPE, "SITELOCAL": PnrpScope.PNRP_SITE_LOCAL_SCOPE,
    "LINKLOCAL": PnrpScope.PNRP_LINK_LOCAL_SCOPE,
}


@attrs.frozen
class PasswordInvitation:
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


@attrs.frozen
class SignedStatement:
    invitation: PasswordInvitation
    chain: tuple[bytes, ...]
    """The group root certificate, then the inviter's GMC chain, root side first."""
    signature: bytes


def cloud_scope_known(cloud: str) -> bool:
    return cloud.startswith(tuple(_SCOPES))


def password_invitation_xml(invitation: PasswordInvitation, chain: tuple[bytes, ...], key: crypto.PrivateKey) -> str:
    signature = credentials.sign(key, wire.canonical(invitation))
    signed = wire.canonical(SignedStatement(invitation, chain, signature))
    return formats.password_invitation_xml(
        invitation.cloud, invitation.scope, int(invitation.cloud_flags), invitation.group_peer_name,
        invitation.group_friendly_name, signed,
    )


def read_invitation(text: str) -> PasswordInvitation:
    """The invitation ``text`` says, once trusted: ``PEER_E_UNSUPPORTED_VERSION`` for another
    version, ``PEER_E_INVITATION_NOT_TRUSTED`` for anything malformed, altered or unsigned."""
    try:
        cloud, scope, flags, group, friendly, signed = formats.read_password_invitation_xml(text)
        statement = wire.decode(signed, SignedStatement)
    except formats.UnsupportedVersion as error:
        raise peer_error("PEER_E_UNSUPPORTED_VERSION", f"pwzInvitation: {error}") from None
    except (formats.MalformedDocument, wire.WireError) as error:
        raise peer_error("PEER_E_INVITATION_NOT_TRUSTED", f"pwzInvitation is not a valid invitation: {error}") from None
    invitation = statement.invitation
    if not cloud_scope_known(invitation.cloud) or (
        cloud, scope, flags, group, friendly
    ) != (
        invitation.cloud, invitation.scope, int(invitation.cloud_flags), invitation.group_peer_name,
        invitation.group_friendly_name,
    ):
        raise peer_error("PEER_E_INVITATION_NOT_TRUSTED", "the invitation's elements differ from what its issuer signed")
    _issuer_signed(statement)
    return invitation


def _issuer_signed(statement: SignedStatement) -> None:
    invitation = statement.invitation
    if not statement.chain:
        raise peer_error("PEER_E_INVITATION_NOT_TRUSTED", "the invitation carries no credential chain")
    try:
        links = credentials.verify_chain(
            statement.chain[0], statement.chain[1:], invitation.group_peer_name, invitation.valid_from
        )
    except crypto.CryptoFailure as error:
        raise peer_error("PEER_E_INVITATION_NOT_TRUSTED", f"the invitation's credential chain fails: {error}") from None
    leaf = links[-1]
    if leaf.subject != invitation.issuer or not credentials.signature_matches(
        leaf.public_key, wire.canonical(invitation), statement.signature
    ):
        raise peer_error("PEER_E_INVITATION_NOT_TRUSTED", "the invitation is not signed by its issuer")
