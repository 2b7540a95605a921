"""Every bound on what another peer or a store file can make this one hold or do: sizes,
counts and ranges, each a named constant, in one table (``docs/security.md`` gives each its
reason, and a test checks that the two agree).

A bound is checked where the bytes arrive, before they are parsed or stored, so that what a
hostile peer sends costs this one at most what the table allows.
"""

from __future__ import annotations

from typing import Final

# The sync conversation ------------------------------------------------------------------------

MAX_HANDSHAKE_BYTES: Final = 128 * 1024
"""A message before the connector has proven its key (hello, challenge, proof, refusal): an
IDC and a chain of at most ``MAX_CHAIN_LENGTH`` GMCs, with room to spare."""

MAX_BATCH_BYTES: Final = 1024 * 1024
"""What one batch of envelopes carries, unless a single envelope is larger."""

MAX_FRAME_BYTES: Final = 2 * 1024 * 1024
"""A message once the connector is authenticated: the largest legal envelope (a record of
``MAX_RECORD_SIZE`` is at most 1.5 MiB once encoded: attributes of 512 Ki characters of
three UTF-8 bytes each) with a margin."""

MAX_BATCH_ENVELOPES: Final = 2048
"""Envelopes in one batch: an honest batch of ``MAX_BATCH_BYTES`` holds fewer, since the
smallest envelope carries a signature and its author's names."""

# Numbers -----------------------------------------------------------------------------------------

MAX_DWORD: Final = 0xFFFFFFFF
"""The largest ``DWORD`` or ``ULONG``: a record's version and flags, a group's flags,
lifetimes and authentication schemes, a key derivation's costs as a statement carries them."""

MAX_SEQ: Final = 2**63 - 1
"""The largest place in an author's chain of envelopes: the 64 signed bits a store's rows
hold, which one envelope a step never reaches."""

# Texts, in characters ----------------------------------------------------------------------------

MAX_CLASSIFIER: Final = 149
"""A peer name's classifier, without the terminating NUL that the 150 of the documentation
counts."""

MAX_FRIENDLY_NAME: Final = 255
"""A friendly name or a comment (``PEER_GROUP_PROPERTIES``, an identity, a member)."""

MAX_PEER_NAME_CHARS: Final = 40 + 1 + MAX_CLASSIFIER
"""A peer name: a secure authority of 40 hex digits, a dot, and a classifier."""

MAX_CLOUD_NAME_CHARS: Final = 256
"""A PNRP cloud's name (``PEER_PNRP_CLOUD_INFO.pwzCloudName``: at most 256 characters)."""

MAX_ADDRESS_CHARS: Final = 255
"""A member's address as its presence gives it: an IPv6 address with its zone and port, a
host name (at most 253 characters in the DNS), or a simulated machine's name."""

MAX_ERROR_NAME_CHARS: Final = 64
"""The HRESULT a refusal names (the longest of ``peerstate.errors`` has 40 characters)."""

MAX_REASON_CHARS: Final = 4096
"""Why a refusal refused: a rule's sentence, quoting a few names of at most
``MAX_PEER_NAME_CHARS``."""

MAX_FORMAT_NAME_CHARS: Final = 64
"""The name of the format a database file says it is in."""

MAX_ARGUMENT_CHARS: Final = 64 * 1024
"""A string argument of a call: longer than any document or name of these APIs, so no call
reads unbounded input."""

MAX_PASSWORD_CHARS: Final = 1024
"""A group or export password given to a call."""

MAX_DOCUMENT_CHARS: Final = 64 * 1024
"""An XML document a call reads (identity, invitation, configuration, attributes, search),
before it is parsed."""

MAX_SCHEMA_CHARS: Final = 63
"""A PostgreSQL schema a store lives in: an identifier of PostgreSQL (``NAMEDATALEN`` - 1)."""

MAX_SHOWN_CHARS: Final = 1000
"""The most characters of one piece of text from a store or another peer (a friendly name,
a peer or group name, an event's effect, a rule's reason, a finding) that a line of the
command's text output shows, after escaping; the rest is cut, and the line says how much.
Longer than any name the API accepts, so only text no honest peer writes is cut; JSON lines
carry it whole."""

# Bytes -------------------------------------------------------------------------------------------

MAX_SIGNATURE_BYTES: Final = 2048
"""An RSA signature is as long as its key's modulus: 256 bytes for the RSA-2048 keys
peerstate makes, 2048 for an RSA-16384 key, the largest OpenSSL verifies with."""

MAX_PUBLIC_KEY_BYTES: Final = 2560
"""An RSA key's DER SubjectPublicKeyInfo: 294 bytes for RSA-2048, about 2,100 for
RSA-16384."""

MAX_CERTIFICATE_BYTES: Final = 8192
"""An IDC, a GMC or a group root certificate in DER: a key, a signature, peer names, a
friendly name (up to 765 bytes of UTF-8) and roles; peerstate's own are about 1 KB, an
RSA-16384 one under 6 KB."""

MAX_DIGEST_BYTES: Final = 32
"""A SHA-256 digest (a certificate's fingerprint, an envelope's id), an HMAC-SHA256 password
proof, a group's 32-byte Argon2id password verifier."""

MAX_NONCE_BYTES: Final = 64
"""A sync hello's or challenge's nonce (peerstate sends 32 bytes)."""

MIN_SALT_BYTES: Final = 16
MAX_SALT_BYTES: Final = 64
"""A key derivation's salt (Argon2id's, peerstate's own 16 bytes)."""

MAX_RECORD_SIZE: Final = 1024 * 1024
"""peerstate's Max Record Size, in bytes of ``data`` plus two per attribute character
(UTF-16, as MS-PPGRH 3.1.7.27 counts). Windows does not document the Grouping's value (a
graph's default is 60 MB); a mebibyte keeps any one record well inside a sync frame."""

MAX_FILE_BYTES: Final = 1024 * 1024 * 1024
"""A group database file an import reads, far above any that peerstate writes."""

# Counts ------------------------------------------------------------------------------------------

MAX_CHAIN_LENGTH: Final = 24
"""GMCs below the GRC, the creator's own GMC counted as 1; beyond it is
``PEER_E_CHAIN_TOO_LONG``."""

MAX_ROLES: Final = 3
"""The roles a credential gives: the three group roles, each at most once."""

MAX_SEARCH_DEPTH: Final = 32
"""How deep ``<and>`` and ``<or>`` nest in a record search."""

MAX_SEARCH_CLAUSES: Final = 256
"""The clauses of a record search."""

MAX_PFX_DEPTH: Final = 16
"""How deep the DER of an identity export is read for its iteration counts: deeper than any
export of ours nests."""

# Costs -------------------------------------------------------------------------------------------

MAX_PKCS12_ITERATIONS: Final = 600_000
"""PBKDF2 rounds of an identity export, which an export of ours uses (OWASP's floor for
PBKDF2-HMAC-SHA256): OpenSSL runs them all before it can tell a password is wrong."""

MAX_KDF_ITERATIONS: Final = 10
MAX_KDF_LANES: Final = 4
MAX_KDF_MEMORY_KIB: Final = 256 * 1024
"""Argon2id passes, lanes and memory that parameters from outside (a group's password, an
invitation) may ask for: a joiner derives in seconds, not hours or gigabytes."""


def key_derivation_bounded(salt: bytes, iterations: int, lanes: int, memory_kib: int) -> bool:
    """Whether Argon2id accepts these parameters and they cost at most the bounds above:
    parameters from outside are checked before anything derives with them."""
    return (
        MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES
        and 1 <= iterations <= MAX_KDF_ITERATIONS
        and 1 <= lanes <= MAX_KDF_LANES
        and 8 * lanes <= memory_kib <= MAX_KDF_MEMORY_KIB
    )


# Refusals ----------------------------------------------------------------------------------------

MAX_KEPT_REFUSALS: Final = 16
"""Refused envelopes kept whole per sender (the identity it authenticated as) on one replica,
for the audit; past them a sender's refusals are only counted, a small event per batch. At
most this many of the largest envelopes (``MAX_FRAME_BYTES``) per member, whatever it sends."""

MAX_CUT_OFFS: Final = 8
"""Times a sender (the identity it authenticated as) may be cut off by one replica
(``sync.cutting``) before that replica refuses its hellos: each cut-off is a refusal no
honest member causes, and each reconnection costs the replica a count in its log."""
