"""Member data, on plain values: whose an envelope publishes, how the fold keeps the latest
publication, when it lapses, who is listed, and when a member online publishes it again."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from uuid import UUID

import attrs
import pytest

from peerstate.constants import PeerGroupPropertyFlags
from peerstate.domain.group_events import (
    Credential,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    GroupCreated,
    GroupProperties,
    IdentityRetired,
    MembershipPublished,
    PresencePublished,
    PropertiesChanged,
    Record,
    RecordPublished,
    SharedEvent,
)
from peerstate.domain.group_state import GroupState, apply_envelope, member_data_due, member_data_published_by
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
GROUP = "g" * 40 + ".club"
EIGHT_HOURS = 8 * 3600
OPTIONAL = int(PeerGroupPropertyFlags.PEER_MEMBER_DATA_OPTIONAL)


def _credential(subject: str, roles: tuple[object, ...], issuer: Credential | None, end: datetime) -> Credential:
    return Credential(
        subject.encode(), b"der", subject, subject, b"key", roles,  # type: ignore[arg-type]
        T0, end, issuer.fingerprint if issuer else None, issuer.chain_length + 1 if issuer else 1,
    )


ALICE = _credential("a.alice", (ROLE_ADMIN,), None, T0 + 1000 * 24 * HOUR)
CAROL = _credential("c.carol", (ROLE_INVITING_MEMBER,), ALICE, T0 + 48 * HOUR)
BOB = _credential("b.bob", (ROLE_MEMBER,), CAROL, T0 + 24 * HOUR)
DAVE = _credential("d.dave", (ROLE_MEMBER,), ALICE, T0 + 24 * HOUR)


def _properties(lifetime: int = EIGHT_HOURS, flags: int = 0) -> GroupProperties:
    return GroupProperties(GROUP, "a.alice", "Global_", "club", "Club", "", flags, lifetime, 300, 1, None, None)


def _envelope(author: str, payload: SharedEvent, at: datetime = T0, seq: int = 1) -> Envelope:
    return Envelope(GROUP, author, author.encode(), seq, b"", at, payload, b"")


CREATED = _envelope("a.alice", GroupCreated(_properties(), b"root", b"rk", ALICE))


def _group(*envelopes: Envelope, lifetime: int = EIGHT_HOURS, flags: int = 0) -> GroupState:
    created = attrs.evolve(CREATED, payload=GroupCreated(_properties(lifetime, flags), b"root", b"rk", ALICE))
    state = apply_envelope(GroupState(GROUP), created, b"0")
    for index, envelope in enumerate(envelopes, start=1):
        state = apply_envelope(state, envelope, bytes([index]))
    return state


RECORD = Record(UUID(int=1), UUID(int=2), 1, 0, "b.bob", "b.bob", "", b"", T0, T0, T0 + HOUR)


@pytest.mark.parametrize(("payload", "whose"), [
    (GroupCreated(_properties(), b"root", b"rk", ALICE), ("b.bob",)),
    (PropertiesChanged(_properties()), ("b.bob",)),
    (RecordPublished(RECORD), ("b.bob",)),
    (MembershipPublished("Bob"), ("b.bob",)),
    (CredentialIssued(DAVE, "invitation"), ("b.bob",)),
    (CredentialIssued(DAVE, "returned"), ("b.bob",)),
    (CredentialIssued(DAVE, "password"), ("b.bob",)),
    (CredentialIssued(DAVE, "stored"), ("b.bob", "d.dave")),
    (CredentialTaken((CAROL, BOB)), ()),
    (PresencePublished("bob", T0 + HOUR), ()),
    (IdentityRetired("d.dave", b"key", b"statement"), ()),
])
def test_an_envelope_publishes_its_authors_member_data_when_it_acts_and_a_stored_credential_its_subjects(
    payload: SharedEvent, whose: tuple[str, ...],
) -> None:
    assert member_data_published_by(_envelope("b.bob", payload)) == whose


def test_the_fold_keeps_each_identitys_latest_publication_whatever_the_order() -> None:
    issued = (
        _envelope("a.alice", CredentialIssued(CAROL, "invitation"), seq=2),
        _envelope("c.carol", CredentialTaken((CAROL,))),
        _envelope("a.alice", CredentialIssued(BOB, "invitation"), seq=3),
        _envelope("b.bob", CredentialTaken((CAROL, BOB))),
    )
    later = [
        _envelope("b.bob", MembershipPublished("Bob"), T0 + 2 * HOUR, seq=2),
        _envelope("c.carol", CredentialIssued(DAVE, "stored"), T0 + 3 * HOUR, seq=2),
        _envelope("b.bob", PresencePublished("bob", T0 + 9 * HOUR), T0 + 4 * HOUR, seq=3),
        _envelope("a.alice", PropertiesChanged(_properties()), T0 + HOUR, seq=4),
    ]
    chains = [later[0], later[2]], [later[1]], [later[3]]  # each author's own order kept
    folded = {
        _group(*issued, *(envelope for index in order for envelope in chains[index])).member_data
        for order in itertools.permutations(range(3))
    }
    assert len(folded) == 1
    assert dict(folded.pop()) == {"a.alice": T0 + HOUR, "b.bob": T0 + 2 * HOUR, "c.carol": T0 + 3 * HOUR, "d.dave": T0 + 3 * HOUR}


def test_member_data_lapses_after_the_lifetime_or_with_a_lifetime_of_0_with_the_issuers_credential() -> None:
    """After the group's lifetime, or with a lifetime of 0 the issuer's remaining lifetime
    (reference §3.1); never after the member's own credential ends (issue 29: what a member
    publishes does not outlive its credential, and a credential never outlives its issuer's)."""
    envelopes = (_envelope("c.carol", CredentialIssued(CAROL, "stored")), _envelope("c.carol", CredentialIssued(BOB, "stored"), seq=2))
    timed = _group(*envelopes)
    assert timed.member_data_lapses("b.bob", BOB) == min(T0 + 8 * HOUR, BOB.not_after)
    assert timed.member_data_lapses("b.bob", attrs.evolve(BOB, not_after=T0 + HOUR)) == T0 + HOUR
    assert timed.member_data_lapses("e.erin", None) is None
    issuers = _group(*envelopes, lifetime=0)
    assert issuers.member_data_lapses("b.bob", BOB) == min(CAROL.not_after, BOB.not_after)  # carol issued bob's
    assert issuers.member_data_lapses("a.alice", ALICE) == ALICE.not_after  # the root issued alice's, for its own lifetime


def test_the_listed_members_are_those_whose_member_data_has_not_lapsed_less_the_retired() -> None:
    group = _group(
        _envelope("c.carol", CredentialIssued(CAROL, "stored")),
        _envelope("a.alice", CredentialIssued(DAVE, "stored"), T0 + 4 * HOUR, seq=2),
        _envelope("c.carol", CredentialIssued(BOB, "invitation"), seq=2),
    )
    assert group.listed(T0 + HOUR) == {"a.alice", "c.carol", "d.dave"}  # bob's credential was only given him
    assert group.listed(T0 + 9 * HOUR) == {"a.alice", "d.dave"}  # alice's issuing dave's credential was an act, at 4 hours
    assert [group.lists(name, T0 + 9 * HOUR) for name in ("c.carol", "d.dave", "b.bob")] == [False, True, False]
    retired = apply_envelope(group, _envelope("c.carol", IdentityRetired("d.dave", b"key", b"statement"), seq=3), b"r")
    assert retired.listed(T0 + 9 * HOUR) == {"a.alice"} and not retired.lists("d.dave", T0 + 9 * HOUR)


def test_a_member_online_publishes_its_member_data_again_before_it_lapses_and_after_unless_it_is_optional() -> None:
    group = _group(_envelope("a.alice", CredentialIssued(DAVE, "stored"), seq=2))
    assert not member_data_due(group, "d.dave", T0 + 4 * HOUR)  # half of it left
    assert member_data_due(group, "d.dave", T0 + 4 * HOUR + timedelta(seconds=1))
    assert member_data_due(group, "d.dave", T0 + 9 * HOUR)  # lapsed: published again at connect
    assert not member_data_due(group, "d.dave", T0 + 25 * HOUR)  # dave's credential has expired: he publishes nothing
    assert not member_data_due(group, "e.erin", T0)  # no credential at all
    optional = _group(_envelope("a.alice", CredentialIssued(DAVE, "stored"), seq=2), flags=OPTIONAL)
    assert member_data_due(optional, "d.dave", T0 + 5 * HOUR)  # kept from lapsing while online
    assert not member_data_due(optional, "d.dave", T0 + 9 * HOUR)  # but once lapsed, only an act publishes it
    taken = _group(_envelope("a.alice", CredentialIssued(DAVE, "invitation"), seq=2), _envelope("d.dave", CredentialTaken((DAVE,))), flags=OPTIONAL)
    assert not member_data_due(taken, "d.dave", T0 + HOUR)  # taking the invitation up published none
