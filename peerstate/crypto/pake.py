"""The group password as an augmented PAKE: SRP-6a (RFC 5054), by the ``srp`` package.

What the group replicates is an SRP verifier, ``g^x`` with ``x`` derived from the password
stretched by Argon2id: it lets a member check a joiner's password, not join with it, and
whoever steals it pays an Argon2id derivation per offline guess. The joiner proves the
password by SRP's ``M``, a hash over both public values and the session key only the
password gives; both public values are in the conversation's transcript, which each side
signs, so an eavesdropper learns nothing it can replay or guess from.

Why SRP-6a over OPAQUE (RFC 9807): every member of a group must be able to check a
password, so whatever the server side keeps is replicated to all of them; OPAQUE's edge,
the secrecy of the server's OPRF key against precomputation, is lost once every member
holds it, while its Python binding (``opaque-ke-py`` 0.1) is an alpha. SRP's ``srp``
package is old and small, and its arithmetic follows RFC 5054, whose test vectors it passes
(``tests/test_pake.py``); the slow derivation it lacks is the Argon2id peerstate already
uses for passwords.
"""

from __future__ import annotations

import os
from typing import Final

import attrs
import srp  # type: ignore[import-untyped]
import srp._pysrp  # type: ignore[import-untyped]

srp.rfc5054_enable()  # the RFC's padding of A, B and g: its test vectors hold

HASH: Final = srp.SHA256
GROUP: Final = srp.NG_4096
"""RFC 5054's 4096-bit group, with SHA-256."""
PRIME: Final[int] = srp._pysrp.get_ng(GROUP, None, None)[0]
"""The group's prime ``N``, as the package's pure-Python half defines it for ``GROUP``."""
SALT_BYTES: Final = 16
PUBLIC_BYTES: Final = 512
"""A public value (``A``, ``B``) or a verifier in the 4096-bit group: 512 bytes."""


@attrs.frozen
class Verifier:
    """What the group replicates of its password: the SRP salt and verifier."""

    salt: bytes
    verifier: bytes


def new_verifier(username: str, stretched: bytes) -> Verifier:
    """A verifier for the password stretched to ``stretched`` (by Argon2id), under
    ``username`` (the group's peer name), with a new random salt."""
    salt, verifier = srp.create_salted_verification_key(username, stretched, HASH, GROUP, salt_len=SALT_BYTES)
    return Verifier(bytes(salt), bytes(verifier))


class Joiner:
    """The joiner's side of one exchange: ``public`` (``A``) goes in its hello."""

    def __init__(self, username: str, stretched: bytes) -> None:
        self._user = srp.User(username, stretched, HASH, GROUP, bytes_a=os.urandom(32))
        _, public = self._user.start_authentication()
        self.public: bytes = bytes(public)

    def proof(self, salt: bytes, public: bytes) -> bytes | None:
        """The proof of the password for the listener's salt and ``B``: SRP's ``M``, a hash
        over both public values and the session key; None when ``B`` is unsafe (0 modulo
        the group's prime), which no honest listener sends."""
        proof = self._user.process_challenge(salt, public)
        return None if proof is None else bytes(proof)


class Listening:
    """The listener's side of one exchange, from the joiner's ``A``: ``public`` (``B``) and
    the salt go in its challenge. ``unsafe`` when the session key would be the same whatever
    the password: ``A`` is 0 modulo the group's prime, or the group's verifier is (a
    creator's ``PasswordVerifier`` that no password gives); or ``A`` is empty, which ``srp``
    takes as no ``A`` at all and cannot check a proof against."""

    def __init__(self, username: str, verifier: Verifier, joiner_public: bytes) -> None:
        self._checker = srp.Verifier(username, verifier.salt, verifier.verifier, joiner_public, HASH, GROUP, bytes_b=os.urandom(32))
        salt, public = self._checker.get_challenge()
        fixed_key = int.from_bytes(verifier.verifier, "big") % PRIME == 0
        self.unsafe: bool = not joiner_public or fixed_key or salt is None or public is None
        self.salt: bytes = verifier.salt
        self.public: bytes = b"" if self.unsafe else bytes(public)

    def proof_matches(self, proof: bytes) -> bool:
        """Whether the joiner's proof is the one only the password gives, for these ``A`` and
        ``B``: both are in the transcript each side signs, and ``B`` is new in each exchange,
        so a proof recorded from one conversation fails in every other."""
        return not self.unsafe and self._checker.verify_session(proof) is not None
