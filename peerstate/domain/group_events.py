"""The events of a group replica's log: shared envelopes and the replica's own lifecycle.

A group's shared history is a set of signed ``Envelope`` values, each carrying one payload
(``SharedEvent``). Every replica of the group holds the same envelopes once synchronized;
what it did locally (created, joined, connected, synchronized, closed, deleted) and what it
refused are its own events, never sent to anyone.

Payloads carry certificates twice: as DER, which is what signatures cover, and as the
fields read from it (``Credential``), so the fold needs no crypto. Admission checks that
the two agree before an envelope is accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeAlias
from uuid import UUID

import attrs

from peerstate.domain.added_fields import added


@attrs.frozen
class PasswordVerifier:
    """A group password as the group keeps it, never the password: the password is
    stretched by Argon2id (``salt`` and cost), and the group keeps an SRP-6a verifier of the
    stretched value (``pake_salt``, ``pake_verifier``: ``crypto.pake``), which lets a member
    check a joiner's password but not join with it.

    A group made before kept the stretched value itself (``verifier``), which any member
    could join with; it has no ``pake_*`` fields, and ``verifier`` is empty in one made
    since. The salt and cost are fixed for the group's life, so a password invitation that
    carries them stays usable when the creator changes the password.
    """

    salt: bytes
    iterations: int
    lanes: int
    memory_cost: int
    verifier: bytes
    pake_salt: bytes | None = added()
    pake_verifier: bytes | None = added()

    @property
    def augmented(self) -> bool:
        """Whether the group keeps an SRP verifier, not a value a joiner could prove with."""
        return self.pake_verifier is not None


@attrs.frozen
class GroupProperties:
    """The replicated properties (MS-PPSEC's Security Properties record)."""

    group_peer_name: str
    creator_peer_name: str
    cloud: str
    classifier: str
    friendly_name: str
    comment: str
    flags: int
    member_data_lifetime: int
    presence_lifetime: int
    authentication_schemes: int
    password: PasswordVerifier | None
    password_role: UUID | None


@attrs.frozen
class Credential:
    """A GMC: one member's membership, with the fields read from its certificate.

    ``issuer`` is the fingerprint of the credential that signed it (None: the group root),
    and ``chain_length`` counts the links from the root, the creator's own being 1.
    """

    fingerprint: bytes
    der: bytes
    subject: str
    subject_friendly_name: str
    public_key: bytes
    roles: tuple[UUID, ...]
    not_before: datetime
    not_after: datetime
    issuer: bytes | None
    chain_length: int


@attrs.frozen
class GroupCreated:
    """The first envelope of every group: its properties, its root and its creator's GMC."""

    properties: GroupProperties
    root: bytes
    root_key: bytes
    creator: Credential


@attrs.frozen
class PropertiesChanged:
    """The creator set new properties; the fixed ones are as they were."""

    properties: GroupProperties


CredentialDelivery: TypeAlias = Literal["password", "stored", "returned", "invitation"]
DELIVERED_BY_LOG: tuple[CredentialDelivery, ...] = ("password", "stored")
"""Deliveries that put a credential in force for its subject as soon as the log has it;
the others wait until the subject takes the credential up (``CredentialTaken``)."""


@attrs.frozen
class CredentialIssued:
    """The author issued a GMC, signed with its own credential's key: the audit trail of
    who gave whom which roles until when.

    ``delivery`` says how the subject gets it: at a password join's authentication, from
    the group log at its next sync (``PEER_GROUP_STORE_CREDENTIALS``), or only in the
    XML returned by ``PeerGroupIssueCredentials`` or ``PeerGroupCreateInvitation``.
    """

    credential: Credential
    delivery: CredentialDelivery


@attrs.frozen
class CredentialTaken:
    """The author took up a credential it was given out of band (an invitation, a returned
    credential, an imported configuration), presenting its whole chain (the GMCs below the
    root, root side first, its own last), as Windows' membership record carries the GMC
    chain. So a replica that never saw the issue can still judge the author, and the
    credential is in force for the author from this envelope on."""

    chain: tuple[Credential, ...]


@attrs.frozen
class MembershipPublished:
    """The author published its membership (its Membership record): other members now list
    it, and see ``PEER_MEMBER_JOINED`` when this is new to them."""

    friendly_name: str


@attrs.frozen
class PresencePublished:
    """The author is online at ``address`` until ``until`` (now plus the group's presence
    lifetime), unless it publishes again: what ``PEER_MEMBER_PRESENT`` is read from."""

    address: str
    until: datetime


@attrs.frozen
class Record:
    """One version of a ``PEER_RECORD``: what the group database holds for a record id.

    Times are the group's peer time. A deletion is a version too, flagged
    ``PEER_RECORD_FLAG_DELETED`` with no data: the tombstone that stays until expiration, so
    an older version arriving later cannot bring the record back.
    """

    id: UUID
    type: UUID
    version: int
    flags: int
    creator: str
    modified_by: str
    attributes: str
    data: bytes
    created: datetime
    modified: datetime
    expiration: datetime


@attrs.frozen
class RecordPublished:
    """The author added, updated, refreshed or deleted a record: every record operation
    floods the whole new version, as Windows does, and the versions of one id are resolved
    by Windows' precedence rule wherever they meet."""

    record: Record


@attrs.frozen
class IdentityRetired:
    """An identity was deleted on some peer. ``statement`` is signed with the deleted
    identity's own key, so only its holder can retire it."""

    peer_name: str
    public_key: bytes
    statement: bytes


SharedEvent: TypeAlias = (
    GroupCreated | PropertiesChanged | CredentialIssued | CredentialTaken | MembershipPublished
    | PresencePublished | IdentityRetired | RecordPublished
)


@attrs.frozen
class Seen:
    """A place in another author's chain that the writer of an envelope had seen: that
    chain as far as ``seq``, everything in it up to there included."""

    author: str
    seq: int


@attrs.frozen
class Envelope:
    """One shared event as it travels: who wrote it, under which credential, where it sits
    in its author's chain, what it had seen, and the author's signature over everything
    else.

    ``credential`` is the fingerprint of the author's GMC; ``prev`` the id of the author's
    previous envelope (empty at ``seq`` 1), so a gap, a reordering or an edit shows.
    ``context`` is what its author had seen of the chains that bear on its authority
    (``domain.context``), in author order: absent (None) from an envelope written before
    envelopes cited it, which is judged in the context of its own chain alone.
    """

    group: str
    author: str
    credential: bytes
    seq: int
    prev: bytes
    at: datetime
    payload: SharedEvent
    signature: bytes
    context: tuple[Seen, ...] | None = added()


# The replica's own events ----------------------------------------------------------------


@attrs.frozen
class ReplicaCreated:
    """This peer created the group. ``root_key`` is the group root's private key (PKCS#8,
    sealed when the key store is protected): kept for the group configuration export."""

    group: str
    identity: str
    cloud: str
    root_key: bytes
    sealed: bool
    at: datetime


@attrs.frozen
class PasswordTicket:
    """What a password joiner keeps until its first sync: the verifier it derived from the
    password with the salt the invitation carried (sealed when the key store is)."""

    verifier: bytes
    sealed: bool


@attrs.frozen
class ReplicaJoined:
    """This peer's identity joined the group by an invitation; it is not synchronized yet.

    A password joiner keeps a ticket, outside the log since issue 30 (``PeerStore.keep_ticket``;
    a join stored before holds it in ``ticket``, None now); a joiner by credential invitation (or by an
    imported configuration) keeps its GMC ``chain`` (the group root certificate first, its
    own GMC last), which authenticates it at sync and which it takes up once synchronized.
    An imported configuration of the group's creator also brings the group root's private
    key (``root_key``, sealed when the key store is).
    """

    group: str
    identity: str
    cloud: str
    group_friendly_name: str
    ticket: PasswordTicket | None
    chain: tuple[bytes, ...]
    root_key: bytes | None
    root_key_sealed: bool
    at: datetime


@attrs.frozen
class EnvelopeAccepted:
    """An envelope passed every rule and is part of this replica's group state.

    ``source`` is where it came from: ``"local"`` or the identity it was received from.
    """

    envelope: Envelope
    id: bytes
    source: str
    at: datetime


@attrs.frozen
class ActionsVoided:
    """Envelopes of one author, taken in its chain, that have no effect: what each does needs
    a role that ``credential``, a credential of its author's (by fingerprint) delivered
    concurrently with it, does not give (``domain.authority``). Neither had seen the
    other, so the demotion wins: a demoted member citing an old context on purpose gains
    nothing by it. Recorded before the envelope is taken when the credential is here
    first, and after the credential otherwise, when the log folds its state again."""

    credential: bytes
    ids: tuple[bytes, ...]
    at: datetime


@attrs.frozen
class EnvelopeRefused:
    """An envelope failed ``rule`` (the rule function's name) with ``error`` (an HRESULT
    name); it was never applied. Kept whole for the audit, as far as the bound on a
    sender's refusals kept whole goes (``RefusalsCounted``)."""

    envelope: Envelope
    id: bytes
    source: str
    rule: str
    error: str
    reason: str
    at: datetime


@attrs.frozen
class EnvelopeHeld:
    """An envelope that waits: ``rule`` (a registered rule's name) refused it for data this
    replica lacks, which a later envelope may bring (``sync.cutting.waits``). Kept whole, not
    applied and not among the ids a batch skips; judged again when an envelope is accepted
    that could change its verdict, and then accepted (``EnvelopeAccepted``) or refused for
    good (``EnvelopeRefused``), either of which ends its wait. ``sender`` (the identity it
    authenticated as) and ``address`` sent it; ``size`` is its encoded length, which the
    bound on held bytes sums."""

    envelope: Envelope
    id: bytes
    sender: str
    address: str
    rule: str
    size: int
    at: datetime


@attrs.frozen
class ForkDetected:
    """Evidence that ``first.author`` forked its own chain: ``first`` and ``second``, both
    signed by it under a credential of the group, at one sequence number, with different
    ids. ``first`` is the envelope this replica had accepted at that place, ``second`` the
    one that came after it, from ``sender`` (the identity it authenticated as) at
    ``address``. Kept whole, so the replica serves both to every neighbour (a neighbour
    that saw one branch learns of the other: sync's heads compare sequence numbers only),
    and ``second``'s id is known from then on, not judged again."""

    first: Envelope
    first_id: bytes
    second: Envelope
    second_id: bytes
    sender: str
    address: str
    at: datetime


@attrs.frozen
class RuleCount:
    """How many envelopes of one batch a rule (its registered name) refused."""

    rule: str
    count: int


@attrs.frozen
class RefusalsCounted:
    """What one batch from ``sender`` (the identity it authenticated as, at ``address``) had
    refused: how many envelopes each rule refused. The first ``kept`` of them are kept
    whole, each an ``EnvelopeRefused`` before this event; the rest, past the bound a sender
    has kept whole (``bounds.MAX_KEPT_REFUSALS``), only here, so that what a member sends to
    be refused costs the log this event, not its bytes. ``cut_off`` is the rule whose refusal
    cut the sender off (``sync.cutting``), the rest of the batch unjudged; None if none did."""

    sender: str
    address: str
    rules: tuple[RuleCount, ...]
    kept: int
    cut_off: str | None
    at: datetime


@attrs.frozen
class JoinRefused:
    """This replica refused to authenticate ``identity``; no credential was issued.

    Only logs written before issue 30 hold these: a wrong password is now counted outside
    the log (``replica.WrongPasswords``), so no run of guesses grows it. The fold still
    counts the ones a log holds (``replica.counted_before``)."""

    identity: str
    rule: str
    error: str
    reason: str
    at: datetime
    address: str | None = added()
    """The address the joiner connected from: what the throttle counts wrong passwords by
    besides the identity (``ReplicaState.wrong_passwords_from``); None in a log written
    before."""


@attrs.frozen
class ReplicaSynchronized:
    """The replica finished its first synchronization, with ``source``."""

    source: str
    at: datetime


@attrs.frozen
class PeerTimeAdjusted:
    """The replica's peer time is now its machine's clock plus ``offset`` microseconds,
    taken from the member ``source`` it synchronized with (MS-PPGRH 1.3.6)."""

    offset: int
    source: str
    at: datetime


@attrs.frozen
class ReplicaConnected:
    at: datetime


@attrs.frozen
class ReplicaClosed:
    """The last handle of this peer's process to the replica was closed."""

    at: datetime


@attrs.frozen
class ReplicaDeleted:
    at: datetime


ReplicaEvent: TypeAlias = (
    ReplicaCreated | ReplicaJoined | EnvelopeAccepted | EnvelopeRefused | EnvelopeHeld | ForkDetected | RefusalsCounted
    | JoinRefused | ReplicaSynchronized | PeerTimeAdjusted | ReplicaConnected | ReplicaClosed | ReplicaDeleted | ActionsVoided
)
GROUP_VALUES: tuple[type, ...] = (
    PasswordVerifier, GroupProperties, Credential, GroupCreated, PropertiesChanged,
    CredentialIssued, CredentialTaken, MembershipPublished, PresencePublished, IdentityRetired, Record,
    RecordPublished, Envelope, PasswordTicket,
    ReplicaCreated, ReplicaJoined, EnvelopeAccepted, EnvelopeRefused, EnvelopeHeld, ForkDetected, RuleCount,
    RefusalsCounted, JoinRefused,
    ReplicaSynchronized, PeerTimeAdjusted, ReplicaConnected, ReplicaClosed, ReplicaDeleted, ActionsVoided,
)
"""Every attrs class a replica log stores: what its snapshots hold as ``wire`` trees."""
