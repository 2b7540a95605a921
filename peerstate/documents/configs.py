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
from peerstate.errors import InvalidArgument
from peerstate.documents.invitations import InCloud, cloud_scope_known


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
    try:
        identity, group, cloud, scope, flags, gmc, data = formats.read_group_config_xml(text)
        label, key, chain = crypto.open_pkcs12(data, password)
        leaf = credentials.read_membership(chain[-1])
        credentials.verify_chain(chain[0], chain[1:], group, leaf.not_before)
    except (formats.MalformedDocument, crypto.CryptoFailure) as error:
        raise InvalidArgument(f"pwzXML is not a valid group configuration: {error}") from None
    config = GroupConfig(identity, group, cloud, chain, key)
    if label != cloud or not cloud_scope_known(cloud) or (cloud, scope, flags) != config.cloud_elements():
        raise InvalidArgument("pwzXML names a cloud other than the one its password protects")
    if gmc != crypto.certificates_to_pkcs7(list(chain)):
        raise InvalidArgument("pwzXML's GMC element is not the chain its password protects")
    if leaf.subject != identity:
        raise InvalidArgument(f"pwzXML carries the credential chain of {leaf.subject!r}, not of {identity!r}")
    return config
