"""Authority a member cannot choose (issue 29): which of an identity's credentials is in
force follows what their deliveries had seen, never the times their authors chose.

The attacks, as a member with valid keys and a credential of the group played them before:
a one-day demotion expired and the old credential, of a thousand years, was in force again;
a credential taken up again, dated later, put a superseded credential back in force; an
envelope named a credential that its author knew was superseded, and was taken."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest

from peerstate import CredentialRequest, audit, history
from peerstate.constants import PeerGroupIssueCredentialFlags
from peerstate.domain.group_events import (
    ActionsVoided, Credential, CredentialIssued, CredentialTaken, Envelope, MembershipPublished, PresencePublished, RecordPublished, Seen,
)
from peerstate.domain.group_state import GroupState
from peerstate.domain.records import DELETED
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER
from peerstate.peer import sync_port
from peerstate.sync import admission
from peerstate.sync.port import Neighbor

from tests.conftest import T0
from tests.test_admission_attacks import MEMBERS_END, Club, Member, _club, accepted, deliver, next_envelope, refusal, signed
from tests.test_forks import digest, replica, sync, third

DAY = timedelta(days=1)
MINUTES = timedelta(minutes=5)
STORE = PeerGroupIssueCredentialFlags.PEER_GROUP_STORE_CREDENTIALS


@pytest.fixture
def club() -> Iterator[Club]:
    yield _club()


def alice_issues(club: Club, member: Member, role: object, until: object = MEMBERS_END) -> Credential:
    """alice (an administrator) re-issues ``member``'s credential with ``role``, stored in
    the log, through the call; the credential it delivered."""
    (handle,) = [handle for handle, _ in sync_port(club.peers["alice"]).sync_handles()]
    club.peers["alice"].issue_credentials(handle, member.name, CredentialRequest(member.public_key, (role,), valid_until=until), STORE)
    payload = accepted(club.events("alice"))[-1].payload
    assert isinstance(payload, CredentialIssued)
    return payload.credential


def citing(club: Club, author: Member, envelope: Envelope, *authors: Member) -> Envelope:
    """``envelope`` citing the chains of ``authors`` as far as alice's replica holds them,
    signed again by ``author``."""
    heads = club.state().heads
    context = tuple(sorted((Seen(other.name, heads[other.name].seq) for other in authors), key=lambda seen: seen.author))
    return signed(author, attrs.evolve(envelope, context=context))


def test_a_demotion_that_lapses_brings_back_no_credential(club: Club) -> None:
    """The attack: bob, an inviting member until the members' end, is demoted to member for
    a day. Before, once that day was over, his inviting credential was in force again. Now
    the demotion supersedes it for good: after the day, none is in force until a renewal."""
    demotion = alice_issues(club, club.bob, ROLE_MEMBER, until=T0 + DAY)
    state = club.state()
    assert state.credential_of(club.bob.name, T0 + DAY / 2) == demotion
    assert state.credential_of(club.bob.name, T0 + 2 * DAY) is None
    assert state.latest_credential(club.bob.name) == demotion
    renewal = alice_issues(club, club.bob, ROLE_INVITING_MEMBER)
    assert club.state().credential_of(club.bob.name, T0 + 2 * DAY) == renewal


def test_a_credential_taken_up_again_does_not_supersede_its_demotion(club: Club) -> None:
    """The attack: demoted, bob takes up his old inviting credential again, dated later than
    the demotion (as software written before contexts would, citing nothing). Before, the
    later delivery put it back in force, and a second demotion had no effect. Now a
    credential taken up again supersedes nothing it had not seen delivered before it: the
    demotion, which had seen the old one, stays in force. Citing the demotion, the same
    take is refused: it names a credential its own context superseded."""
    old = club.credential(club.bob)
    demotion = alice_issues(club, club.bob, ROLE_MEMBER)
    chain = (club.credential(club.alice), old)
    later = next_envelope(club, club.bob, CredentialTaken(chain), credential=old.fingerprint, at=T0 + MINUTES)
    refused = refusal(club, "alice", citing(club, club.bob, later, club.alice))
    assert (refused.rule, refused.error) == ("credential_in_force_in_context", "PEER_E_NOT_AUTHORIZED")
    assert deliver(club, "alice", later) == 1
    assert club.state().latest_credential(club.bob.name) == demotion
    second = alice_issues(club, club.bob, ROLE_MEMBER)
    assert club.state().latest_credential(club.bob.name) == second


def test_an_envelope_under_a_credential_its_context_superseded_is_refused(club: Club) -> None:
    """bob, demoted, writes under his old inviting credential, citing the demotion he had
    seen: refused (``credential_in_force_in_context``), and nothing changes."""
    old = club.credential(club.bob)
    alice_issues(club, club.bob, ROLE_MEMBER)
    envelope = citing(club, club.bob, next_envelope(club, club.bob, MembershipPublished("Bob"), credential=old.fingerprint), club.alice)
    refused = refusal(club, "alice", envelope)
    assert (refused.rule, refused.error) == ("credential_in_force_in_context", "PEER_E_NOT_AUTHORIZED")


def test_concurrent_credentials_resolve_to_the_lesser_role_until_one_sees_the_other(club: Club) -> None:
    """mallory and bob, inviting members alike, make carol an inviting member and a member at
    once, neither having seen the other's: the lesser role is in force, whichever came
    first. alice then issues her an inviting credential again, having seen both: that one
    is in force."""
    alice_issues(club, club.mallory, ROLE_INVITING_MEMBER)

    def issues(author: Member, role: object) -> tuple[Envelope, Credential]:
        issued = club.issue(author.key, club.credential(author), club.carol, (role,))  # type: ignore[arg-type]
        return citing(club, author, next_envelope(club, author, CredentialIssued(issued, "stored")), club.alice, club.carol), issued

    (by_mallory, _), (by_bob, bobs) = issues(club.mallory, ROLE_INVITING_MEMBER), issues(club.bob, ROLE_MEMBER)
    early = third(club)
    sync(replica(club, "alice"), early)
    for (peer, key), order in ((replica(club, "alice"), (by_mallory, by_bob)), (early, (by_bob, by_mallory))):
        for envelope in order:
            assert sync_port(peer).sync_receive(key, [envelope], Neighbor("relay", "relay")).accepted == 1
        assert sync_port(peer).sync_replica(key).state.group.latest_credential(club.carol.name) == bobs
    again = alice_issues(club, club.carol, ROLE_INVITING_MEMBER)
    assert club.state().latest_credential(club.carol.name) == again


def test_of_concurrent_credentials_the_one_issued_nearer_the_root_is_in_force(club: Club) -> None:
    """The attack: bob, an inviting member alice made, makes carol a member at the moment
    alice makes her an inviting member, citing nothing of carol's so that no rank is
    checked. Before, the lesser role won whoever gave it. Now the issuer nearer the root
    wins: alice's credential is in force."""
    bobs = club.issue(club.bob.key, club.credential(club.bob), club.carol, (ROLE_MEMBER,))
    by_bob = citing(club, club.bob, next_envelope(club, club.bob, CredentialIssued(bobs, "stored")), club.alice)
    alices = alice_issues(club, club.carol, ROLE_INVITING_MEMBER)
    assert deliver(club, "alice", by_bob) == 1
    assert club.state().latest_credential(club.carol.name) == alices


def test_a_credential_is_not_issued_to_one_nearer_the_root(club: Club) -> None:
    """The attack: mallory, made an inviting member by bob (one link farther from the root
    than carol, whom alice made a member), makes carol a member again, having seen her
    credential. Before, it was taken: carol's credential was one mallory gave. Now it is
    refused (``issuer_within_rank``), and nothing changes."""
    mallorys = club.issue(club.bob.key, club.credential(club.bob), club.mallory, (ROLE_INVITING_MEMBER,))
    assert deliver(club, "alice", citing(club, club.bob, next_envelope(club, club.bob, CredentialIssued(mallorys, "stored")), club.alice)) == 1
    again = club.issue(club.mallory.key, mallorys, club.carol, (ROLE_MEMBER,))
    envelope = citing(club, club.mallory, next_envelope(club, club.mallory, CredentialIssued(again, "stored")), club.alice, club.bob, club.carol)
    refused = refusal(club, "alice", envelope)
    assert (refused.rule, refused.error) == ("issuer_within_rank", "PEER_E_NOT_AUTHORIZED")


@pytest.mark.parametrize("after_end, taken", [(timedelta(0), 0), (timedelta(seconds=1), 1)])
def test_rank_holds_while_the_subject_s_credential_is_valid(club: Club, after_end: timedelta, taken: int) -> None:
    """carol's credential, from alice, ends in five minutes. mallory, farther from the root,
    may not issue her one dated at its very end; once it has lapsed, she holds nothing to
    outrank, and mallory may."""
    alice_issues(club, club.carol, ROLE_MEMBER, until=T0 + MINUTES)
    mallorys = club.issue(club.bob.key, club.credential(club.bob), club.mallory, (ROLE_INVITING_MEMBER,))
    assert deliver(club, "alice", citing(club, club.bob, next_envelope(club, club.bob, CredentialIssued(mallorys, "stored")), club.alice)) == 1
    renewal = club.issue(club.mallory.key, mallorys, club.carol, (ROLE_MEMBER,))
    envelope = next_envelope(club, club.mallory, CredentialIssued(renewal, "stored"), at=T0 + MINUTES + after_end)
    envelope = citing(club, club.mallory, envelope, club.alice, club.bob, club.carol)
    if taken:
        assert deliver(club, "alice", envelope) == 1
        assert club.state().latest_credential(club.carol.name) == renewal
    else:
        assert refusal(club, "alice", envelope).rule == "issuer_within_rank"


def bob_issues_mallory(club: Club, *, seeing: Member | None = None) -> tuple[Envelope, Credential]:
    """bob, as the inviting member he was, makes mallory a member: his envelope names his old
    credential and cites ``seeing``'s chain as far as alice's replica holds it now (an old
    context, once alice has demoted him), or nothing."""
    old = club.credential(club.bob)
    mallorys = club.issue(club.bob.key, old, club.mallory, (ROLE_MEMBER,))
    envelope = next_envelope(club, club.bob, CredentialIssued(mallorys, "stored"), credential=old.fingerprint)
    return (citing(club, club.bob, envelope, seeing) if seeing is not None else signed(club.bob, attrs.evolve(envelope, context=()))), mallorys


def test_an_action_concurrent_with_its_author_s_demotion_has_no_effect_in_any_order(club: Club) -> None:
    """The attack: demoted, bob acts as the inviting member he was, citing a context from
    before his demotion on purpose, so that his envelope does not say it had seen it. Before,
    it was taken: mallory had a credential from him. Now the demotion, which had not seen
    his envelope, wins: on a replica that had the demotion first, bob's envelope is taken in
    his chain without effect; on one that took bob's envelope first, the demotion voids it
    when it comes, and the state is folded again. Both end alike, and the log says which
    credential voided it."""
    early, late = third(club), third(club)
    sync(replica(club, "alice"), early)
    action, mallorys = bob_issues_mallory(club, seeing=club.alice)
    demotion = alice_issues(club, club.bob, ROLE_MEMBER)

    assert deliver(club, "alice", action) == 1, "taken in bob's chain"
    assert mallorys.fingerprint not in club.state().credentials
    assert club.state().heads[club.bob.name].last == admission.envelope_id(action)
    voided = [event for event in club.events("alice") if isinstance(event, ActionsVoided)]
    assert voided == [ActionsVoided(demotion.fingerprint, (admission.envelope_id(action),), T0)]

    early_peer, early_key = early
    assert sync_port(early_peer).sync_receive(early_key, [action], Neighbor("mallory", "mallory")).accepted == 1
    assert mallorys.fingerprint in sync_port(early_peer).sync_replica(early_key).state.group.credentials
    sync(replica(club, "alice"), early)
    sync(replica(club, "alice"), late)
    for other in (early, late):
        assert digest(other) == digest(replica(club, "alice"))
        assert mallorys.fingerprint not in sync_port(other[0]).sync_replica(other[1]).state.group.credentials
    assert audit.verify_store(club.stores["alice"]).holds
    told = [entry.effect for entry in history.history(*club.key("alice"), club.events("alice")) if entry.event == "ActionsVoided"]
    assert told and demotion.fingerprint.hex() in told[0]


def test_what_the_demoter_had_seen_stands(club: Club) -> None:
    """bob's envelope reached alice before she demoted him: her demotion had seen it, so it
    keeps its effect."""
    action, mallorys = bob_issues_mallory(club, seeing=club.alice)
    assert deliver(club, "alice", action) == 1
    alice_issues(club, club.bob, ROLE_MEMBER)
    assert mallorys.fingerprint in club.state().credentials
    assert not any(isinstance(event, ActionsVoided) for event in club.events("alice"))


def test_an_action_the_lesser_role_permits_stands_beside_a_concurrent_demotion(club: Club) -> None:
    """bob publishes his membership, citing an old context, while alice demotes him: a
    member may do that, so it keeps its effect."""
    old = club.credential(club.bob)
    envelope = citing(club, club.bob, next_envelope(club, club.bob, MembershipPublished("Bobby"), credential=old.fingerprint), club.alice)
    alice_issues(club, club.bob, ROLE_MEMBER)
    assert deliver(club, "alice", envelope) == 1
    assert club.state().members[club.bob.name].friendly_name == "Bobby"


def demotes(club: Club, author: Member, author_credential: Credential, subject: Member) -> Envelope:
    """``author``'s envelope making ``subject`` a member, citing alice's chain as far as her
    replica holds it now."""
    issued = club.issue(author.key, author_credential, subject, (ROLE_MEMBER,))
    envelope = next_envelope(club, author, CredentialIssued(issued, "stored"), credential=author_credential.fingerprint)
    return citing(club, author, envelope, club.alice)


def in_both_orders(club: Club, first: Envelope, second: Envelope) -> list[GroupState]:
    """``first`` then ``second`` delivered to alice's replica, and the other way round to a
    third that held all alice's before: the two group states, whose digests are one."""
    early = third(club)
    sync(replica(club, "alice"), early)
    states = []
    for order, (peer, key) in (((first, second), replica(club, "alice")), ((second, first), early)):
        for envelope in order:
            assert sync_port(peer).sync_receive(key, [envelope], Neighbor("relay", "relay")).accepted == 1
        states.append(sync_port(peer).sync_replica(key).state.group)
    assert digest(early) == digest(replica(club, "alice"))
    assert audit.verify_store(club.stores["alice"]).holds
    return states


def test_two_who_demote_each_other_at_once_void_both_in_any_order(club: Club) -> None:
    """bob and carol, administrators alice made, demote each other at once, neither having
    seen the other's: each demotion is an action that its author's concurrent demotion
    voids, whether or not that one took effect, so both are void on a replica that met them
    in either order, and both keep the credentials they had."""
    bobs, carols = alice_issues(club, club.bob, ROLE_ADMIN), alice_issues(club, club.carol, ROLE_ADMIN)
    for group in in_both_orders(club, demotes(club, club.bob, bobs, club.carol), demotes(club, club.carol, carols, club.bob)):
        assert (group.latest_credential(club.bob.name), group.latest_credential(club.carol.name)) == (bobs, carols)


def test_one_farther_from_the_root_cannot_keep_its_demotion_void(club: Club) -> None:
    """The attack: mallory, an administrator bob made, answers carol's demotion of her (carol
    is an administrator alice made) by demoting carol at once, citing nothing, so that no
    rank is checked, to keep it void (and would again at every demotion). Before, both were
    void and she stayed an administrator. Now only an issuer no farther from the root voids
    what it did not see: carol's demotion stands and voids mallory's, in either order."""
    bobs, carols = alice_issues(club, club.bob, ROLE_ADMIN), alice_issues(club, club.carol, ROLE_ADMIN)
    mallorys = club.issue(club.bob.key, bobs, club.mallory, (ROLE_ADMIN,))
    assert deliver(club, "alice", citing(club, club.bob, next_envelope(club, club.bob, CredentialIssued(mallorys, "stored")), club.alice)) == 1
    by_mallory = signed(club.mallory, attrs.evolve(demotes(club, club.mallory, mallorys, club.carol), context=()))
    by_carol = demotes(club, club.carol, carols, club.mallory)
    for group in in_both_orders(club, by_carol, by_mallory):
        assert group.latest_credential(club.carol.name) == carols
        demoted = group.latest_credential(club.mallory.name)
        assert demoted is not None and demoted.roles == (ROLE_MEMBER,)
        assert admission.envelope_id(by_mallory) in group.voided and admission.envelope_id(by_carol) not in group.voided


def test_a_presence_that_outlives_its_credential_is_refused(club: Club) -> None:
    """The attack: a member publishes its presence for ten years, dated inside its
    credential. Before, it was taken: present long after its credential ended. Now what a
    member publishes does not outlive its credential (``presence_within_credential``), and
    nothing changes."""
    presence = PresencePublished("carol's machine", MEMBERS_END + 3650 * DAY)
    envelope = citing(club, club.carol, next_envelope(club, club.carol, presence), club.alice)
    refused = refusal(club, "alice", envelope)
    assert (refused.rule, refused.error) == ("presence_within_credential", "PEER_E_INVALID_TIME_PERIOD")
    until_the_end = PresencePublished("carol's machine", MEMBERS_END)  # what a peer caps its own presence at
    assert deliver(club, "alice", citing(club, club.carol, next_envelope(club, club.carol, until_the_end), club.alice)) == 1


def test_member_data_lapses_with_the_credential_in_force(club: Club) -> None:
    """bob, demoted for a day, publishes his membership: he is listed while his credential
    lasts, and not after, whatever the group's member data lifetime says."""
    alice_issues(club, club.bob, ROLE_MEMBER, until=T0 + DAY)
    assert deliver(club, "alice", citing(club, club.bob, next_envelope(club, club.bob, MembershipPublished("Bob")), club.alice)) == 1
    state = club.state()
    assert state.lists(club.bob.name, T0 + DAY / 2)
    assert not state.lists(club.bob.name, T0 + 2 * DAY) and club.bob.name not in state.listed(T0 + 2 * DAY)


def test_an_administrator_cannot_date_an_action_before_its_own_last_envelope(club: Club) -> None:
    """The attack: an administrator whose credential lapsed deletes a live record, dating
    the deletion inside its old validity. The bound: no envelope is dated before the last
    one of its author's chain (``envelope_time_follows_context``), so it is refused, and
    nothing changes. What remains, and ``docs/security.md`` names: one dated after the last
    envelope and before the credential's end, citing an old context."""
    alice_issues(club, club.bob, ROLE_ADMIN, until=T0 + DAY)
    last = citing(club, club.bob, next_envelope(club, club.bob, MembershipPublished("Bob"), at=T0 + MINUTES), club.alice)
    assert deliver(club, "alice", last) == 1
    deletion = attrs.evolve(club.record, version=2, flags=DELETED, data=b"", modified_by=club.bob.name, modified=T0)
    backdated = citing(club, club.bob, next_envelope(club, club.bob, RecordPublished(deletion), at=T0), club.alice)
    refused = refusal(club, "alice", backdated)
    assert (refused.rule, refused.error) == ("envelope_time_follows_context", "PEER_E_INVALID_TIME_PERIOD")


def test_writing_without_a_context_gains_a_demoted_member_nothing(club: Club) -> None:
    """bob, demoted, writes as software made before contexts would, citing nothing: his
    envelope sees only his own chain, so his demotion, which had not seen it, voids it."""
    action, mallorys = bob_issues_mallory(club, seeing=None)
    alice_issues(club, club.bob, ROLE_MEMBER)
    bare = signed(club.bob, attrs.evolve(action, context=None))
    assert deliver(club, "alice", bare) == 1
    assert mallorys.fingerprint not in club.state().credentials
    assert admission.envelope_id(bare) in club.state().voided


def test_a_demotion_written_without_a_context_voids_what_did_not_see_it(club: Club) -> None:
    """alice's demotion of bob comes from software made before contexts (citing nothing),
    and bob's action cites alice's chain from before it: neither had seen the other, so
    the demotion voids it, as one that cites its context would."""
    action, mallorys = bob_issues_mallory(club, seeing=club.alice)
    demotion = club.issue(club.alice.key, club.credential(club.alice), club.bob, (ROLE_MEMBER,))
    assert deliver(club, "alice", next_envelope(club, club.alice, CredentialIssued(demotion, "stored"))) == 1
    assert deliver(club, "alice", action) == 1
    assert mallorys.fingerprint not in club.state().credentials
    assert admission.envelope_id(action) in club.state().voided
