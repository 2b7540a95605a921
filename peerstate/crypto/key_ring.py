"""The peer's key ring: every secret the store keeps, sealed when the peer has a passphrase.

Identity keys, group root keys and password-join verifiers all pass through here, so one
place decides whether a secret is stored sealed or clear, and every call that needs one
while the ring is locked gets ``PEER_E_NO_KEY_ACCESS``.
"""

from __future__ import annotations

import attrs

from peerstate import crypto
from peerstate.errors import NoKeyAccess


@attrs.frozen
class KeyRing:
    """``protected``: the store seals secrets; ``kek``: the key that seals them, None while
    the peer was opened without the right passphrase (the ring is locked)."""

    protected: bool = False
    kek: bytes | None = None
    _loaded: dict[tuple[str, bytes], crypto.PrivateKey] = attrs.field(factory=dict, eq=False, repr=False)
    """Keys already opened and parsed, by what the store keeps: parsing an RSA key checks
    it, which costs tens of milliseconds, and every signature needs one. An entry exists
    only once this ring opened it, and a ring's passphrase never changes, so the cache
    never answers where ``take`` would refuse."""

    @property
    def locked(self) -> bool:
        return self.protected and self.kek is None

    def keep(self, context: str, secret: bytes) -> tuple[bytes, bool]:
        """``secret`` as the store keeps it, and whether that is sealed."""
        if not self.protected:
            return secret, False
        if self.kek is None:
            raise NoKeyAccess("the key store is locked: this peer was opened without its passphrase")
        return crypto.seal(self.kek, secret, context), True

    def take(self, context: str, kept: bytes, sealed: bool) -> bytes:
        """The secret that ``keep`` turned into ``kept``."""
        if not sealed:
            return kept
        if self.kek is None:
            raise NoKeyAccess(f"the secret of {context!r} is locked: this peer was opened without its passphrase")
        try:
            return crypto.unseal(self.kek, kept, context)
        except crypto.CryptoFailure as error:
            raise NoKeyAccess(f"the secret of {context!r} does not open: {error}") from None

    def private_key(self, context: str, kept: bytes, sealed: bool) -> crypto.PrivateKey:
        cached = (context, kept)
        if cached not in self._loaded:
            self._loaded[cached] = crypto.load_private_key(self.take(context, kept, sealed))
        return self._loaded[cached]
