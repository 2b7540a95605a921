"""``GroupState``: what the accepted envelopes of one group say, and the fold that builds it.

The state is a function of the *set* of accepted envelopes, not of the order they arrived
in: properties change only under the creator's own chain (one author, so one order), and
everything else is keyed by what it is about (a credential by its fingerprint, a
publication by its author (whose own chain orders them), a retirement by its identity, a
record by its id, where the winning version does not depend on which came first), so
applying two authors' envelopes in either order gives the same state.

Which of a member's credentials is in force is decided the same way: of its credentials
delivered to it (by the log, or taken up by the member itself), valid at the time asked,
the one whose delivery is latest by its envelope's ``Stamp``. A renewal or a role change
therefore takes effect on every replica that has its envelope, whatever else it has seen.

Who is listed as a member is decided by published member data (Windows' Membership
record): each identity's latest publication (``member_data_published_by``), which lapses
after the group's member data lifetime unless published again (``member_data_lapses``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import attrs
from immutables import Map, MapMutation

from peerstate.domain.group_events import (
    Credential,
    DELIVERED_BY_LOG,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    GroupCreated,
    GroupProperties,
    IdentityRetired,
    MembershipPublished,
    PresencePublished,
    PropertiesChanged,
    RecordPublished,
    Seen,
)
from peerstate.constants import PeerGroupPropertyFlags
from peerstate.names import ISSUABLE_ROLES
from peerstate.domain.added_fields import added
from peerstate.domain.records import RecordVersion, winner
from peerstate.domain.values import evolved


@attrs.frozen
class AuthorHead:
    """Where an author's chain stands: its last sequence number, that envelope's id and,
    when it cites a context (``Envelope.context``), its time: no later envelope of the
    chain is dated before it (``rules.envelope_time_follows_context``)."""

    seq: int
    last: bytes
    at: datetime | None = added()


@attrs.frozen
class Place:
    """Where a credential was delivered to its subject: its envelope's time, author, sequence
    number and the context it cites (None for one written before envelopes cited any)."""

    at: datetime
    author: str
    seq: int
    context: tuple[Seen, ...] | None

    def before(self, other: Place) -> bool:
        """Whether this delivery is in the context of ``other``: before it in one chain, or in
        a chain ``other`` cites as far as it cites it. Between two written before contexts,
        the earlier delivered (by time, author and sequence number), as peerstate ordered
        them then, so that what a store held keeps its meaning."""
        if self.context is None and other.context is None:
            return (self.at, self.author, self.seq) < (other.at, other.author, other.seq)
        if self.author == other.author:
            return self.seq < other.seq
        return any(seen.author == self.author and seen.seq >= self.seq for seen in other.context or ())


Stamp = tuple[datetime, str, int]
"""When a credential was delivered: its envelope's time, author and sequence number, an
order every replica agrees on (one author's envelopes by its sequence)."""


@attrs.frozen
class Member:
    """An identity that wrote in the group's log (anything, its presence or a credential
    taken up included), with the friendly name it goes by there. ``presence`` is its latest
    ``PresencePublished``. Whether it is listed is its member data's business
    (``GroupState.member_data``)."""

    identity: str
    friendly_name: str
    presence: PresencePublished | None = None

    def present(self, at: datetime) -> bool:
        return self.presence is not None and at < self.presence.until


@attrs.frozen(slots=False)
class GroupState:
    """One group as a replica's accepted envelopes describe it. Its mappings are persistent
    (``immutables.Map``, a hash array mapped trie): an envelope's new state shares all but a
    path of the old one, so folding N envelopes costs N log N, not the N squared of copying
    a dict at each."""

    group_peer_name: str
    root: bytes | None = None
    root_key: bytes | None = None
    properties: GroupProperties | None = None
    credentials: Map[bytes, Credential] = attrs.field(factory=Map)
    heads: Map[str, AuthorHead] = attrs.field(factory=Map)
    members: Map[str, Member] = attrs.field(factory=Map)
    retired: Map[str, datetime] = attrs.field(factory=Map)
    delivered: Map[bytes, Stamp] = attrs.field(factory=Map)
    """The credentials in force for their subjects, by fingerprint, with their delivery."""
    records: Map[UUID, RecordVersion] = attrs.field(factory=Map)
    """Each record id's winning version, tombstones and expired ones included."""
    member_data: Map[str, datetime] = attrs.field(factory=Map)
    """When each identity's member data was last published (``member_data_published_by``):
    the identities listed as members are those whose data has not lapsed."""
    forked: Map[str, int] = attrs.field(factory=Map)
    """Each author seen to fork its chain, with the lowest place it forked at: from there on
    nothing of its chain has effect (``domain.forks``, ``rules.author_has_not_forked``)."""
    places: Map[bytes, tuple[Place, ...]] = attrs.field(factory=Map)
    """Where each delivered credential was delivered, in (author, sequence number) order:
    what orders an identity's credentials (``supersedes``). Of the deliveries written before
    envelopes cited a context, only the latest, as ``delivered`` keeps it."""
    delivered_to: Map[str, tuple[bytes, ...]] = attrs.field(factory=Map)
    """The fingerprints of the credentials delivered to each identity, in order: what finds
    an identity's credentials without a look at every member's."""
    voided: Map[bytes, bytes] = attrs.field(factory=Map)
    """The envelopes taken in their author's chain that have no effect (``ActionsVoided``),
    each with the credential, delivered concurrently, that voids it (``domain.authority``)."""
    voided_deliveries: Map[str, tuple[Credential, ...]] = attrs.field(factory=Map)
    """Per identity, the credentials issued to it by envelopes without effect: in force
    nowhere and no credential of the group (not in ``credentials``, so nothing is written
    under them), but they still void what their subject did concurrently, as any other
    delivery does, whether or not it took effect. So two administrators who demote each
    other at once void both demotions, in any order. Their deliveries are in ``places``."""

    @property
    def founded(self) -> bool:
        """Whether the genesis envelope is here: before it, the replica knows only a name."""
        return self.properties is not None

    def credential_of(self, identity: str, at: datetime) -> Credential | None:
        """The identity's credential in force (``latest_credential``) when it is valid at
        ``at``; None otherwise: a credential superseded never comes back, so when the one in
        force has lapsed, none is in force until a renewal."""
        credential = self.latest_credential(identity)
        return credential if credential is not None and credential.not_before <= at <= credential.not_after else None

    def latest_credential(self, identity: str) -> Credential | None:
        """The identity's credential in force, valid or not: what the group database says
        about it (``PEER_MEMBER.pCredentialInfo``, a renewal's template). Of the credentials
        delivered to it, one that no other supersedes (``supersedes``); of several, which
        were delivered concurrently, the first in ``_concurrent_order``: never the author's
        choice of times."""
        return self.in_force(self.delivered_to.get(identity, ()))

    def latest_credentials(self) -> dict[str, Credential]:
        """Every identity's credential in force, in one pass: ``latest_credential`` for many
        identities at once."""
        found = {subject: self.in_force(fingerprints) for subject, fingerprints in self.delivered_to.items()}
        return {subject: credential for subject, credential in found.items() if credential is not None}

    def supersedes(self, later: bytes, earlier: bytes) -> bool:
        """Whether the credential ``later`` supersedes ``earlier`` (both one subject's, by
        fingerprint): a delivery of ``earlier`` is in the context of one of ``later``, and no
        delivery of ``later`` in the context of one of ``earlier`` (a credential taken up
        again after what superseded it supersedes nothing)."""
        first, second = self.places[earlier], self.places[later]
        return any(place.before(other) for place in first for other in second) and not any(
            other.before(place) for place in first for other in second
        )

    def in_force(self, fingerprints: tuple[bytes, ...]) -> Credential | None:
        """Of one identity's credentials ``fingerprints``, the one in force: one that none of
        the others supersedes, the first in ``_concurrent_order`` of several."""
        standing = [
            self.credentials[fingerprint] for fingerprint in fingerprints
            if not any(self.supersedes(other, fingerprint) for other in fingerprints if other != fingerprint)
        ]
        return min(standing, key=_concurrent_order, default=None)

    def member_data_lapses(self, identity: str, latest: Credential | None) -> datetime | None:
        """When the identity's published member data lapses: the group's member data
        lifetime after its last publication, but never after ``latest`` (the identity's
        credential in force) ends, since what a member publishes does not outlive its
        credential (issue 29); with a lifetime of 0, the issuer's remaining lifetime
        (reference §3.1), cut the same way, so when ``latest`` ends (a credential never
        outlives its issuer's). None when none was published."""
        published = self.member_data.get(identity)
        if published is None or self.properties is None:
            return None
        if self.properties.member_data_lifetime:
            lapses = published + timedelta(seconds=self.properties.member_data_lifetime)
            return lapses if latest is None else min(lapses, latest.not_after)
        if latest is None:
            return None
        return latest.not_after

    def listed(self, at: datetime) -> frozenset[str]:
        """The identities ``PeerGroupEnumMembers`` lists at ``at`` from the published member
        data (reference §1.2): those whose data has not lapsed, less those whose deletion the
        log holds. The caller's own identity is listed besides, whatever its data says."""
        latest = self.latest_credentials()
        return frozenset(identity for identity in self.member_data if self._lists(identity, at, latest.get(identity)))

    def lists(self, identity: str, at: datetime) -> bool:
        """Whether ``listed(at)`` holds ``identity``, asked of one identity."""
        if identity not in self.member_data:
            return False
        return self._lists(identity, at, self.latest_credential(identity))

    def _lists(self, identity: str, at: datetime, latest: Credential | None) -> bool:
        return identity not in self.retired and _live(self.member_data_lapses(identity, latest), at)


    def chain_of(self, credential: Credential) -> tuple[Credential, ...]:
        """The credential and its issuers up to the root's, root side first."""
        links = [credential]
        while (issuer := links[-1].issuer) is not None:
            links.append(self.credentials[issuer])
        return tuple(reversed(links))


def _concurrent_order(credential: Credential) -> tuple[int, int, datetime, bytes]:
    """The order concurrent credentials resolve in: the one whose issuer is nearest the
    root (the shortest chain: ``domain.rank``), then the one that may give out fewest
    roles (``names.ISSUABLE_ROLES``: an administrator's before an inviting member's before a
    member's, least first), then the one that ends first, then the least fingerprint. Rank
    comes first so that an issuer farther from the root than its subject, citing a context
    that does not show the subject's credential, cannot demote it with a lesser role."""
    authority = max((len(ISSUABLE_ROLES.get(role, ())) for role in credential.roles), default=0)
    return credential.chain_length, authority, credential.not_after, credential.fingerprint


def _live(lapses: datetime | None, at: datetime) -> bool:
    return lapses is not None and at < lapses


def member_data_published_by(envelope: Envelope) -> tuple[str, ...]:
    """Whose member data (MS-PPSEC's Membership record) an envelope publishes: its author's
    when the author acts in the group, that is creates it, changes its properties,
    publishes a record or its membership, or issues a credential (reference §3.2 and §3.6
    case (c)); and the subject's of a credential stored for it (§3.6 case (a), as MS-PPSEC
    3.1.4.5 publishes it). Taking a credential up, presence and an identity's retirement
    publish none: taking up the invitation one joined with is not acting, nor is the
    presence a member publishes by itself when it connects."""
    payload = envelope.payload
    if type(payload) is RecordPublished:  # most of a group's envelopes
        return (envelope.author,)
    match payload:
        case CredentialIssued(credential, "stored"):
            return (envelope.author, credential.subject)
        case GroupCreated() | PropertiesChanged() | MembershipPublished() | CredentialIssued():
            return (envelope.author,)
    return ()


def members_changed_by(envelope: Envelope) -> tuple[str, ...]:
    """The identities whose member view (listed or not, name, credential) an envelope may
    change: its author, and the subject of a credential it carries."""
    match envelope.payload:
        case GroupCreated(_, _, _, credential) | CredentialIssued(credential, _):
            return (envelope.author, credential.subject)
        case CredentialTaken(chain):
            return (envelope.author, chain[-1].subject)
    return (envelope.author,)


def member_data_due(group: GroupState, identity: str, at: datetime) -> bool:
    """Whether a member online publishes its membership again at ``at``: while its member
    data is live, once less than half of its lifetime is left, so that it never lapses (as
    presence is refreshed); once it has lapsed or when there is none, unless the group
    makes member data optional (``PEER_MEMBER_DATA_OPTIONAL``), where only acting publishes
    it. Only a member holding a credential valid now publishes anything."""
    properties = group.properties
    if properties is None or group.credential_of(identity, at) is None:
        return False
    latest = group.latest_credential(identity)
    lapses = group.member_data_lapses(identity, latest)
    if _live(lapses, at):
        assert lapses is not None  # _live
        return (lapses - at) * 2 < lapses - group.member_data[identity]
    return not properties.flags & PeerGroupPropertyFlags.PEER_MEMBER_DATA_OPTIONAL


def with_voided(state: GroupState, credential: bytes, ids: Sequence[bytes]) -> GroupState:
    """``state`` knowing that the envelopes ``ids`` have no effect, voided by ``credential``
    (``ActionsVoided``): what the fold skips, and a fold again leaves out."""
    return evolved(state, voided=state.voided.update({envelope_id: credential for envelope_id in ids}))


def apply_envelope(state: GroupState, envelope: Envelope, envelope_id: bytes) -> GroupState:
    """The state after an accepted envelope. Admission has already judged it: this only
    folds, into one new state (``apply_envelopes``)."""
    return apply_envelopes(state, ((envelope, envelope_id),))


def apply_envelopes(state: GroupState, accepted: Iterable[tuple[Envelope, bytes]]) -> GroupState:
    """The state after accepted envelopes, each with its id, in their order: the state that
    folding them one at a time gives, made once. An open folds its log's runs of envelopes
    so; a new state per envelope was most of the fold's cost."""
    fold = _Fold(state)
    heads: dict[str, AuthorHead] = {}  # each author's last: no envelope reads the heads, so they are set once a run
    published: dict[str, datetime] = {}  # nor the member data: each identity's latest of the run, set at its end
    voided = state.voided
    for envelope, envelope_id in accepted:
        heads[envelope.author] = AuthorHead(envelope.seq, envelope_id, None if envelope.context is None else envelope.at)
        if voided and envelope_id in voided:  # in its author's chain, without effect
            _fold_voided_delivery(fold, envelope)
            continue
        _fold_payload(fold, envelope)
        _fold_member(fold, envelope)
        for identity in member_data_published_by(envelope):
            published[identity] = max(envelope.at, published.get(identity, envelope.at))
    fold.changing("heads").update(heads)
    held = state.member_data
    later = {identity: at for identity, at in published.items() if identity not in held or held[identity] < at}
    if later:  # the latest publication, whichever order they came in
        fold.changing("member_data").update(later)
    return fold.done()


class _Fold:
    """A state being folded: the fields envelopes changed, and its maps open for change
    (immutables' mutations, opened at their first change), so that each envelope changes
    them in place and the run makes one new state."""

    def __init__(self, state: GroupState) -> None:
        self.state = state
        self.fields: dict[str, Any] = {}
        self.opened: dict[str, MapMutation[Any, Any]] = {}

    def current(self, name: str) -> Map[Any, Any] | MapMutation[Any, Any]:
        """The map ``name`` as the envelopes folded so far left it."""
        opened = self.opened.get(name)
        return getattr(self.state, name) if opened is None else opened

    def changing(self, name: str) -> MapMutation[Any, Any]:
        """The map ``name``, open for change."""
        opened = self.opened.get(name)
        if opened is None:
            opened = self.opened[name] = getattr(self.state, name).mutate()
        return opened

    def done(self) -> GroupState:
        return evolved(self.state, **self.fields, **{name: opened.finish() for name, opened in self.opened.items()})


def _fold_member(fold: _Fold, envelope: Envelope) -> None:
    """The author is a member, with the name and presence its envelope gives (one author's
    envelopes come in its own order, so the latest are the same on every replica)."""
    held = fold.current("members").get(envelope.author)
    member = held or Member(envelope.author, fold.current("credentials")[envelope.credential].subject_friendly_name)
    match envelope.payload:
        case MembershipPublished(friendly_name):
            member = evolved(member, friendly_name=friendly_name)
        case PresencePublished() as presence:
            member = evolved(member, presence=presence)
    if member is not held:  # most envelopes leave their author as it was
        fold.changing("members")[envelope.author] = member


def _fold_payload(fold: _Fold, envelope: Envelope) -> None:
    """Change the fields of the state that the envelope's payload changes."""
    payload = envelope.payload
    if type(payload) is RecordPublished:  # most of a group's envelopes: tested first, and without a pattern
        records = fold.changing("records")
        record = payload.record
        records[record.id] = winner(records.get(record.id), RecordVersion(record, envelope.signature))
        return
    match payload:
        case GroupCreated(properties, root, root_key, creator):
            fold.fields.update(root=root, root_key=root_key, properties=properties)
            _fold_credentials(fold, (creator,), creator, envelope)
        case PropertiesChanged(properties):
            fold.fields["properties"] = properties
        case CredentialIssued(credential, delivery):
            _fold_credentials(fold, (credential,), credential if delivery in DELIVERED_BY_LOG else None, envelope)
        case CredentialTaken(chain):
            _fold_credentials(fold, chain, chain[-1], envelope)
        case IdentityRetired(peer_name, _, _):
            retired = fold.changing("retired")
            retired[peer_name] = min(envelope.at, retired.get(peer_name, envelope.at))


def _fold_credentials(fold: _Fold, known: tuple[Credential, ...], delivered: Credential | None, envelope: Envelope) -> None:
    fold.changing("credentials").update({credential.fingerprint: credential for credential in known})
    if delivered is not None:
        stamp: Stamp = (envelope.at, envelope.author, envelope.seq)
        delivered_at = fold.changing("delivered")
        delivered_at[delivered.fingerprint] = max(stamp, delivered_at.get(delivered.fingerprint, stamp))  # either order: the same state
        places = fold.changing("places")
        places[delivered.fingerprint] = with_place(places.get(delivered.fingerprint, ()), Place(envelope.at, envelope.author, envelope.seq, envelope.context))
        delivered_to = fold.changing("delivered_to")
        held = delivered_to.get(delivered.subject, ())
        if delivered.fingerprint not in held:
            delivered_to[delivered.subject] = tuple(sorted((*held, delivered.fingerprint)))


def _fold_voided_delivery(fold: _Fold, envelope: Envelope) -> None:
    """Keep the credential an envelope without effect issued, with its delivery, apart from
    those delivered (``voided_deliveries``): it voids what its subject did concurrently."""
    payload = envelope.payload
    if not (isinstance(payload, CredentialIssued) and payload.delivery in DELIVERED_BY_LOG):
        return
    credential = payload.credential
    places = fold.changing("places")
    places[credential.fingerprint] = with_place(places.get(credential.fingerprint, ()), Place(envelope.at, envelope.author, envelope.seq, envelope.context))
    voided_deliveries = fold.changing("voided_deliveries")
    held = voided_deliveries.get(credential.subject, ())
    if credential not in held:
        voided_deliveries[credential.subject] = tuple(sorted((*held, credential), key=lambda other: other.fingerprint))


def with_place(held: tuple[Place, ...], place: Place) -> tuple[Place, ...]:
    """A credential's deliveries ``held`` with ``place``, in (author, sequence number) order,
    whichever order they came in; of those written before contexts, only the latest."""
    if place.context is None:
        older = [other for other in held if other.context is None]
        if any((other.at, other.author, other.seq) > (place.at, place.author, place.seq) for other in older):
            return held
        held = tuple(other for other in held if other.context is not None)
    return tuple(sorted((*held, place), key=lambda other: (other.author, other.seq)))
