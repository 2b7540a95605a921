"""The events of a peer's logs, as frozen attrs values of plain data.

Events carry bytes (DER certificates, PKCS#8 or sealed keys), never key objects, so that
they encode the same way everywhere and replay without the crypto layer. Times are the
caller's clock at the moment of the command, recorded so replay does not need a clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeAlias

import attrs

IdentityOrigin: TypeAlias = Literal["created", "imported", "default"]


@attrs.frozen
class KeyStoreProtected:
    """From here on the peer's private keys are sealed under a key derived from its passphrase.

    The Argon2id parameters and salt are kept so the same passphrase derives the same key;
    ``check`` is a sealed constant that tells a wrong passphrase before any key is touched.
    """

    salt: bytes
    iterations: int
    lanes: int
    memory_cost: int
    check: bytes


@attrs.frozen
class IdentityCreated:
    """An identity came to this peer: made here, made as the default, or imported.

    ``private_key`` is PKCS#8 DER, sealed when ``sealed`` (the store is protected).
    """

    peer_name: str
    classifier: str
    friendly_name: str
    certificate: bytes
    private_key: bytes
    sealed: bool
    origin: IdentityOrigin
    at: datetime


@attrs.frozen
class FriendlyNameChanged:
    """The friendly name changed, and with it the IDC that carries it (signed anew)."""

    peer_name: str
    friendly_name: str
    certificate: bytes
    at: datetime


@attrs.frozen
class IdentityExported:
    """The identity's private key left the peer in a password-protected export: an audit fact."""

    peer_name: str
    at: datetime


@attrs.frozen
class IdentityDeleted:
    """The identity is gone from this peer; its record stays as a tombstone."""

    peer_name: str
    at: datetime


@attrs.frozen
class GroupAttached:
    """The identity now has a replica of the group on this peer (created or joined).

    Kept in the identity log, saved in the same transaction as the replica's first event,
    so the peer finds its replicas, and ``PEER_E_GROUPS_EXIST`` sees them, without scanning.
    """

    peer_name: str
    group: str
    at: datetime


@attrs.frozen
class GroupDetached:
    """The identity's replica of the group was deleted from this peer."""

    peer_name: str
    group: str
    at: datetime


IdentityEvent: TypeAlias = (
    KeyStoreProtected | IdentityCreated | FriendlyNameChanged | IdentityExported | IdentityDeleted
    | GroupAttached | GroupDetached
)
