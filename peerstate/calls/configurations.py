"""Group configurations (``PeerGroupExportConfig``, ``PeerGroupImportConfig``): an identity's
membership of a group carried to another peer under a password.
"""

from __future__ import annotations

from peerstate import crypto
from peerstate.calls import arguments, envelopes, joining
from peerstate.calls.runtime import GroupDecision, Runtime
from peerstate.documents import configs
from peerstate.domain import membership_rules, rules
from peerstate.domain.events import GroupAttached
from peerstate.domain.group_events import ReplicaJoined
from peerstate.storage.logs import ReplicaLog


def export_config(runtime: Runtime, handle: object, password: str | None) -> str:
    """The identity's membership of the group, under ``password`` (no policy applies): its
    credential chain, and for the group's creator the group's key."""
    opened, log = runtime.open(handle)
    secret = arguments.password(password, "pwzPassword")
    state = log.state
    credential = state.group.credential_of(opened.replica[0], runtime.clock())
    chain = envelopes.chain(state.group, credential) if credential is not None else state.chain
    membership_rules.identity_holds_chain(chain)
    rules.keys_unlocked(runtime.keys.locked)
    root_key = None
    if state.root_key is not None:
        root_key = crypto.load_private_key(runtime.keys.take(log.group, state.root_key, state.root_key_sealed))
    return configs.group_config_xml(configs.GroupConfig(opened.replica[0], log.group, state.cloud, chain, root_key), secret)


def import_config(runtime: Runtime, xml: str | None, password: str | None, overwrite: object) -> tuple[str, str]:
    """Bring an exported membership to this peer, for an identity that is here; then
    ``PeerGroupOpen`` and a sync make the replica ready. A replica already here is replaced
    only with ``overwrite`` (``PEER_E_ALREADY_EXISTS`` otherwise); a synchronized one keeps
    its data and takes the imported credential up."""
    text = arguments.argument_is_text(xml, "pwzXML")
    secret = arguments.password(password, "pwzPassword")
    replace = arguments.argument_is_bool(overwrite, "fOverwrite")
    config = configs.read_group_config(text, secret)
    record = rules.identity_is_live(runtime.state, config.identity)
    membership_rules.configuration_is_for_key(envelopes.links(config.chain)[-1].public_key, joining.card(record).public_key)
    key = (config.identity, config.group_peer_name)
    attached = config.group_peer_name in record.groups
    membership_rules.replica_replaced_only_on_request(config.identity, config.group_peer_name, attached, replace)
    rules.keys_unlocked(runtime.keys.locked)
    now = runtime.clock()
    if attached and runtime.replica(*key).state.synchronized:
        joining.take_up(runtime, key, record, config.chain, now)
        return key

    def decide(log: ReplicaLog | None) -> GroupDecision[None]:
        kept, sealed = (
            runtime.keys.keep(config.group_peer_name, crypto.private_key_der(config.group_key))
            if config.group_key is not None else (None, False)
        )
        return [ReplicaJoined(
            config.group_peer_name, config.identity, config.cloud, config.group_peer_name, None,
            config.chain, kept, sealed, now,
        )], [] if attached else [GroupAttached(config.identity, config.group_peer_name, now)], None

    runtime.execute_group(key, decide)
    return key
