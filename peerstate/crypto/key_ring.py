"""The peer's key ring: every secret the store keeps, sealed when the peer has a passphrase.

Identity keys, group root keys and password-join verifiers all pass through here, so one
place decides whether a secret is stored sealed or clear, and every call that needs one
while the ring is locked gets ``PEER_E_NO_KEY_ACCESS``.
"""

from __future__ import annotations

import attrs

from peerstate import crypto
from peerstate.domain import rules
from peerstate.registry import Refusal, rule


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
        rules.keys_unlocked(self.kek is None)
        assert self.kek is not None  # keys_unlocked
        return crypto.seal(self.kek, secret, context), True

    def take(self, context: str, kept: bytes, sealed: bool) -> bytes:
        """The secret that ``keep`` turned into ``kept``."""
        if not sealed:
            return kept
        rules.keys_unlocked(self.kek is None)
        assert self.kek is not None  # keys_unlocked
        return sealed_secret_opens(self.kek, kept, context)

    def private_key(self, context: str, kept: bytes, sealed: bool) -> crypto.PrivateKey:
        """The private key that ``keep`` turned into ``kept``, opened and parsed once."""
        cached = (context, kept)
        if cached not in self._loaded:
            self._loaded[cached] = crypto.load_private_key(self.take(context, kept, sealed))
        return self._loaded[cached]


@rule("PEER_E_NO_KEY_ACCESS")
def sealed_secret_opens(kek: bytes, kept: bytes, context: str) -> bytes:
    """A sealed secret opens under the key that sealed it (``PEER_E_NO_KEY_ACCESS``): one that
    does not was sealed under another passphrase, or edited in the store."""
    try:
        return crypto.unseal(kek, kept, context)
    except crypto.CryptoFailure as error:
        raise Refusal(f"the secret of {context!r} does not open: {error}") from None
