"""``Peer``: one machine, its identity store and (later) its group replicas; the Pythonic API.

Every call follows one path: check the arguments, decide against the current state with the
domain rules (which raise the documented ``PeerError``), do the crypto the events need,
then append the events and save them in one transaction. A call that fails at any point has
written nothing; a save that loses a race re-decides against the state the winner left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Final, TypeVar

import attrs
from cryptography.hazmat.primitives.asymmetric import rsa

from peerstate import arguments, crypto, formats, names
from peerstate.domain import rules
from peerstate.domain.events import (
    FriendlyNameChanged,
    IdentityCreated,
    IdentityDeleted,
    IdentityEvent,
    IdentityExported,
    IdentityOrigin,
    KeyStoreProtected,
)
from peerstate.domain.state import IdentityRecord, IdentityStoreState
from peerstate.errors import InvalidArgument, NoKeyAccess, peer_error
from peerstate.store import PeerStore, WriteConflict

MAX_SAVE_ATTEMPTS: Final = 8
_Result = TypeVar("_Result")
Decision = tuple[list[IdentityEvent], _Result]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@attrs.frozen
class PeerSettings:
    """How a peer's machine is set up: what the scenario format's ``peers`` entries say."""

    clouds: tuple[str, ...] = ("Global_",)
    passphrase: str | None = None
    password_min_length: int = 8


@attrs.frozen
class NamePair:
    """An identity or group as enumerations list it (``PEER_NAME_PAIR``)."""

    peer_name: str
    friendly_name: str


class Peer:
    """One machine's peer infrastructure, over its store.

    With a passphrase, private keys are sealed at rest under a key derived from it. Opened
    without the right passphrase, the keys stay locked: calls that sign or decrypt raise
    ``NoKeyAccess`` while reading calls work.
    """

    def __init__(
        self, store: PeerStore, *, settings: PeerSettings = PeerSettings(),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._log = store.identity_log()
        self._kek: bytes | None = None
        self._closed = False
        self._open_key_store(settings.passphrase)

    # Lifecycle and keys ---------------------------------------------------------------------

    def close(self) -> None:
        """End this process's use of the peer; the store stays open for whoever owns it."""
        self._closed = True

    @property
    def keys_locked(self) -> bool:
        return self._log.state.protection is not None and self._kek is None

    def _open_key_store(self, passphrase: str | None) -> None:
        protection = self._log.state.protection
        if protection is not None:
            if passphrase is not None:
                parameters = crypto.KdfParameters(
                    protection.salt, protection.iterations, protection.lanes, protection.memory_cost
                )
                kek = crypto.derive_key_encryption_key(passphrase, parameters)
                self._kek = kek if crypto.passes_key_check(kek, protection.check) else None
            return
        if passphrase is None:
            return
        if self._log.state.identities:
            raise InvalidArgument(
                "this store was created without a passphrase and already holds keys in the clear; "
                "export its identities and import them into a store opened with a passphrase"
            )
        parameters = crypto.new_kdf_parameters()
        kek = crypto.derive_key_encryption_key(passphrase, parameters)
        self._execute(lambda state: ([KeyStoreProtected(
            parameters.salt, parameters.iterations, parameters.lanes, parameters.memory_cost,
            crypto.key_check(kek),
        )], None))
        self._kek = kek

    def _stored_key(self, peer_name: str, key: crypto.PrivateKey) -> tuple[bytes, bool]:
        """The private key as the store keeps it: sealed when the store is protected."""
        der = crypto.private_key_der(key)
        if self._log.state.protection is None:
            return der, False
        if self._kek is None:
            raise NoKeyAccess("the key store is locked: this peer was opened without its passphrase")
        return crypto.seal(self._kek, der, peer_name), True

    def _private_key(self, record: IdentityRecord) -> crypto.PrivateKey:
        if not record.sealed:
            return crypto.load_private_key(record.private_key)
        if self._kek is None:
            raise NoKeyAccess(
                f"the key of {record.peer_name!r} is locked: this peer was opened without its passphrase"
            )
        try:
            return crypto.load_private_key(crypto.unseal(self._kek, record.private_key, record.peer_name))
        except crypto.CryptoFailure as error:
            raise NoKeyAccess(f"the key of {record.peer_name!r} does not open: {error}") from None

    # The one write path ---------------------------------------------------------------------

    @property
    def _state(self) -> IdentityStoreState:
        if self._closed:
            raise peer_error("PEER_E_NOT_INITIALIZED", "this peer was closed")
        return self._log.state

    def _execute(self, decide: Callable[[IdentityStoreState], Decision[_Result]]) -> _Result:
        """Decide against the current state, then store what was decided, atomically."""
        for _ in range(MAX_SAVE_ATTEMPTS):
            events, result = decide(self._state)
            for event in events:
                self._log.record(event)
            try:
                self._store.save(self._log)
                return result
            except WriteConflict:
                self._log = self._store.identity_log()
            except BaseException:
                self._log = self._store.identity_log()
                raise
        raise peer_error("E_UNEXPECTED", "the identity log kept changing under this call; try again")

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
            private_key, sealed = self._stored_key(peer_name, key)
            return [IdentityCreated(
                peer_name, classifier, friendly, certificate, private_key, sealed, origin, now
            )], peer_name

        return self._execute(decide)

    def delete_identity(self, identity: str | None) -> None:
        """Delete the identity from this peer; it stays a tombstone in the log."""
        peer_name = arguments.text(identity, "pwzIdentity")

        def decide(state: IdentityStoreState) -> Decision[None]:
            rules.identity_is_live(state, peer_name)
            rules.identity_has_no_groups(peer_name, self._group_names(peer_name))
            return [IdentityDeleted(peer_name, self._clock())], None

        self._execute(decide)

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
                self._private_key(record), peer_name, new_name, now
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
            pfx = crypto.export_pkcs12(self._private_key(record), record.certificate, record.friendly_name, secret)
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
            private_key, sealed = self._stored_key(peer_name, key)
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

    def groups(self, identity: str | None) -> list[NamePair]:
        """The groups this identity has on this peer."""
        peer_name = arguments.text(identity, "pwzIdentity")
        rules.identity_is_live(self._state, peer_name)
        return [NamePair(name, name) for name in self._group_names(peer_name)]

    def _group_names(self, peer_name: str) -> list[str]:
        """The group peer names the identity holds here. Group replicas are not built yet
        (issue 3), so there are none; the rules that use this are already in force."""
        return []

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
        if self._state.live(peer_name) is None:
            raise InvalidArgument(f"pwzIdentity {peer_name!r} is not an identity on this peer")
        if chosen is None:
            return peer_name
        authority = names.parse_peer_name(peer_name, "E_INVALIDARG").authority
        return f"{authority}.{names.require_classifier(chosen, 'E_INVALIDARG')}"
