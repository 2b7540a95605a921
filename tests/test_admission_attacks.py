"""Admission under attack: for every check admission makes on an envelope, an envelope that
breaks that check and no earlier one, made as an attacker would make it (real keys, real
certificates, signed as they must be) and delivered to a real replica as sync delivers a
batch. Each is refused under the check's name with the HRESULT it documents, the refusal
is kept in the stored log, and neither the group state nor the accepted envelopes move.

The club: alice creates it and is its administrator. She issues bob an inviting member's
credential and carol a member's, both stored in the log and ending in 30 days; carol has
published a record; a chain of 24 credentials (alice's, bob's, then 22 of one key's
making) has been taken up by its last link. nina was invited and joined, and has
not synchronized: her replica knows only the group's name, so founding envelopes are
judged there. mallory holds no credential at all. Only alice and nina run a peer; the
others are their keys, which is all an attacker needs.

Each attack is an honest envelope with one thing changed, and the honest envelopes are
tested too: each must be admitted (by ``admission.admit`` alone, so that the club does not
change), several of them exactly at a limit. So a refusal is the change's doing.

Last, the one check a password joiner meets before its password is: the group-wide limit
on wrong passwords.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

import attrs
import pytest

from peerstate import CredentialRequest, Peer, PeerSettings, crypto, network, open_store, views
from peerstate.calls import envelopes
from peerstate.constants import PeerGroupIssueCredentialFlags
from peerstate.crypto import credentials
from peerstate.domain.group_events import (
    Credential,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    EnvelopeAccepted,
    EnvelopeHeld,
    EnvelopeRefused,
    GroupCreated,
    GroupProperties,
    IdentityRetired,
    MembershipPublished,
    PropertiesChanged,
    Record,
    RecordPublished,
    Seen,
    RefusalsCounted,
    ReplicaEvent,
    RuleCount,
    SharedEvent,
)
from peerstate.domain.group_state import GroupState
from peerstate.bounds import MAX_CHAIN_LENGTH, MAX_RECORD_SIZE
from peerstate.domain.records import DELETED, RESERVED_RECORD_TYPES, creator_tag
from peerstate.domain.rules import FIXED_PROPERTIES
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER, authority_of
from peerstate.peer import sync_port
from peerstate.sync.port import Neighbor
from peerstate.storage.peer_store import PeerStore
from peerstate.sync import admission

from tests.conftest import T0

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
MEMBERS_END = T0 + 30 * DAY
"""When bob's and carol's credentials end: well before alice's, so that what they issue or
write can outlive them."""
KIND = UUID("6b1d0000-0000-4000-8000-00000000c1ab")
Victim = Literal["alice", "nina"]
"""Whose replica judges an envelope: alice's, founded, or nina's, not yet."""
LINK_KEY = crypto.generate_identity_key()
"""The key of every link of the chain of 24 below bob's: one key may go by many names."""
MALLORYS_ROOT = crypto.generate_identity_key()
"""The key of the group roots mallory makes."""
PASSWORD = "correct horse battery"


@attrs.frozen
class Member:
    """Whoever writes envelopes: a peer name and the key that signs for it."""

    name: str
    key: crypto.PrivateKey

    @property
    def public_key(self) -> bytes:
        return crypto.public_key_der(self.key)


def stranger(classifier: str, key: crypto.PrivateKey | None = None) -> Member:
    """An identity of the attacker's own making, named after its key's hash."""
    key = key or crypto.generate_identity_key()
    return Member(f"{authority_of(crypto.public_key_der(key))}.{classifier}", key)


def link(length: int) -> Member:
    """The subject of the link at ``length`` in the chain of 24 (and one past it)."""
    return stranger(f"link{length}", LINK_KEY)


@attrs.define
class Club:
    """The two peers (alice's, nina's), the others' keys, and what the attacks build on."""

    peers: dict[Victim, Peer]
    stores: dict[Victim, PeerStore]
    identities: dict[Victim, str]
    group: str
    root_key: crypto.PrivateKey
    """The group root's private key, which only alice's peer holds."""
    alice: Member
    bob: Member
    carol: Member
    mallory: Member
    record: Record
    """carol's record, accepted."""
    deep_chain: tuple[Credential, ...] = ()
    """The chain of 24, taken up by its last link, ``link(24)``."""

    def key(self, victim: Victim) -> tuple[str, str]:
        return (self.identities[victim], self.group)

    def state(self, victim: Victim = "alice") -> GroupState:
        return sync_port(self.peers[victim]).sync_replica(self.key(victim)).state.group

    def events(self, victim: Victim) -> list[ReplicaEvent]:
        """The replica's log as stored."""
        return self.stores[victim].replica_events(*self.key(victim))

    def properties(self) -> GroupProperties:
        properties = self.state().properties
        assert properties is not None
        return properties

    def root(self) -> bytes:
        """The group root's certificate."""
        root = self.state().root
        assert root is not None
        return root

    def credential(self, member: Member) -> Credential:
        """The member's credential in force, as alice's replica holds it."""
        credential = self.state().credential_of(member.name, T0)
        assert credential is not None, member.name
        return credential

    def issue(
        self, signer: crypto.PrivateKey, parent: Credential | None, subject: Member, roles: tuple[UUID, ...] = (ROLE_MEMBER,),
        *, issuer_der: bytes | None = None, not_before: datetime = T0, not_after: datetime = MEMBERS_END,
    ) -> Credential:
        """A GMC for ``subject``, signed with ``signer`` under the subject name of ``parent``
        (the issuer's credential; None, the root's, whose certificate is ``issuer_der``),
        as the log keeps it."""
        if issuer_der is None:
            assert parent is not None
            issuer_der = parent.der
        der = credentials.issue_membership(
            signer, issuer_der, group_peer_name=self.group, subject=subject.name,
            subject_friendly_name=subject.name, subject_public_key=subject.public_key, roles=roles,
            not_before=not_before, not_after=not_after,
        )
        return envelopes.as_credential(der, parent)


def signed(author: Member, envelope: Envelope) -> Envelope:
    """``envelope`` signed with ``author``'s key: whatever else it says, its signature holds."""
    return attrs.evolve(envelope, signature=credentials.sign(author.key, admission.signed_part(envelope)))


def next_envelope(
    club: Club, author: Member, payload: SharedEvent, *, victim: Victim = "alice", credential: bytes | None = None,
    at: datetime = T0,
) -> Envelope:
    """``author``'s next envelope in its chain on the victim's replica, under ``credential``
    (by default the one alice's replica holds in force for it), signed by it."""
    head = club.state(victim).heads.get(author.name)
    envelope = Envelope(
        club.group, author.name, club.credential(author).fingerprint if credential is None else credential,
        head.seq + 1 if head else 1, head.last if head else b"", at, payload, b"",
    )
    return signed(author, envelope)


def deliver(club: Club, victim: Victim, envelope: Envelope, sender: Neighbor = Neighbor("mallory", "mallory")) -> int:
    """Hand ``envelope`` to the victim's replica as a sync batch from ``sender`` does: the
    count accepted."""
    return sync_port(club.peers[victim]).sync_receive(club.key(victim), [envelope], sender).accepted


def accepted(events: list[ReplicaEvent]) -> list[Envelope]:
    return [event.envelope for event in events if isinstance(event, EnvelopeAccepted)]


def refusal(club: Club, victim: Victim, envelope: Envelope) -> EnvelopeRefused:
    """Deliver ``envelope``, which must be refused and change nothing (the group state's
    digest and the accepted envelopes are as they were): the refusal, kept whole before the
    count of the batch's refusals that ends the stored log. Each comes from a sender of its
    own: past a sender's first refusals, the rest are only counted (``MAX_KEPT_REFUSALS``)."""
    before = views.group_digest(club.state(victim)), accepted(club.events(victim))
    assert deliver(club, victim, envelope, Neighbor("mallory", uuid4().hex)) == 0
    events = club.events(victim)
    assert (views.group_digest(club.state(victim)), accepted(events)) == before
    *_, refused, counted = events
    assert isinstance(refused, EnvelopeRefused), refused
    assert isinstance(counted, RefusalsCounted) and counted.rules == (RuleCount(refused.rule, 1),) and counted.kept == 1, counted
    return refused


def holding(club: Club, victim: Victim, envelope: Envelope) -> EnvelopeHeld:
    """Deliver ``envelope``, which must wait and change nothing: held, the last event of the
    stored log, neither refused nor among the ids a batch skips."""
    before = views.group_digest(club.state(victim)), accepted(club.events(victim))
    assert deliver(club, victim, envelope, Neighbor("mallory", uuid4().hex)) == 0
    events = club.events(victim)
    assert (views.group_digest(club.state(victim)), accepted(events)) == before
    held = events[-1]
    assert isinstance(held, EnvelopeHeld), held
    assert held.id not in sync_port(club.peers[victim]).sync_replica(club.key(victim)).known
    return held


@pytest.fixture(scope="module")
def club() -> Iterator[Club]:
    yield _club()


def _club(**group_settings: Any) -> Club:
    """The club, its group made with ``group_settings`` (``Peer.create_group``'s)."""
    stores: dict[Victim, PeerStore] = {"alice": open_store(None), "nina": open_store(None)}
    peers: dict[Victim, Peer] = {who: Peer(store, clock=lambda: T0) for who, store in stores.items()}
    identities: dict[Victim, str] = {who: peer.create_identity(who, who.title()) for who, peer in peers.items()}
    handle = peers["alice"].create_group(identities["alice"], "club", friendly_name="Club", **group_settings)
    group = peers["alice"].group_properties(handle).group_peer_name
    runtime = peers["alice"]._runtime
    replica = runtime.replica(identities["alice"], group).state
    assert replica.root_key is not None
    root_key = crypto.load_private_key(runtime.keys.take(group, replica.root_key, replica.root_key_sealed))
    alice = Member(identities["alice"], runtime.identity_key(runtime.state.identities[identities["alice"]]))
    carol = stranger("carol")
    club = Club(peers, stores, identities, group, root_key, alice, stranger("bob"), carol, stranger("mallory"), record(carol))
    for member, role in ((club.bob, ROLE_INVITING_MEMBER), (club.carol, ROLE_MEMBER)):
        request = CredentialRequest(member.public_key, (role,), valid_until=MEMBERS_END)
        peers["alice"].issue_credentials(handle, member.name, request, PeerGroupIssueCredentialFlags.PEER_GROUP_STORE_CREDENTIALS)
    peers["nina"].join(identities["nina"], peers["alice"].create_invitation(handle, peers["nina"].identity_xml(identities["nina"])))
    assert not club.state("nina").founded
    assert deliver(club, "alice", next_envelope(club, club.carol, RecordPublished(club.record))) == 1
    club.deep_chain = _chain_below_bob(club, MAX_CHAIN_LENGTH)
    taken = next_envelope(club, link(MAX_CHAIN_LENGTH), CredentialTaken(club.deep_chain), credential=club.deep_chain[-1].fingerprint)
    assert deliver(club, "alice", taken) == 1, "a chain of exactly the limit is taken up"
    return club


def _chain_below_bob(club: Club, length: int) -> tuple[Credential, ...]:
    """alice's credential, bob's, then inviting members of one key's making (as bob may
    issue) up to ``length`` links: a chain its last link can take up."""
    chain = [club.credential(club.alice), club.credential(club.bob)]
    signer = club.bob.key
    while len(chain) < length:
        chain.append(club.issue(signer, chain[-1], link(len(chain) + 1), (ROLE_INVITING_MEMBER,)))
        signer = LINK_KEY
    return tuple(chain)


def record(creator: Member, **changes: Any) -> Record:
    """A first version of a new record by ``creator``, valid as it stands, with ``changes``."""
    fields: dict[str, object] = {
        "id": UUID(bytes=uuid4().bytes[:8] + creator_tag(creator.name)), "type": KIND, "version": 1, "flags": 0,
        "creator": creator.name, "modified_by": creator.name, "attributes": "", "data": b"e4",
        "created": T0, "modified": T0, "expiration": T0 + DAY,
    }
    return Record(**{**fields, **changes})


# The forgers: each makes an honest envelope, and with a change, the attack ---------------------

Forge = Callable[[Club], Envelope]


def by_carol(payload: Callable[[Club], SharedEvent], **changes: Any) -> Forge:
    """carol's next envelope carrying ``payload``, its fields then changed by ``changes``
    and signed again by her."""
    return lambda club: signed(club.carol, attrs.evolve(next_envelope(club, club.carol, payload(club)), **changes))


def membership(club: Club) -> SharedEvent:
    return MembershipPublished("Carol")


def carols_record(**changes: Any) -> Callable[[Club], SharedEvent]:
    return lambda club: RecordPublished(record(club.carol, **changes))


def later_version(**changes: Callable[[Club], object] | object) -> Callable[[Club], SharedEvent]:
    """A second version of a new record of carol's, modified an hour after it was made,
    with ``changes`` (a callable is given the club)."""
    return lambda club: RecordPublished(record(
        club.carol, version=2, modified=T0 + timedelta(hours=1),
        **{name: value(club) if callable(value) else value for name, value in changes.items()},
    ))


def carols_record_version_by(author: Callable[[Club], Member]) -> Forge:
    """``author`` deletes carol's record: a second version, modified an hour on."""
    def forge(club: Club) -> Envelope:
        deletion = attrs.evolve(
            club.record, version=2, flags=DELETED, data=b"", modified_by=author(club).name, modified=T0 + timedelta(hours=1),
        )
        return next_envelope(club, author(club), RecordPublished(deletion))
    return forge


def under_credential(author: Callable[[Club], Member], credential: Callable[[Club], bytes]) -> Forge:
    return lambda club: next_envelope(club, author(club), MembershipPublished("M"), credential=credential(club))


def founded_again(club: Club) -> Envelope:
    """alice sends her group's founding again, as her next envelope."""
    return next_envelope(club, club.alice, accepted(club.events("alice"))[0].payload)


def before_the_founding(club: Club) -> Envelope:
    return next_envelope(club, club.carol, MembershipPublished("Carol"), victim="nina")


def sequence_skipped(club: Club) -> Envelope:
    envelope = next_envelope(club, club.carol, MembershipPublished("Carol"))
    return signed(club.carol, attrs.evolve(envelope, seq=envelope.seq + 1))


def carol_citing(context: Callable[[Club], tuple[Seen, ...]], at: datetime = T0) -> Forge:
    """carol's next envelope, dated ``at``, citing ``context``."""
    def forge(club: Club) -> Envelope:
        envelope = next_envelope(club, club.carol, MembershipPublished("Carol"), at=at)
        return signed(club.carol, attrs.evolve(envelope, context=context(club)))
    return forge


def alices_head(club: Club, ahead: int = 0) -> Seen:
    """alice's chain as far as alice's replica holds it, and ``ahead`` places past."""
    return Seen(club.alice.name, club.state().heads[club.alice.name].seq + ahead)


def dated_before_the_one_before(club: Club) -> Envelope:
    """carol writes an envelope citing her context a minute on, then her next one dated
    before it."""
    cited = (alices_head(club),)
    first = signed(club.carol, attrs.evolve(next_envelope(club, club.carol, MembershipPublished("Carol"), at=T0 + MINUTE), context=cited))
    assert deliver(club, "alice", first) == 1
    return signed(club.carol, attrs.evolve(next_envelope(club, club.carol, MembershipPublished("Carol"), at=T0), context=cited))


def signed_by_mallory(club: Club) -> Envelope:
    return signed(club.mallory, next_envelope(club, club.carol, MembershipPublished("Carol")))


def altered_after_signing(club: Club) -> Envelope:
    return attrs.evolve(next_envelope(club, club.carol, MembershipPublished("Carol")), payload=MembershipPublished("Mallory"))


# Founding envelopes, judged by nina's replica


def founding(
    root: Callable[[Club], tuple[bytes, crypto.PrivateKey]] | None = None,
    certifier: Callable[[Club], crypto.PrivateKey] | None = None,
    change: Callable[[Club, GroupCreated], GroupCreated] = lambda club, created: created,
) -> Forge:
    """mallory founds the club's group, as its creator and administrator: under ``root``
    (a root certificate and the key whose public half the founding names; by default a
    root of her own key, for the club's group), her credential signed by ``certifier``
    (the root's key by default), the founding then changed by ``change``."""
    def forge(club: Club) -> Envelope:
        root_der, root_key = root(club) if root else (credentials.make_group_root(MALLORYS_ROOT, club.group, T0), MALLORYS_ROOT)
        properties = attrs.evolve(club.properties(), creator_peer_name=club.mallory.name)
        creator = club.issue(
            certifier(club) if certifier else root_key, None, club.mallory, (ROLE_ADMIN,),
            issuer_der=root_der, not_after=T0 + 1000 * 365 * DAY,
        )
        created = change(club, GroupCreated(properties, root_der, crypto.public_key_der(root_key), creator))
        return next_envelope(club, club.mallory, created, victim="nina", credential=created.creator.fingerprint)
    return forge


def the_groups_root(club: Club) -> tuple[bytes, crypto.PrivateKey]:
    return club.root(), club.root_key


def root_for_another_group(club: Club) -> tuple[bytes, crypto.PrivateKey]:
    """The group's own root key certifying itself for another group: only alice could."""
    return credentials.make_group_root(club.root_key, f"{club.group.partition('.')[0]}.other", T0), club.root_key


def founding_creator(**changes: Any) -> Callable[[Club, GroupCreated], GroupCreated]:
    return lambda club, created: attrs.evolve(created, creator=attrs.evolve(created.creator, **changes))


def founding_properties(**changes: Callable[[Club], Any]) -> Callable[[Club, GroupCreated], GroupCreated]:
    return lambda club, created: attrs.evolve(
        created, properties=attrs.evolve(created.properties, **{name: value(club) for name, value in changes.items()}),
    )


def the_real_founding(club: Club) -> Envelope:
    return accepted(club.events("alice"))[0]


# Properties


def another(value: Any) -> Any:
    """Another value of a property's type."""
    return value + 1 if isinstance(value, int) else f"{value}x"


def properties_changed(author: Callable[[Club], Member], field: str, change: Callable[[Any], Any] = another) -> Forge:
    """``author`` changes the group property ``field`` as ``change`` says."""
    def forge(club: Club) -> Envelope:
        properties = club.properties()
        changed: dict[str, Any] = {field: change(getattr(properties, field))}
        return next_envelope(club, author(club), PropertiesChanged(attrs.evolve(properties, **changed)))
    return forge


# Credentials issued: by bob, an inviting member, to mallory unless said


def issued_by_bob(
    subject: Callable[[Club], Member] = lambda club: club.mallory, roles: tuple[UUID, ...] = (ROLE_MEMBER,),
    fields: Callable[[Club, Credential], Credential] = lambda club, issued: issued,
    signer: Callable[[Club], crypto.PrivateKey] = lambda club: club.bob.key, not_before: datetime = T0,
    not_after: datetime = MEMBERS_END,
) -> Forge:
    """bob's ``CredentialIssued`` for ``subject``, its certificate signed by ``signer`` with
    ``roles`` from ``not_before`` to ``not_after``, its fields then changed by ``fields``."""
    def forge(club: Club) -> Envelope:
        issued = club.issue(
            signer(club), club.credential(club.bob), subject(club), roles, not_before=not_before, not_after=not_after,
        )
        return next_envelope(club, club.bob, CredentialIssued(fields(club, issued), "stored"))
    return forge


def issued_past_the_limit(club: Club) -> Envelope:
    issued = club.issue(LINK_KEY, club.deep_chain[-1], club.mallory)
    return next_envelope(club, link(MAX_CHAIN_LENGTH), CredentialIssued(issued, "stored"))


# Credentials taken up: by mallory, a chain ending in a credential of hers, unless said


def taken_by_mallory(chain: Callable[[Club], tuple[Credential, ...]]) -> Forge:
    def forge(club: Club) -> Envelope:
        links = chain(club)
        return next_envelope(club, club.mallory, CredentialTaken(links), credential=links[-1].fingerprint)
    return forge


def through_bob(
    signer: Callable[[Club], crypto.PrivateKey] = lambda club: club.bob.key, roles: tuple[UUID, ...] = (ROLE_MEMBER,),
    last: Callable[[Club, Credential], Credential] = lambda club, credential: credential, not_before: datetime = T0,
    not_after: datetime = MEMBERS_END,
) -> Callable[[Club], tuple[Credential, ...]]:
    """alice's credential, bob's, and mallory's from bob (its certificate signed by
    ``signer`` with ``roles`` from ``not_before`` to ``not_after``, its fields then changed
    by ``last``)."""
    def chain(club: Club) -> tuple[Credential, ...]:
        bob = club.credential(club.bob)
        mallory = club.issue(signer(club), bob, club.mallory, roles, not_before=not_before, not_after=not_after)
        return (club.credential(club.alice), bob, last(club, mallory))
    return chain


def bob_left_out(club: Club) -> tuple[Credential, ...]:
    """A link missing: alice's credential, then mallory's from bob."""
    return (club.credential(club.alice), through_bob()(club)[-1])


def through_carol(club: Club) -> tuple[Credential, ...]:
    carol = club.credential(club.carol)
    return (club.credential(club.alice), carol, club.issue(club.carol.key, carol, club.mallory))


def chain_of_25(club: Club) -> Envelope:
    chain = (*club.deep_chain, club.issue(LINK_KEY, club.deep_chain[-1], link(MAX_CHAIN_LENGTH + 1), (ROLE_INVITING_MEMBER,)))
    return next_envelope(club, link(MAX_CHAIN_LENGTH + 1), CredentialTaken(chain), credential=chain[-1].fingerprint)


def bob_invited_by_whom_he_invited(club: Club) -> Envelope:
    """A invites B, then B invites A: bob takes up a credential from mallory, whom he made
    an inviting member."""
    *head, mallory = through_bob(roles=(ROLE_INVITING_MEMBER,))(club)
    chain = (*head, mallory, club.issue(club.mallory.key, mallory, club.bob))
    return next_envelope(club, club.bob, CredentialTaken(chain), credential=chain[-1].fingerprint)


def someone_elses_chain(club: Club) -> Envelope:
    """carol, under her own credential, takes up bob's chain."""
    return next_envelope(club, club.carol, CredentialTaken((club.credential(club.alice), club.credential(club.bob))))


# Identities retired: carol tells the group that bob was deleted, unless said


def bob_retired(
    author: Callable[[Club], Member] = lambda club: club.carol,
    public_key: Callable[[Club], bytes] = lambda club: club.bob.public_key,
    signer: Callable[[Club], Member] = lambda club: club.bob,
    group: Callable[[Club], str] = lambda club: club.group,
) -> Forge:
    """bob's deletion, told by ``author``: ``public_key`` as bob's, and the statement for
    ``group`` signed by ``signer``."""
    def forge(club: Club) -> Envelope:
        statement = credentials.sign(signer(club).key, admission.retirement_statement(group(club), club.bob.name))
        return next_envelope(club, author(club), IdentityRetired(club.bob.name, public_key(club), statement))
    return forge


# The attacks ---------------------------------------------------------------------------------


@attrs.frozen
class Attack:
    """An envelope to forge, the victim it is sent to, and the refusal it must meet."""

    forge: Forge
    rule: str
    error: str
    victim: Victim = "alice"
    waits: bool = False
    """Whether the envelope waits for data to come rather than being refused (``cutting.waits``)."""


ATTACKS: dict[str, Attack] = {
    # what every envelope meets, in admission's order
    "an envelope for another group": Attack(
        by_carol(membership, group=f"{'0' * 40}.other"), "envelope_is_for_group", "PEER_E_INVALID_RECORD",
    ),
    "the group founded a second time": Attack(founded_again, "genesis_comes_first", "PEER_E_INVALID_RECORD"),
    "an envelope before the group's founding": Attack(
        before_the_founding, "genesis_comes_first", "PEER_E_INVALID_RECORD", "nina", waits=True,
    ),
    "under a credential the group never gave": Attack(
        under_credential(lambda club: club.mallory, lambda club: bytes(32)), "author_holds_credential", "PEER_E_NOT_AUTHORIZED",
        waits=True,
    ),
    "under another member's credential": Attack(
        under_credential(lambda club: club.carol, lambda club: club.credential(club.bob).fingerprint),
        "author_holds_credential", "PEER_E_NOT_AUTHORIZED",
    ),
    "a founding under a credential it does not carry": Attack(
        lambda club: signed(club.mallory, attrs.evolve(founding()(club), credential=bytes(32))),
        "author_holds_credential", "PEER_E_NOT_AUTHORIZED", "nina",
    ),
    "another member's chain taken up as one's own": Attack(
        taken_by_mallory(lambda club: (club.credential(club.alice), club.credential(club.carol))),
        "author_holds_credential", "PEER_E_NOT_AUTHORIZED",
    ),
    "written before its author's credential began": Attack(
        by_carol(membership, at=T0 - timedelta(seconds=1)), "author_holds_credential", "PEER_E_INVALID_TIME_PERIOD",
    ),
    "written after its author's credential ended": Attack(
        by_carol(membership, at=MEMBERS_END + timedelta(microseconds=1)), "author_holds_credential", "PEER_E_INVALID_TIME_PERIOD",
    ),
    "a sequence number skipped": Attack(sequence_skipped, "author_chain_continues", "PEER_E_INVALID_RECORD", waits=True),
    "a fork: the next number after another envelope": Attack(
        by_carol(membership, prev=bytes(32)), "author_chain_continues", "PEER_E_INVALID_RECORD",
    ),
    "a context citing its author's own chain": Attack(
        carol_citing(lambda club: (alices_head(club), Seen(club.carol.name, 1))), "context_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a context citing one chain twice": Attack(
        carol_citing(lambda club: (alices_head(club), alices_head(club))), "context_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a context out of author order": Attack(
        carol_citing(lambda club: tuple(sorted((Seen(club.bob.name, 1), alices_head(club)), key=lambda seen: seen.author, reverse=True))),
        "context_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a context citing a place not seen yet": Attack(
        carol_citing(lambda club: (alices_head(club, ahead=1),)), "context_is_here", "PEER_E_INVALID_RECORD", waits=True,
    ),
    "dated before the envelope before it in its chain": Attack(
        dated_before_the_one_before, "envelope_time_follows_context", "PEER_E_INVALID_TIME_PERIOD",
    ),
    "signed with another key than its credential's": Attack(signed_by_mallory, "signature_verifies", "PEER_E_INVALID_RECORD"),
    "altered after it was signed": Attack(altered_after_signing, "signature_verifies", "PEER_E_INVALID_RECORD"),
    # founding envelopes
    "a founding whose creator is not its author": Attack(
        founding(change=founding_properties(creator_peer_name=lambda club: club.alice.name)),
        "genesis_names_its_creator", "PEER_E_INVALID_RECORD", "nina",
    ),
    "a founding whose creator a credential issued, not the root": Attack(
        founding(change=founding_creator(issuer=bytes(32))), "genesis_names_its_creator", "PEER_E_INVALID_RECORD", "nina",
    ),
    "a founding whose creator claims a longer chain": Attack(
        founding(change=founding_creator(chain_length=2)), "genesis_names_its_creator", "PEER_E_INVALID_RECORD", "nina",
    ),
    "a founding whose creator is no administrator": Attack(
        founding(change=founding_creator(roles=(ROLE_MEMBER,))), "genesis_names_its_creator", "PEER_E_INVALID_RECORD", "nina",
    ),
    "a founding whose properties name another group": Attack(
        founding(change=founding_properties(group_peer_name=lambda club: f"{club.group}x")),
        "genesis_names_its_creator", "PEER_E_INVALID_RECORD", "nina",
    ),
    "a founding whose root key does not hash to the group's name": Attack(
        founding(), "root_is_the_groups", "PEER_E_INVALID_CREDENTIAL", "nina",
    ),
    "a founding whose root, of the group's key, is another group's": Attack(
        founding(root_for_another_group), "root_is_the_groups", "PEER_E_INVALID_CREDENTIAL", "nina",
    ),
    "a founding whose root certificate does not parse": Attack(
        founding(change=lambda club, created: attrs.evolve(created, root=b"not a certificate")),
        "root_is_the_groups", "PEER_E_INVALID_CREDENTIAL", "nina",
    ),
    "a founding whose creator the group's root never certified": Attack(
        founding(the_groups_root, certifier=lambda club: club.mallory.key),
        "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL", "nina",
    ),
    # properties
    "a member changes the group's properties": Attack(
        properties_changed(lambda club: club.bob, "friendly_name"), "caller_is_creator", "PEER_E_NOT_AUTHORIZED",
    ),
    **{
        f"the creator changes the fixed {field}": Attack(
            properties_changed(lambda club: club.alice, field), "fixed_properties_unchanged", "PEER_E_INVALID_GROUP_PROPERTIES",
        )
        for field in FIXED_PROPERTIES
    },
    # credentials issued
    "a credential naming another issuer": Attack(
        issued_by_bob(fields=lambda club, issued: attrs.evolve(issued, issuer=club.credential(club.alice).fingerprint)),
        "credential_within_issuer", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a credential claiming a shorter chain than it has": Attack(
        issued_by_bob(fields=lambda club, issued: attrs.evolve(issued, chain_length=1)),
        "credential_within_issuer", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a credential issued past the chain of 24": Attack(issued_past_the_limit, "chain_has_room", "PEER_E_CHAIN_TOO_LONG"),
    "an inviting member makes an administrator": Attack(issued_by_bob(roles=(ROLE_ADMIN,)), "may_grant_roles", "PEER_E_NOT_AUTHORIZED"),
    "a credential for someone in its issuer's chain": Attack(
        issued_by_bob(subject=lambda club: club.alice), "chain_not_circular", "PEER_E_CIRCULAR_CHAIN_DETECTED",
    ),
    "a credential outliving its issuer's": Attack(
        issued_by_bob(not_after=MEMBERS_END + DAY), "credential_within_issuer", "PEER_E_INVALID_TIME_PERIOD",
    ),
    "a credential starting before its issuer's": Attack(
        issued_by_bob(not_before=T0 - DAY), "credential_within_issuer", "PEER_E_INVALID_TIME_PERIOD",
    ),
    "a credential whose roles differ from its signed certificate": Attack(
        issued_by_bob(roles=(ROLE_INVITING_MEMBER,), fields=lambda club, issued: attrs.evolve(issued, roles=(ROLE_MEMBER,))),
        "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a credential whose dates differ from its signed certificate": Attack(
        issued_by_bob(fields=lambda club, issued: attrs.evolve(issued, not_after=issued.not_after - DAY)),
        "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL",
    ),
    "an issuer certifying another identity's name with its own key": Attack(
        issued_by_bob(subject=lambda club: Member(club.carol.name, club.bob.key)),
        "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a credential its issuer never signed": Attack(
        issued_by_bob(signer=lambda club: club.mallory.key), "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a credential that does not parse": Attack(
        issued_by_bob(fields=lambda club, issued: attrs.evolve(issued, der=b"not a certificate")),
        "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL",
    ),
    # credentials taken up
    "an empty chain taken up": Attack(
        lambda club: next_envelope(club, club.carol, CredentialTaken(())), "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a chain of 25 taken up": Attack(chain_of_25, "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL"),
    "someone else's chain taken up under one's own credential": Attack(
        someone_elses_chain, "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a circular chain taken up": Attack(bob_invited_by_whom_he_invited, "taken_chain_is_whole", "PEER_E_CIRCULAR_CHAIN_DETECTED"),
    "a chain shorter than it claims taken up: a link left out": Attack(
        taken_by_mallory(bob_left_out), "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a chain taken up whose last link claims a longer chain": Attack(
        taken_by_mallory(through_bob(last=lambda club, link: attrs.evolve(link, chain_length=4))),
        "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a chain taken up whose last link names another issuer": Attack(
        taken_by_mallory(through_bob(last=lambda club, link: attrs.evolve(link, issuer=club.credential(club.alice).fingerprint))),
        "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a chain taken up through a member, who may issue nothing": Attack(
        taken_by_mallory(through_carol), "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a chain taken up whose last link outlives its issuer's": Attack(
        taken_by_mallory(through_bob(not_after=MEMBERS_END + DAY)), "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a chain taken up whose last link starts before its issuer's": Attack(
        taken_by_mallory(through_bob(not_before=T0 - DAY)), "taken_chain_is_whole", "PEER_E_INVALID_CREDENTIAL",
    ),
    "a chain taken up whose last link its issuer never signed": Attack(
        taken_by_mallory(through_bob(signer=lambda club: club.mallory.key)),
        "credential_matches_certificate", "PEER_E_INVALID_CREDENTIAL",
    ),
    # records: carol's
    "a record of a reserved type": Attack(
        by_carol(carols_record(type=min(RESERVED_RECORD_TYPES))), "record_type_not_reserved", "PEER_E_NOT_AUTHORIZED",
    ),
    "a record whose modified_by is not its author": Attack(
        by_carol(later_version(modified_by=lambda club: club.bob.name)), "record_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a record id not bound to its creator": Attack(
        by_carol(carols_record(id=UUID(int=1))), "record_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a record of version 0": Attack(by_carol(carols_record(version=0)), "record_is_well_formed", "PEER_E_INVALID_RECORD"),
    "a record with a flag no record has": Attack(by_carol(carols_record(flags=4)), "record_is_well_formed", "PEER_E_INVALID_RECORD"),
    "a first version by another than its creator": Attack(
        by_carol(lambda club: RecordPublished(record(club.bob, modified_by=club.carol.name))),
        "record_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a first version modified after it was made": Attack(
        by_carol(carols_record(modified=T0 + timedelta(seconds=1))), "record_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a deletion that carries data": Attack(by_carol(later_version(flags=DELETED)), "record_is_well_formed", "PEER_E_INVALID_RECORD"),
    "a record modified before it was made": Attack(
        by_carol(later_version(created=T0 + timedelta(hours=2))), "record_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a record expiring when it is modified": Attack(
        by_carol(carols_record(expiration=T0)), "record_is_well_formed", "PEER_E_INVALID_RECORD",
    ),
    "a record over the size limit, its data and attributes each within their bounds": Attack(
        by_carol(carols_record(data=bytes(MAX_RECORD_SIZE - 10), attributes="<a></a>")), "record_fits", "PEER_E_MAX_RECORD_SIZE_EXCEEDED",
    ),
    "someone else's record deleted by a member": Attack(
        carols_record_version_by(lambda club: club.bob), "modifier_may_touch", "PEER_E_NOT_AUTHORIZED",
    ),
    "a record outliving its author's credential": Attack(
        by_carol(carols_record(expiration=MEMBERS_END + timedelta(seconds=1))),
        "record_within_credential", "PEER_E_INVALID_RECORD_EXPIRATION",
    ),
    "a record made before its author's credential began": Attack(
        by_carol(carols_record(created=T0 - timedelta(hours=1), modified=T0 - timedelta(hours=1))),
        "record_within_credential", "PEER_E_INVALID_RECORD_EXPIRATION",
    ),
    "a record whose attributes are not the schema's": Attack(
        by_carol(carols_record(attributes="<attributes><attribute/></attributes>")),
        "attributes_are_well_formed", "PEER_E_INVALID_ATTRIBUTES",
    ),
    # identities retired
    "someone else's deletion announced with one's own key": Attack(
        bob_retired(public_key=lambda club: club.carol.public_key, signer=lambda club: club.carol),
        "retirement_is_signed_by_identity", "PEER_E_INVALID_RECORD",
    ),
    "someone else's deletion announced with their key, signed with one's own": Attack(
        bob_retired(signer=lambda club: club.carol), "retirement_is_signed_by_identity", "PEER_E_INVALID_RECORD",
    ),
    "a deletion replayed from another group": Attack(
        bob_retired(group=lambda club: f"{club.group}x"), "retirement_is_signed_by_identity", "PEER_E_INVALID_RECORD",
    ),
}


def refused_as_said(club: Club, attack: Attack) -> None:
    """The attack's envelope is refused by its rule with its HRESULT, or waits when its rule
    waits for data to come (held by that rule, not refused nor known), and changes nothing."""
    envelope = attack.forge(club)
    if attack.waits:
        held = holding(club, attack.victim, envelope)
        assert (held.rule, held.envelope) == (attack.rule, envelope)
        with pytest.raises(admission.Refused) as waiting:
            admission.admit(club.state(attack.victim), envelope)
        assert waiting.value.error.name == attack.error
        return
    refused = refusal(club, attack.victim, envelope)
    assert (refused.rule, refused.error, refused.envelope) == (attack.rule, attack.error, envelope)


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_the_attack_is_refused_by_its_rule_and_changes_nothing(club: Club, attack: Attack) -> None:
    refused_as_said(club, attack)


CALLS_CHECKS: dict[str, Attack] = {
    "the creator sets a flag no header defines": Attack(
        properties_changed(lambda club: club.alice, "flags", lambda flags: flags | 0x80),
        "properties_in_range", "PEER_E_INVALID_GROUP_PROPERTIES",
    ),
    "the creator takes the password of a password group away": Attack(
        properties_changed(lambda club: club.alice, "password", lambda password: None),
        "password_settings_complete", "PEER_E_INVALID_GROUP_PROPERTIES",
    ),
    "the creator keeps the password by neither scheme, which an HMAC keyed by nothing would check": Attack(
        properties_changed(
            lambda club: club.alice, "password",
            lambda password: attrs.evolve(password, verifier=b"", pake_salt=None, pake_verifier=None),
        ),
        "verifier_is_one_scheme", "PEER_E_INVALID_GROUP_PROPERTIES",
    ),
    "the creator keeps the password by both schemes, a value a joiner could prove with beside the SRP verifier": Attack(
        properties_changed(lambda club: club.alice, "password", lambda password: attrs.evolve(password, verifier=b"stretched")),
        "verifier_is_one_scheme", "PEER_E_INVALID_GROUP_PROPERTIES",
    ),
    "a founding by the root's holder with a flag no header defines": Attack(
        founding(the_groups_root, change=founding_properties(flags=lambda club: 0x80)),
        "properties_in_range", "PEER_E_INVALID_GROUP_PROPERTIES", "nina",
    ),
}
"""Checks the calls make of the properties they write, which a crafted envelope escaped
until admission made them too (``rules.properties_are_valid``)."""


@pytest.mark.parametrize("attack", CALLS_CHECKS.values(), ids=CALLS_CHECKS.keys())
def test_a_check_the_calls_make_is_kept_against_a_crafted_envelope(attack: Attack) -> None:
    """On a club of its own, made with password authentication: an envelope accepted where
    it should not be changes the club."""
    refused_as_said(_club(authentication_schemes=2, password=PASSWORD, password_role=ROLE_MEMBER), attack)


HONEST: dict[str, tuple[Forge, Victim]] = {
    "carol's membership": (by_carol(membership), "alice"),
    "carol's membership at the last instant of her credential": (by_carol(membership, at=MEMBERS_END), "alice"),
    "the group's own founding": (the_real_founding, "nina"),
    "the creator renames the group": (properties_changed(lambda club: club.alice, "friendly_name"), "alice"),
    "a credential from bob for exactly his own lifetime": (issued_by_bob(), "alice"),
    "an administrator's credential from alice": (
        lambda club: next_envelope(club, club.alice, CredentialIssued(
            club.issue(club.alice.key, club.credential(club.alice), club.mallory, (ROLE_ADMIN,)), "stored",
        )),
        "alice",
    ),
    "a chain taken up whose last link runs exactly as its issuer's": (taken_by_mallory(through_bob()), "alice"),
    "carol's record": (by_carol(carols_record()), "alice"),
    "a second version of a record": (by_carol(later_version()), "alice"),
    "a deletion by an administrator of someone else's record": (carols_record_version_by(lambda club: club.alice), "alice"),
    "a record of exactly the size limit": (by_carol(carols_record(data=bytes(MAX_RECORD_SIZE))), "alice"),
    "a record expiring as its author's credential ends": (by_carol(carols_record(expiration=MEMBERS_END)), "alice"),
    "a record with attributes": (
        by_carol(carols_record(attributes='<attributes><attribute name="opening" type="string">e4</attribute></attributes>')),
        "alice",
    ),
    "bob tells of his own deletion": (bob_retired(author=lambda club: club.bob), "alice"),
}


@pytest.mark.parametrize(("forge", "victim"), HONEST.values(), ids=HONEST.keys())
def test_the_honest_envelope_beside_the_attacks_is_admitted(club: Club, forge: Forge, victim: Victim) -> None:
    admission.admit(club.state(victim), forge(club))


# Before a joiner's password is even checked -------------------------------------------------


def test_ten_wrong_passwords_turn_away_a_new_guess_from_an_address_that_guessed() -> None:
    """The group-wide limit on wrong passwords (``password_guess_allowed``): four joiners,
    each from an address of its own, guess wrong ten times in all, none past its own three
    free guesses. A new identity guessing from one of those addresses is turned away
    unchecked until the group's wait is over (a second, from the tenth), and makes alice
    write nothing at all; bob, with the right password from an address that never guessed,
    is checked at once and let in: a guesser cannot spend the group's budget to keep him
    out."""
    now = [T0]
    alice = Peer(open_store(None), clock=lambda: now[0], settings=PeerSettings(address="alice"))
    handle = alice.create_group(
        alice.create_identity("alice"), "club", authentication_schemes=2, password=PASSWORD, password_role=ROLE_MEMBER,
    )
    alice.connect(handle)
    key = (alice.identities()[0].peer_name, alice.group_properties(handle).group_peer_name)
    invitation = alice.create_password_invitation(handle)
    joiners_key = crypto.generate_identity_key()

    def joiner(who: str, password: str, address: str | None = None) -> tuple[Peer, str]:
        peer = Peer(open_store(None), clock=lambda: now[0], settings=PeerSettings(address=address or who))
        name = peer.create_identity(who, key=joiners_key)
        peer.connect(peer.password_join(name, invitation, password).handle)
        return peer, name

    for who, guesses in (("m1", 3), ("m2", 3), ("m3", 3), ("m4", 1)):
        guesser, _ = joiner(who, "wrong guess")
        for _ in range(guesses):
            network.synchronize({"alice": alice, who: guesser})
    replica = sync_port(alice).sync_replica(key).state
    counted = alice._runtime.store.wrong_passwords(*key)
    assert counted is not None and counted.group.count == 10
    assert all(guesser.guesses.count <= 3 for guesser in counted.joiners)
    assert {guesser.name for guesser in counted.addresses} == {"m1", "m2", "m3", "m4"}
    again, again_name = joiner("m5", PASSWORD, address="m4")
    events = alice._runtime.store.replica_events(*key)
    before = views.group_digest(replica.group), accepted(events)

    network.synchronize({"alice": alice, "m5": again})

    assert alice._runtime.store.replica_events(*key) == events, "a joiner turned away before any proof writes nothing"
    assert alice._runtime.store.wrong_passwords(*key) == counted, "nor counts a guess"
    assert (views.group_digest(sync_port(alice).sync_replica(key).state.group), accepted(events)) == before
    assert not sync_port(again).sync_replica((again_name, key[1])).state.synchronized

    bob, bob_name = joiner("bob", PASSWORD)
    network.synchronize({"alice": alice, "bob": bob})
    assert sync_port(bob).sync_replica((bob_name, key[1])).state.synchronized
    now[0] += timedelta(seconds=1)
    network.synchronize({"alice": alice, "m5": again})
    assert sync_port(again).sync_replica((again_name, key[1])).state.synchronized
