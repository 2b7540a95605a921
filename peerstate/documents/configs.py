"""Group configuration export: one identity's membership of one group, under a password.

Windows' ``PEERGROUPCONFIG`` names the identity, the group and its cloud and carries the
member's GMC chain, and the group's key when the identity created the group. Ours adds
``PEERSTATEDATA``: a PFX encrypted under the password (``crypto.export_pkcs12``) holding the
chain and, when there is one, the group key with the group root certificate as its own. Its
MAC covers the certificates, the key and the label, which is the cloud name, so every readable
element is checked against something only the password opens: a wrong password or an altered
byte is refused, and the key is never in the clear.
"""

from __future__ import annotations

import attrs

from peerstate import crypto
from peerstate.crypto import credentials
from peerstate.documents import formats
from peerstate.documents.invitations import InCloud, cloud_scope_known
from peerstate.registry import Refusal, rule


@attrs.frozen
class GroupConfig(InCloud):
    """What a group configuration export says."""

    identity: str
    group_peer_name: str
    cloud: str
    chain: tuple[bytes, ...]
    """The group root certificate, then the GMCs, root side first: the identity's own last."""
    group_key: crypto.PrivateKey | None = attrs.field(eq=False, repr=False)
    """The group's key, for a group the identity created. Key objects compare by identity,
    so it takes no part in ``==``: compare ``crypto.private_key_der`` of both instead."""


def group_config_xml(config: GroupConfig, password: str) -> str:
    pfx = crypto.export_pkcs12(config.group_key, config.chain[0], config.cloud, password, config.chain[1:])
    return formats.group_config_xml(
        config.identity, config.group_peer_name, *config.cloud_elements(),
        crypto.certificates_to_pkcs7(list(config.chain)), pfx,
    )


def read_group_config(text: str, password: str) -> GroupConfig:
    """The configuration ``text`` exports, once opened with ``password`` and verified:
    ``E_INVALIDARG`` for anything malformed or altered, a wrong password, a chain that does not
    verify or is not the identity's, or a key that is not the group's."""
    opened = group_config_opens(text, password)
    config = GroupConfig(opened.identity, opened.group, opened.cloud, opened.chain, opened.key)
    config_cloud_is_protected(opened, config)
    config_gmc_is_protected(opened)
    config_chain_is_the_identity_s(opened)
    return config


@attrs.frozen
class OpenedConfig:
    """A configuration's readable elements, and what its password opened: the label (the
    cloud it was sealed for), the group's key if any, and the chain, its last link read."""

    identity: str
    group: str
    cloud: str
    scope: str
    flags: int
    gmc: bytes
    label: str
    key: crypto.PrivateKey | None = attrs.field(eq=False, repr=False)
    chain: tuple[bytes, ...]
    leaf: credentials.Membership


@rule("E_INVALIDARG")
def group_config_opens(text: str, password: str) -> OpenedConfig:
    """A group configuration is the document ``PeerGroupExportConfig`` writes, its password
    opens its ``PEERSTATEDATA``, and the chain inside verifies from the group root
    (``E_INVALIDARG``): a wrong password or an altered byte fails here."""
    try:
        identity, group, cloud, scope, flags, gmc, data = formats.read_group_config_xml(text)
        label, key, chain = crypto.open_pkcs12(data, password)
        leaf = credentials.read_membership(chain[-1])
        credentials.verify_chain(chain[0], chain[1:], group, leaf.not_before)
    except (formats.MalformedDocument, crypto.CryptoFailure) as error:
        raise Refusal(f"pwzXML is not a valid group configuration: {error}") from None
    return OpenedConfig(identity, group, cloud, scope, flags, gmc, label, key, chain, leaf)


@rule("E_INVALIDARG")
def config_cloud_is_protected(opened: OpenedConfig, config: GroupConfig) -> None:
    """The cloud a configuration names, with its scope and flags, is the one its password
    protects, and a cloud whose scope is known (``E_INVALIDARG``)."""
    if opened.label != opened.cloud or not cloud_scope_known(opened.cloud) or (
        (opened.cloud, opened.scope, opened.flags) != config.cloud_elements()
    ):
        raise Refusal("pwzXML names a cloud other than the one its password protects")


@rule("E_INVALIDARG")
def config_gmc_is_protected(opened: OpenedConfig) -> None:
    """A configuration's readable GMC element is the chain its password protects
    (``E_INVALIDARG``)."""
    if opened.gmc != crypto.certificates_to_pkcs7(list(opened.chain)):
        raise Refusal("pwzXML's GMC element is not the chain its password protects")


@rule("E_INVALIDARG")
def config_chain_is_the_identity_s(opened: OpenedConfig) -> None:
    """A configuration's chain ends with the GMC of the identity it names (``E_INVALIDARG``)."""
    if opened.leaf.subject != opened.identity:
        raise Refusal(f"pwzXML carries the credential chain of {opened.leaf.subject!r}, not of {opened.identity!r}")
