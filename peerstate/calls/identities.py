"""The identity calls: create, rename, delete, export and import an identity, the default
identity, the identity's public XML, and peer names made from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import rsa

from peerstate import crypto, names
from peerstate.calls import arguments, envelopes
from peerstate.calls.runtime import Decision, NamePair, Runtime, SpreadDecision
from peerstate.sync.port import ReplicaKey
from peerstate.crypto import credentials
from peerstate.documents import formats
from peerstate.domain import rules
from peerstate.domain.events import (
    FriendlyNameChanged,
    IdentityCreated,
    IdentityDeleted,
    IdentityEvent,
    IdentityExported,
    IdentityOrigin,
)
from peerstate.domain.group_events import IdentityRetired, ReplicaEvent
from peerstate.domain.state import IdentityStoreState
from peerstate.storage.logs import ReplicaLog
from peerstate.sync import admission


def create_identity(
    runtime: Runtime, classifier: str | None, friendly_name: str | None, key: rsa.RSAPrivateKey | None,
) -> str:
    """Make an identity and return its peer name ``<authority>.<classifier>``: with ``key``
    (Windows' ``hCryptProv``), else a new RSA-2048 pair. A friendly name left out is the peer
    name itself."""
    chosen = arguments.argument_is_text(classifier, "pwzClassifier", required=False) or ""
    names.require_classifier(chosen, "E_INVALIDARG")
    friendly = arguments.argument_is_text(friendly_name, "pwzFriendlyName", required=False)
    if friendly:
        names.require_friendly_name(friendly)
    arguments.argument_is_rsa_key(key)
    return _new_identity(runtime, chosen, friendly or None, key, "created")


def _new_identity(
    runtime: Runtime, classifier: str, friendly_name: str | None, key: rsa.RSAPrivateKey | None, origin: IdentityOrigin,
) -> str:
    rules.keys_unlocked(runtime.keys.locked)
    key = key or crypto.generate_identity_key()
    peer_name = f"{names.authority_of(crypto.public_key_der(key))}.{classifier}"

    def decide(state: IdentityStoreState) -> Decision[str]:
        rules.identity_is_new(state, peer_name)
        now = runtime.clock()
        friendly = friendly_name or peer_name
        certificate = crypto.make_identity_certificate(key, peer_name, friendly, now)
        private_key, sealed = runtime.keys.keep(peer_name, crypto.private_key_der(key))
        return [IdentityCreated(
            peer_name, classifier, friendly, certificate, private_key, sealed, origin, now
        )], peer_name

    return runtime.execute(decide)


def delete_identity(runtime: Runtime, identity: str | None) -> None:
    """Delete the identity from this peer; it stays a tombstone in the log, and every group
    replica here that can write is told, with a statement the identity signs."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity")
    record = rules.identity_is_live(runtime.state, peer_name)
    rules.identity_has_no_groups(peer_name, record.groups)
    _retire(runtime, peer_name, lambda now: [IdentityDeleted(peer_name, now)])


def _retire(runtime: Runtime, peer_name: str, deleted: Callable[[datetime], list[IdentityEvent]]) -> None:
    """Store the identity's deletion (``deleted``) and an ``IdentityRetired`` envelope in
    every synchronized replica on this peer whose member holds a credential now, each signed
    by the deleted identity's own key, in one transaction."""
    record = rules.identity_is_live(runtime.state, peer_name)
    keys = [
        (member.peer_name, group) for member in runtime.state.identities.values()
        if member.live and member.peer_name != peer_name for group in member.groups
    ]

    def decide(logs: Mapping[ReplicaKey, ReplicaLog]) -> SpreadDecision[None]:
        now = runtime.clock()
        retired_key: crypto.PrivateKey | None = None
        written: dict[ReplicaKey, list[ReplicaEvent]] = {}
        for key, log in logs.items():
            credential = log.state.group.credential_of(key[0], now)
            if not log.state.synchronized or credential is None:
                continue
            retired_key = retired_key or runtime.identity_key(record)
            statement = credentials.sign(retired_key, admission.retirement_statement(key[1], peer_name))
            payload = IdentityRetired(peer_name, crypto.public_key_der(retired_key), statement)
            author = runtime.state.identities[key[0]]
            written[key] = [envelopes.write(runtime, log, author, credential.fingerprint, payload, now)]
        return written, deleted(now), None

    runtime.execute_replicas(keys, decide)


def friendly_name(runtime: Runtime, identity: str | None) -> str:
    peer_name = arguments.argument_is_text(identity, "pwzIdentity")
    return rules.identity_is_live(runtime.state, peer_name).friendly_name


def set_friendly_name(runtime: Runtime, identity: str | None, friendly_name: str | None) -> None:
    """Rename the identity; None or "" restores the default, the peer name itself. The IDC
    carries the friendly name, so it is signed anew: this needs the private key."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity")
    friendly = arguments.argument_is_text(friendly_name, "pwzFriendlyName", required=False)
    if friendly:
        names.require_friendly_name(friendly)

    def decide(state: IdentityStoreState) -> Decision[None]:
        record = rules.identity_is_live(state, peer_name)
        new_name = friendly or peer_name
        now = runtime.clock()
        certificate = crypto.make_identity_certificate(runtime.identity_key(record), peer_name, new_name, now)
        return [FriendlyNameChanged(peer_name, new_name, certificate, now)], None

    runtime.execute(decide)


def default_identity(runtime: Runtime) -> str:
    """The peer's default identity, made on first request as Windows makes it for a user."""
    record = runtime.state.default
    if record is not None:
        return record.peer_name
    return _new_identity(runtime, "", None, None, "default")


def identity_xml(runtime: Runtime, identity: str | None) -> str:
    """The public ``PEERIDENTITYINFO`` document (the IDC); None means the default identity."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity", required=False)
    if peer_name is None:
        peer_name = default_identity(runtime)
    record = rules.identity_is_live(runtime.state, peer_name)
    return formats.identity_info_xml(crypto.certificates_to_pkcs7([record.certificate]))


def export_identity(runtime: Runtime, identity: str | None, password: str | None) -> str:
    """The ``PEERIDENTITYEXPORT`` document: the key and IDC in a PFX encrypted under
    ``password``. The export itself is recorded (never the password)."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity")
    secret = arguments.password(password, "pwzPassword")

    def decide(state: IdentityStoreState) -> Decision[str]:
        record = rules.identity_is_live(state, peer_name)
        pfx = crypto.export_pkcs12(runtime.identity_key(record), record.certificate, record.friendly_name, secret)
        return [IdentityExported(peer_name, runtime.clock())], formats.identity_export_xml(peer_name, pfx)

    return runtime.execute(decide)


def import_identity(runtime: Runtime, export_xml: str | None, password: str | None) -> str:
    """Import an export; the text must be exactly what ``export_identity`` returned."""
    document = arguments.argument_is_text(export_xml, "pwzImportXML")
    secret = arguments.password(password, "pwzPassword")
    peer_name, key, certificate_der, certificate = arguments.identity_export_opens(document, secret)
    parsed = names.parse_peer_name(peer_name, "E_INVALIDARG")
    arguments.identity_export_is_its_own(peer_name, parsed.authority, certificate)
    names.require_friendly_name(certificate.friendly_name)  # as the calls that name an identity check it

    def decide(state: IdentityStoreState) -> Decision[str]:
        rules.identity_is_new(state, peer_name)
        private_key, sealed = runtime.keys.keep(peer_name, crypto.private_key_der(key))
        return [IdentityCreated(
            peer_name, parsed.classifier, certificate.friendly_name, certificate_der,
            private_key, sealed, "imported", runtime.clock(),
        )], peer_name

    return runtime.execute(decide)


def identities(runtime: Runtime) -> list[NamePair]:
    """The live identities, in the order they came to this peer."""
    return [NamePair(record.peer_name, record.friendly_name) for record in runtime.state.identities.values() if record.live]


def create_peer_name(runtime: Runtime, identity: str | None, classifier: str | None) -> str:
    """A peer name for the identity's authority and ``classifier``, without a new identity.
    No identity gives the unsecured name ``0.<classifier>``; no classifier gives the
    identity's own name."""
    peer_name = arguments.argument_is_text(identity, "pwzIdentity", required=False)
    chosen = arguments.argument_is_text(classifier, "pwzClassifier", required=False)
    if peer_name is None:
        unsecured = arguments.unsecured_name_has_classifier(chosen)
        return f"{names.UNSECURED_AUTHORITY}.{names.require_classifier(unsecured, 'E_INVALIDARG')}"
    rules.identity_is_here(runtime.state, peer_name, "E_INVALIDARG")
    if chosen is None:
        return peer_name
    authority = names.parse_peer_name(peer_name, "E_INVALIDARG").authority
    return f"{authority}.{names.require_classifier(chosen, 'E_INVALIDARG')}"
