"""Every bound on what another peer or a store file can make this one hold or do: sizes,
counts and ranges, each a named constant, in one table (``docs/security.md`` gives each its
reason, and a test checks that the two agree).

A bound is checked where the bytes arrive, before they are parsed or stored, so that what a
hostile peer sends costs this one at most what the table allows. Every field of what a peer
decodes from another's bytes (sync's messages, a database file, an invitation's signed
statement) has its bound in ``FIELDS``: sync's decoder holds a message to them before any of
it is a value (``peerstate.wire``), and admission holds every envelope to them again before
any other check (``domain.rules.envelope_within_bounds``), whatever path it came by. What the
API's own checks then say of a value (a friendly name's characters, a flag's bits) are its
rules'; the bounds here are those of the value's Windows type or its size.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from types import MappingProxyType, UnionType
from typing import Final, TypeAlias, Union

import attrs

# The sync conversation ------------------------------------------------------------------------

MAX_HANDSHAKE_BYTES: Final = 128 * 1024
"""A hello or a challenge, the messages before either side has been challenged to prove its
key: an IDC and a chain of at most ``MAX_CHAIN_LENGTH`` GMCs, with room to spare. (The
proof that answers a challenge carries a head per author of the group, so it is held to
``MAX_FRAME_BYTES``: a party to it has shown a valid IDC first.)"""

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

MAX_PAKE_VALUE_BYTES: Final = 512
"""An SRP verifier or public value (``A``, ``B``) in the 4096-bit group of the group password's
exchange (``crypto.pake``): at most the prime's 512 bytes."""

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


# Envelopes that wait ------------------------------------------------------------------------------

MAX_HELD_PER_AUTHOR: Final = 64
"""Envelopes of one author a replica holds while they wait for data it lacks (a gap before
them in the author's chain, a credential, the founding): an honest sync sends each chain in
order, so only a hostile or shuffled order fills it; past it, an envelope is dropped, to
come again."""

MAX_HELD: Final = 256
"""Envelopes a replica holds waiting, of all authors: what one replica's held pool, and so
each snapshot of its log, carries at most besides its state."""

MAX_THROTTLED_GUESSERS: Final = 1024
"""The password joiners, and the addresses, whose wrong passwords a replica keeps counting
(``ReplicaState.wrong_passwords``, ``wrong_passwords_from``): past it, the one whose last
wrong password is oldest is forgotten, so no guesser grows a replica's state by changing
its identity or its address."""

MAX_GUESS_SECONDS: Final = 60
"""How long a password joiner's guess counts as made from its hello, before its proof comes
(``sync_start_guess``): parallel conversations count every guess they start, and one left
unanswered stops counting after this."""

MAX_TICKET_BYTES: Final = 1024
"""The most of a store's value a password joiner's kept ticket is read from (``PeerStore.ticket``):
a stretched password, sealed, is under 100 bytes, and a value edited past this is not read."""

MAX_WRONG_PASSWORDS_BYTES: Final = 1 << 20
"""The most of a store's value a replica's throttle counters are read from
(``PeerStore.wrong_passwords``): ``MAX_THROTTLED_GUESSERS`` joiners and as many addresses,
each a name and a time, take a few hundred kilobytes at most."""

MAX_CONTEXT: Final = 64
"""The places an envelope cites as its context (``Envelope.context``): one per author whose
credential events bear on its authority, its author's issuers and, for a credential, its
subject's and theirs; an identity given credentials by more issuers than that cites the
ones it met last (``domain.context``)."""

MAX_ENVELOPE_AHEAD_SECONDS: Final = 600
"""How far past the receiver's peer time an envelope may be dated and be taken now: ten
minutes, well above what members whose peer times a sync keeps together differ by. One
dated later waits until its time (``envelope_time_reached``), so no member can date what it
writes into a future that the group has not reached."""

MAX_HELD_BYTES: Final = 8 * 1_048_576
"""The encoded bytes of the envelopes a replica holds waiting: eight batches of
``MAX_BATCH_BYTES``, so the held pool costs a snapshot a few MiB at most, whatever the
envelopes' sizes."""


# Peer time --------------------------------------------------------------------------------------

MAX_PEER_TIME_STEP_SECONDS: Final = 60
"""How far one sync moves a synchronized replica's peer time (``domain.peer_time``). Clocks
kept by NTP differ by milliseconds, and one left to itself drifts a few seconds a day, so a
quarter of the way towards an honest member's peer time is a smaller step; only a clock
more than four minutes off takes more than one sync to follow. What a hostile member can
do to another's peer time is this much per sync."""

MAX_PEER_TIME_ADOPTED_SECONDS: Final = 10 * 60
"""How far from this machine's clock a joiner adopts the group's peer time at its first
sync; a peer time further off is adopted up to here, and followed a step per sync after
(Windows adopts it whole). Twice the five minutes Kerberos lets clocks differ by default:
a machine whose clock is further off has its credentials' validity wrong as well, since
those are checked against its own clock. No one member can set a joiner's peer time
further than this."""

MAX_PEER_TIME_OFFSET_SECONDS: Final = 24 * 3600
"""How far a replica's peer time may ever be from this machine's clock: an offset held is
cut to it (one stored by an earlier version too, which took up to a year, and before that
any), and another member's peer time further off is not taken at all: no clock whose
credentials still work is that wrong (one set in the wrong time zone is 14 hours off at
most). What members colluding over many syncs can drift a replica's peer time, so records
expire at most a day early or late there; and times stay representable, far from the
year 9999."""


# The fields a peer decodes from another's bytes --------------------------------------------------


@attrs.frozen
class Bound:
    """Where a field's value lies: its length (characters of a text, bytes, items of a tuple)
    or, for a number, itself, from ``least`` to ``most``; ``each`` bounds every item of a
    tuple. An absent value (``None``) is within any bound."""

    most: int
    least: int = 0
    each: Bound | None = None

    def problem(self, value: object) -> str | None:
        """Why ``value`` is out of this bound, or None when it is within."""
        if value is None:
            return None
        if isinstance(value, int):
            if not self.least <= value <= self.most:
                return f"{value} is outside {self.least}..{self.most}"
            return None
        if not isinstance(value, (str, bytes, tuple)):
            return f"a {type(value).__name__}, which no bound measures"
        if not self.least <= len(value) <= self.most:
            unit = "characters" if isinstance(value, str) else "bytes" if isinstance(value, bytes) else "items"
            return f"{len(value)} {unit}, not {self.least} to {self.most}"
        if self.each is not None and isinstance(value, tuple):
            for index, item in enumerate(value):
                problem = self.each.problem(item)
                if problem is not None:
                    return f"[{index}]: {problem}"
        return None


DWORD: Final = Bound(MAX_DWORD)
SEQ: Final = Bound(MAX_SEQ)
PEER_NAME: Final = Bound(MAX_PEER_NAME_CHARS)
FRIENDLY_NAME: Final = Bound(MAX_FRIENDLY_NAME)
CLOUD_NAME: Final = Bound(MAX_CLOUD_NAME_CHARS)
SIGNATURE: Final = Bound(MAX_SIGNATURE_BYTES)
PUBLIC_KEY: Final = Bound(MAX_PUBLIC_KEY_BYTES)
CERTIFICATE: Final = Bound(MAX_CERTIFICATE_BYTES)
DIGEST: Final = Bound(MAX_DIGEST_BYTES)
NONCE: Final = Bound(MAX_NONCE_BYTES)
PAKE_VALUE: Final = Bound(MAX_PAKE_VALUE_BYTES)
SALT: Final = Bound(MAX_SALT_BYTES)
CHAIN: Final = Bound(MAX_CHAIN_LENGTH + 1, each=CERTIFICATE)
"""A chain as a hello or an invitation shows it: the group root's certificate, then GMCs."""

FIELDS: Final[Mapping[str, Mapping[str, Bound]]] = MappingProxyType({
    # a group's shared events (``domain.group_events``)
    "Envelope": {
        "group": PEER_NAME, "author": PEER_NAME, "credential": DIGEST, "seq": SEQ, "prev": DIGEST, "signature": SIGNATURE,
        "context": Bound(MAX_CONTEXT),
    },
    "Seen": {"author": PEER_NAME, "seq": SEQ},
    "GroupCreated": {"root": CERTIFICATE, "root_key": PUBLIC_KEY},
    "GroupProperties": {
        "group_peer_name": PEER_NAME, "creator_peer_name": PEER_NAME, "cloud": CLOUD_NAME, "classifier": Bound(MAX_CLASSIFIER),
        "friendly_name": FRIENDLY_NAME, "comment": FRIENDLY_NAME, "flags": DWORD, "member_data_lifetime": DWORD,
        "presence_lifetime": DWORD, "authentication_schemes": DWORD,
    },
    "PasswordVerifier": {
        "salt": SALT, "iterations": DWORD, "lanes": DWORD, "memory_cost": DWORD, "verifier": DIGEST, "pake_salt": SALT,
        "pake_verifier": PAKE_VALUE,
    },
    "Credential": {
        "fingerprint": DIGEST, "der": CERTIFICATE, "subject": PEER_NAME, "subject_friendly_name": FRIENDLY_NAME,
        "public_key": PUBLIC_KEY, "roles": Bound(MAX_ROLES), "issuer": DIGEST, "chain_length": DWORD,
    },
    "MembershipPublished": {"friendly_name": FRIENDLY_NAME},
    "PresencePublished": {"address": Bound(MAX_ADDRESS_CHARS)},
    "Record": {
        "version": DWORD, "flags": DWORD, "creator": PEER_NAME, "modified_by": PEER_NAME,
        "attributes": Bound(MAX_RECORD_SIZE // 2), "data": Bound(MAX_RECORD_SIZE),
    },
    "IdentityRetired": {"peer_name": PEER_NAME, "public_key": PUBLIC_KEY, "statement": SIGNATURE},
    # sync's messages (``sync.messages``)
    "MemberHello": {"group": PEER_NAME, "identity": PEER_NAME, "card": CERTIFICATE, "chain": CHAIN, "nonce": NONCE},
    "PasswordHello": {"group": PEER_NAME, "identity": PEER_NAME, "card": CERTIFICATE, "nonce": NONCE, "pake_public": PAKE_VALUE},
    "ExpiredMemberHello": {"group": PEER_NAME, "identity": PEER_NAME, "card": CERTIFICATE, "nonce": NONCE},
    "Challenge": {
        "identity": PEER_NAME, "card": CERTIFICATE, "chain": CHAIN, "nonce": NONCE, "signature": SIGNATURE, "pake_salt": SALT,
        "pake_public": PAKE_VALUE,
    },
    "Proof": {"signature": SIGNATURE, "password_proof": DIGEST},
    "Head": {"author": PEER_NAME, "seq": SEQ},
    "Refusal": {"error": Bound(MAX_ERROR_NAME_CHARS), "reason": Bound(MAX_REASON_CHARS)},
    # a group database file (``documents.database_files``)
    "DatabaseSnapshot": {"format": Bound(MAX_FORMAT_NAME_CHARS), "group": PEER_NAME, "exporter": PEER_NAME, "signature": SIGNATURE},
    # an invitation's signed statements (``documents.invitations``)
    "SignedStatement": {"chain": CHAIN, "signature": SIGNATURE},
    "PasswordInvitation": {
        "cloud": CLOUD_NAME, "group_peer_name": PEER_NAME, "group_friendly_name": FRIENDLY_NAME, "issuer": PEER_NAME,
        "issuer_friendly_name": FRIENDLY_NAME, "salt": SALT, "iterations": DWORD, "lanes": DWORD, "memory_cost": DWORD,
    },
    "SignedCredentialStatement": {"signature": SIGNATURE},
    "CredentialStatement": {
        "cloud": CLOUD_NAME, "group_friendly_name": FRIENDLY_NAME, "fingerprints": Bound(MAX_CHAIN_LENGTH + 1, each=DIGEST),
    },
})
"""Each field's bound, by its class's name as the wire tags it and the field's name: every
text, bytes and number (and tuple of them) of every class a peer decodes from another's
bytes has one (a test says so). A tuple of values of a class is bounded by its message's
bytes, and each value by its own class's fields here."""


def value_problem(value: object) -> str | None:
    """Where an attrs value (an envelope, a message), or any attrs value it holds, has a field
    out of its bound in ``FIELDS``: the first such field's path and why (``$.payload.address:
    ...``, as sync's decoder says it of a message's tree); None when none is."""
    problem = _problem(value)
    return None if problem is None else f"${problem}"


def _problem(value: object) -> str | None:
    """``value_problem``'s path below ``value``, made only once a field is out of bounds."""
    for name, bound, holds in _walk(type(value)):
        field = getattr(value, name)
        if bound is not None and (problem := bound.problem(field)) is not None:
            return f".{name}: {problem}"
        if holds is _HOLDS_ONE:
            if field is not None and (problem := _problem(field)) is not None:
                return f".{name}{problem}"
        elif holds is _HOLDS_MANY:
            for index, item in enumerate(field or ()):
                if (problem := _problem(item)) is not None:
                    return f".{name}[{index}]{problem}"
    return None


_HOLDS_ONE: Final = "one"
_HOLDS_MANY: Final = "many"
_Walk: TypeAlias = tuple[tuple[str, Bound | None, str | None], ...]


def _walk(kind: type) -> _Walk:
    """The fields of an attrs class that a walk looks at, in order: each bounded one with its
    bound, and each that holds attrs values (one, or a tuple of them). Made once per class:
    admission walks every envelope, and the other fields need no look."""
    walk = _WALKS.get(kind)
    if walk is None:
        bounds, hints = FIELDS.get(kind.__name__, {}), typing.get_type_hints(kind)
        fields = ((field.name, bounds.get(field.name), _holds(hints[field.name])) for field in attrs.fields(kind))
        walk = _WALKS[kind] = tuple(field for field in fields if field[1] is not None or field[2] is not None)
    return walk


def _holds(hint: object) -> str | None:
    """Whether a field of type ``hint`` holds an attrs value (an optional one, or one of a
    union), a tuple of them, or neither."""
    if typing.get_origin(hint) is tuple:
        return _HOLDS_MANY if _holds(typing.get_args(hint)[0]) else None
    kinds = typing.get_args(hint) if typing.get_origin(hint) in (Union, UnionType) else (hint,)
    if any(_holds(kind) == _HOLDS_MANY for kind in kinds if kind is not hint):  # an optional tuple of them
        return _HOLDS_MANY
    return _HOLDS_ONE if any(isinstance(kind, type) and attrs.has(kind) for kind in kinds) else None


_WALKS: Final[dict[type, _Walk]] = {}
