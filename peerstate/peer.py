"""``Peer``: one machine: its identities, its group replicas, its handles; the Pythonic API.

The identity calls are here; the group calls come from ``groups.GroupCalls`` and the
record calls from ``record_calls.RecordCalls``, and all stand on ``core.PeerCore``'s one
write path.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import rsa

from peerstate import crypto, names
from peerstate.calls import arguments
from peerstate.documents import formats
from peerstate.calls.runtime import Decision, NamePair, PeerSettings, utc_now
from peerstate.domain import rules
from peerstate.domain.events import (
    FriendlyNameChanged,
    IdentityCreated,
    IdentityDeleted,
    IdentityExported,
    IdentityOrigin,
)
from peerstate.domain.state import IdentityStoreState
from peerstate.errors import InvalidArgument, NoKeyAccess
from peerstate.calls.records import RecordCalls

__all__ = ["NamePair", "Peer", "PeerSettings", "utc_now"]


class Peer(RecordCalls):
    """One machine's peer infrastructure, over its store (see ``PeerCore``)."""

    # Identities -----------------------------------------------------------------------------

    def create_identity(
        self, classifier: str | None = None, friendly_name: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> str:
        """Make an identity and return its peer name ``<authority>.<classifier>``.

        ``key`` takes an existing RSA key pair (Windows' ``hCryptProv``); by default a new
        RSA-2048 pair is made. A friendly name left out is the peer name itself.
        """
        chosen = arguments.text(classifier, "pwzClassifier", required=False) or ""
        names.require_classifier(chosen, "E_INVALIDARG")
        friendly = arguments.text(friendly_name, "pwzFriendlyName", required=False)
        if friendly:
            names.require_friendly_name(friendly)
        if key is not None and not isinstance(key, rsa.RSAPrivateKey):
            raise InvalidArgument(f"key must be an RSA private key, not {type(key).__name__}")
        return self._create_identity(chosen, friendly or None, key, "created")

    def _create_identity(
        self, classifier: str, friendly_name: str | None, key: rsa.RSAPrivateKey | None,
        origin: IdentityOrigin,
    ) -> str:
        if self.keys_locked:
            raise NoKeyAccess("cannot store a new key: this peer was opened without its passphrase")
        key = key or crypto.generate_identity_key()
        peer_name = f"{names.authority_of(crypto.public_key_der(key))}.{classifier}"

        def decide(state: IdentityStoreState) -> Decision[str]:
            rules.identity_is_new(state, peer_name)
            now = self._clock()
            friendly = friendly_name or peer_name
            certificate = crypto.make_identity_certificate(key, peer_name, friendly, now)
            private_key, sealed = self._keys.keep(peer_name, crypto.private_key_der(key))
            return [IdentityCreated(
                peer_name, classifier, friendly, certificate, private_key, sealed, origin, now
            )], peer_name

        return self._execute(decide)

    def delete_identity(self, identity: str | None) -> None:
        """Delete the identity from this peer; it stays a tombstone in the log, and every
        group replica here that can write is told, with a statement the identity signs."""
        peer_name = arguments.text(identity, "pwzIdentity")
        record = rules.identity_is_live(self._state, peer_name)
        rules.identity_has_no_groups(peer_name, record.groups)
        self._retire(peer_name, lambda now: [IdentityDeleted(peer_name, now)])

    def friendly_name(self, identity: str | None) -> str:
        peer_name = arguments.text(identity, "pwzIdentity")
        return rules.identity_is_live(self._state, peer_name).friendly_name

    def set_friendly_name(self, identity: str | None, friendly_name: str | None) -> None:
        """Rename the identity; None or "" restores the default, the peer name itself.

        The IDC carries the friendly name, so it is signed anew: this needs the private key.
        """
        peer_name = arguments.text(identity, "pwzIdentity")
        friendly = arguments.text(friendly_name, "pwzFriendlyName", required=False)
        if friendly:
            names.require_friendly_name(friendly)

        def decide(state: IdentityStoreState) -> Decision[None]:
            record = rules.identity_is_live(state, peer_name)
            new_name = friendly or peer_name
            now = self._clock()
            certificate = crypto.make_identity_certificate(
                self._identity_key(record), peer_name, new_name, now
            )
            return [FriendlyNameChanged(peer_name, new_name, certificate, now)], None

        self._execute(decide)

    def default_identity(self) -> str:
        """The peer's default identity, made on first request as Windows makes it for a user."""
        record = self._state.default
        if record is not None:
            return record.peer_name
        return self._create_identity("", None, None, "default")

    def identity_xml(self, identity: str | None = None) -> str:
        """The public ``PEERIDENTITYINFO`` document (the IDC); None means the default identity."""
        peer_name = arguments.text(identity, "pwzIdentity", required=False)
        if peer_name is None:
            peer_name = self.default_identity()
        record = rules.identity_is_live(self._state, peer_name)
        return formats.identity_info_xml(crypto.certificates_to_pkcs7([record.certificate]))

    def export_identity(self, identity: str | None, password: str | None) -> str:
        """The ``PEERIDENTITYEXPORT`` document: the key and IDC in a PFX encrypted under
        ``password``. The export itself is recorded (never the password)."""
        peer_name = arguments.text(identity, "pwzIdentity")
        secret = arguments.password(password, "pwzPassword")

        def decide(state: IdentityStoreState) -> Decision[str]:
            record = rules.identity_is_live(state, peer_name)
            pfx = crypto.export_pkcs12(self._identity_key(record), record.certificate, record.friendly_name, secret)
            return [IdentityExported(peer_name, self._clock())], formats.identity_export_xml(peer_name, pfx)

        return self._execute(decide)

    def import_identity(self, export_xml: str | None, password: str | None) -> str:
        """Import an export; the text must be exactly what ``export_identity`` returned."""
        document = arguments.text(export_xml, "pwzImportXML")
        secret = arguments.password(password, "pwzPassword")
        try:
            peer_name, pfx = formats.read_identity_export_xml(document)
            key, certificate_der = crypto.import_pkcs12(pfx, secret)
            certificate = crypto.read_identity_certificate(certificate_der)
        except (formats.MalformedDocument, crypto.CryptoFailure) as error:
            raise InvalidArgument(f"pwzImportXML is not a valid identity export: {error}") from None
        parsed = names.parse_peer_name(peer_name, "E_INVALIDARG")
        if certificate.peer_name != peer_name or parsed.authority != names.authority_of(certificate.public_key):
            raise InvalidArgument("pwzImportXML names a peer that its certificate and key do not belong to")

        def decide(state: IdentityStoreState) -> Decision[str]:
            rules.identity_is_new(state, peer_name)
            private_key, sealed = self._keys.keep(peer_name, crypto.private_key_der(key))
            return [IdentityCreated(
                peer_name, parsed.classifier, certificate.friendly_name, certificate_der,
                private_key, sealed, "imported", self._clock(),
            )], peer_name

        return self._execute(decide)

    def identities(self) -> list[NamePair]:
        """The live identities, in the order they came to this peer."""
        return [
            NamePair(record.peer_name, record.friendly_name)
            for record in self._state.identities.values() if record.live
        ]

    def create_peer_name(self, identity: str | None, classifier: str | None) -> str:
        """A peer name for the identity's authority and ``classifier``, without a new identity.

        No identity gives the unsecured name ``0.<classifier>``; no classifier gives the
        identity's own name.
        """
        peer_name = arguments.text(identity, "pwzIdentity", required=False)
        chosen = arguments.text(classifier, "pwzClassifier", required=False)
        if peer_name is None:
            if not chosen:
                raise InvalidArgument("an unsecured peer name needs pwzClassifier")
            return f"{names.UNSECURED_AUTHORITY}.{names.require_classifier(chosen, 'E_INVALIDARG')}"
        rules.identity_is_here(self._state, peer_name, "E_INVALIDARG")
        if chosen is None:
            return peer_name
        authority = names.parse_peer_name(peer_name, "E_INVALIDARG").authority
        return f"{authority}.{names.require_classifier(chosen, 'E_INVALIDARG')}"
