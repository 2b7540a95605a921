"""The credential rules and the fold's choice of the credential in force, on plain values:
no keys, no certificates, so each case says exactly which field decides."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import attrs
import pytest

from peerstate.bounds import MAX_CHAIN_LENGTH
from peerstate.domain import rules
from peerstate.domain.group_events import (
    Credential,
    CredentialIssued,
    CredentialTaken,
    Envelope,
    GroupCreated,
    GroupProperties,
    IdentityRetired,
    PasswordVerifier,
)
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.domain.replica import ReplicaState
from peerstate import views
from peerstate.errors import PeerError
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
DAY = timedelta(days=1)
GROUP = "g" * 40 + ".club"


def _credential(name: str, subject: str, roles: tuple[object, ...], issuer: Credential | None,
                start: datetime = T0, end: datetime = T0 + 100 * DAY) -> Credential:
    return Credential(
        name.encode(), b"der-" + name.encode(), subject, subject, b"key-" + subject.encode(), roles,  # type: ignore[arg-type]
        start, end, issuer.fingerprint if issuer else None, issuer.chain_length + 1 if issuer else 1,
    )


ALICE = _credential("alice", "a.alice", (ROLE_ADMIN,), None, end=T0 + 1000 * DAY)
BOB = _credential("bob", "b.bob", (ROLE_INVITING_MEMBER,), ALICE)
CAROL = _credential("carol", "c.carol", (ROLE_MEMBER,), BOB)
PROPERTIES = GroupProperties(GROUP, "a.alice", "Global_", "club", "Club", "", 0, 0, 300, 1, None, None)


def _envelope(author: str, seq: int, payload: object, at: datetime = T0, credential: bytes = b"alice") -> Envelope:
    return Envelope(GROUP, author, credential, seq, b"", at, payload, b"")  # type: ignore[arg-type]


def _group(*envelopes: Envelope) -> GroupState:
    state = apply_envelope(GroupState(GROUP), _envelope("a.alice", 1, GroupCreated(PROPERTIES, b"root", b"rk", ALICE)), b"1")
    for index, envelope in enumerate(envelopes, start=2):
        state = apply_envelope(state, envelope, bytes([index]))
    return state


def _refuses(code: str, check: object, *args: object) -> None:
    with pytest.raises(PeerError) as caught:
        check(*args)  # type: ignore[operator]
    assert caught.value.name == code


def test_roles_are_granted_only_downwards() -> None:
    rules.may_grant_roles(ALICE, [ROLE_ADMIN, ROLE_MEMBER])
    rules.may_grant_roles(BOB, [ROLE_INVITING_MEMBER, ROLE_MEMBER])
    _refuses("PEER_E_NOT_AUTHORIZED", rules.may_grant_roles, BOB, [ROLE_ADMIN])
    _refuses("PEER_E_NOT_AUTHORIZED", rules.may_grant_roles, CAROL, [ROLE_MEMBER])


def test_a_refusal_to_grant_roles_names_them() -> None:
    """What a refusal keeps as its reason says whose roles could not give which, and "no
    role" for none asked."""
    for credential, roles, reason in (
        (CAROL, [ROLE_INVITING_MEMBER, ROLE_MEMBER], "a holder of PEER_GROUP_ROLE_MEMBER may not give out PEER_GROUP_ROLE_INVITING_MEMBER, PEER_GROUP_ROLE_MEMBER"),
        (ALICE, [], "a holder of PEER_GROUP_ROLE_ADMIN may not give out no role"),
    ):
        with pytest.raises(PeerError) as caught:
            rules.may_grant_roles(credential, roles)
        assert (caught.value.rule, caught.value.message) == ("may_grant_roles", reason)


def test_no_one_in_the_issuers_chain_gets_a_credential_from_it() -> None:
    group = _group(_envelope("a.alice", 2, CredentialIssued(BOB, "stored")), _envelope("b.bob", 1, CredentialIssued(CAROL, "stored"), credential=b"bob"))
    rules.chain_not_circular(group, BOB, "d.dave")
    _refuses("PEER_E_CIRCULAR_CHAIN_DETECTED", rules.chain_not_circular, group, BOB, "a.alice")
    _refuses("PEER_E_CIRCULAR_CHAIN_DETECTED", rules.chain_not_circular, group, BOB, "b.bob")


def test_a_validity_is_cut_to_the_issuers() -> None:
    assert rules.validity_within_issuer(BOB, T0 + DAY, None) == (T0 + DAY, BOB.not_after)
    assert rules.validity_within_issuer(BOB, T0 - DAY, T0 + 500 * DAY) == (T0, BOB.not_after)
    _refuses("E_INVALIDARG", rules.validity_within_issuer, BOB, BOB.not_after, None)


def test_an_invitation_is_used_by_its_subject_inside_its_window() -> None:
    rules.invitation_is_for("b.bob", b"k", "b.bob", b"k")
    _refuses("PEER_E_INVALID_PEER_NAME", rules.invitation_is_for, "b.bob", b"k", "c.carol", b"k")
    _refuses("PEER_E_INVALID_PEER_NAME", rules.invitation_is_for, "b.bob", b"k", "b.bob", b"other")
    rules.invitation_in_time(T0, T0 + DAY, T0)
    rules.invitation_in_time(T0, T0 + DAY, T0 + DAY)  # its last instant
    _refuses("PEER_E_INVALID_TIME_PERIOD", rules.invitation_in_time, T0, T0 + DAY, T0 + 2 * DAY)
    _refuses("PEER_E_INVALID_TIME_PERIOD", rules.invitation_in_time, T0 + DAY, T0 + 2 * DAY, T0)


def test_a_password_invitation_needs_the_scheme_a_password_and_a_role() -> None:
    """Each of the three missing alone refuses (a crafted properties change can leave the
    scheme without its password)."""
    verifier = PasswordVerifier(b"salt", 1, 1, 8, b"verifier")
    complete = attrs.evolve(PROPERTIES, authentication_schemes=3, password=verifier, password_role=ROLE_MEMBER)
    assert rules.group_uses_password(complete) == (verifier, ROLE_MEMBER)
    for missing in ({"authentication_schemes": 1}, {"password": None}, {"password_role": None}):
        with pytest.raises(PeerError) as caught:
            rules.group_uses_password(attrs.evolve(complete, **missing))  # type: ignore[misc]
        assert (caught.value.rule, caught.value.name) == ("group_uses_password", "E_INVALIDARG")


def test_the_latest_delivered_credential_is_in_force() -> None:
    promoted = attrs.evolve(_credential("bob-admin", "b.bob", (ROLE_ADMIN,), ALICE), not_before=T0)
    returned = _credential("bob-returned", "b.bob", (ROLE_MEMBER,), ALICE)
    group = _group(
        _envelope("a.alice", 2, CredentialIssued(BOB, "stored")),
        _envelope("a.alice", 3, CredentialIssued(promoted, "stored")),
        _envelope("a.alice", 4, CredentialIssued(returned, "returned")),
    )
    assert group.credential_of("b.bob", T0) == promoted, "the same start: the later issue wins, not the fingerprint"
    assert set(group.credentials) >= {b"bob", b"bob-admin", b"bob-returned"}, "every issue is in the log"
    taken = apply_envelope(group, _envelope("b.bob", 1, CredentialTaken((ALICE, returned)), credential=b"bob-returned"), b"t")
    assert taken.credential_of("b.bob", T0) == returned, "a returned credential is in force once taken up"
    assert taken.credential_of("b.bob", T0 + 101 * DAY) is None
    assert taken.latest_credential("b.bob") == returned


def test_a_taken_chain_must_be_whole() -> None:
    group = _group()
    envelope = _envelope("c.carol", 1, None, credential=b"carol")
    rules.taken_chain_is_whole(group, envelope, (ALICE, BOB, CAROL))
    _refuses("PEER_E_INVALID_CREDENTIAL", rules.taken_chain_is_whole, group, envelope, (ALICE, CAROL))
    _refuses("PEER_E_INVALID_CREDENTIAL", rules.taken_chain_is_whole, group, envelope, (ALICE, BOB))
    member = _credential("mike", "m.mike", (ROLE_MEMBER,), BOB)
    through_member = _credential("carol-2", "c.carol", (ROLE_MEMBER,), member)
    _refuses("PEER_E_INVALID_CREDENTIAL", rules.taken_chain_is_whole, group, envelope, (ALICE, BOB, member, through_member))
    again = _credential("alice-again", "c.carol", (ROLE_MEMBER,), BOB)
    _refuses("PEER_E_CIRCULAR_CHAIN_DETECTED", rules.taken_chain_is_whole, group, envelope, (ALICE, BOB, again, attrs.evolve(CAROL, issuer=b"alice-again", chain_length=4)))


def test_a_link_may_share_its_issuers_first_and_last_instant() -> None:
    """Lifetimes nest inclusively: a credential that starts and ends exactly with its
    issuer's is within it, and so is one of a single instant, at its issuer's last, whether
    issued here or taken up in a chain."""
    group = _group()
    same_span = attrs.evolve(CAROL, not_before=BOB.not_before, not_after=BOB.not_after)
    rules.credential_within_issuer(group, BOB, same_span)
    rules.taken_chain_is_whole(group, _envelope("c.carol", 1, None, credential=b"carol"), (ALICE, BOB, same_span))
    one_instant = attrs.evolve(CAROL, not_before=BOB.not_after, not_after=BOB.not_after)
    rules.credential_within_issuer(group, BOB, one_instant)
    rules.taken_chain_is_whole(group, _envelope("c.carol", 1, None, credential=b"carol"), (ALICE, BOB, one_instant))
    for outside in ({"not_before": BOB.not_before - DAY}, {"not_after": BOB.not_after + DAY}):
        _refuses("PEER_E_INVALID_TIME_PERIOD", rules.credential_within_issuer, group, BOB, attrs.evolve(same_span, **outside))  # type: ignore[misc]


def test_an_issue_and_its_taking_up_commute() -> None:
    """A replica may see a member take a returned credential up before it sees the issue:
    the issue is still admitted, and both orders give one state."""
    renewed = _credential("bob-renewed", "b.bob", (ROLE_INVITING_MEMBER,), ALICE)
    issue = _envelope("a.alice", 3, CredentialIssued(renewed, "stored"))
    taking = _envelope("b.bob", 1, CredentialTaken((ALICE, renewed)), credential=b"bob-renewed")
    base = _group(_envelope("a.alice", 2, CredentialIssued(BOB, "stored")))
    rules.credential_within_issuer(apply_envelope(base, taking, b"t"), ALICE, renewed)
    one = apply_envelope(apply_envelope(base, issue, b"i"), taking, b"t")
    other = apply_envelope(apply_envelope(base, taking, b"t"), issue, b"i")
    assert views.group_digest(one) == views.group_digest(other)
    assert one.delivered[b"bob-renewed"] == (T0, "b.bob", 1)


def test_a_member_without_a_gmc_is_let_in_by_a_credential_in_its_member_list_valid_now() -> None:
    expired = _credential("carol1", "c.carol", (ROLE_MEMBER,), ALICE, end=T0 + DAY)
    renewed = _credential("carol2", "c.carol", (ROLE_MEMBER,), ALICE, start=T0 + 2 * DAY, end=T0 + 3 * DAY)
    returned = _credential("carol3", "c.carol", (ROLE_MEMBER,), ALICE, start=T0 + 2 * DAY, end=T0 + 3 * DAY)
    lapsed = _group(_envelope("a.alice", 2, CredentialIssued(expired, "stored")))
    later = T0 + 2 * DAY
    _refuses("PEER_E_CONNECTION_NOT_AUTHENTICATED", rules.member_list_holds_credential, lapsed, "c.carol", b"key-c.carol", later)
    only_returned = _group(_envelope("a.alice", 2, CredentialIssued(expired, "stored")), _envelope("a.alice", 3, CredentialIssued(returned, "returned")))
    _refuses("PEER_E_CONNECTION_NOT_AUTHENTICATED", rules.member_list_holds_credential, only_returned, "c.carol", b"key-c.carol", later)
    stored = _group(_envelope("a.alice", 2, CredentialIssued(expired, "stored")), _envelope("a.alice", 3, CredentialIssued(renewed, "stored")))
    assert rules.member_list_holds_credential(stored, "c.carol", b"key-c.carol", later) == renewed
    _refuses("PEER_E_CONNECTION_NOT_AUTHENTICATED", rules.member_list_holds_credential, stored, "c.carol", b"another key", later)


def test_one_rule_answers_whether_a_member_may_answer_a_password_joiner() -> None:
    """The listener's Hello, the credential it issues and a password invitation all ask
    ``may_answer_password_joiner``; before, the listener checked neither the member's
    deletion nor the room in its chain."""
    verifier = PasswordVerifier(b"salt", 1, 1, 8, b"verifier")
    properties = attrs.evolve(PROPERTIES, authentication_schemes=3, password=verifier, password_role=ROLE_MEMBER)
    founded = apply_envelope(GroupState(GROUP), _envelope("a.alice", 1, GroupCreated(properties, b"root", b"rk", ALICE)), b"1")
    issued = apply_envelope(founded, _envelope("a.alice", 2, CredentialIssued(BOB, "stored")), b"2")
    ready = ReplicaState(issued, "b.bob", "synchronized")
    assert rules.may_answer_password_joiner(ready, "b.bob", T0) == (BOB, verifier, ROLE_MEMBER)

    retired = attrs.evolve(ready, group=apply_envelope(issued, _envelope("b.bob", 1, IdentityRetired("b.bob", b"k", b"s"), credential=b"bob"), b"3"))
    _refuses("PEER_E_IDENTITY_DELETED", rules.may_answer_password_joiner, retired, "b.bob", T0)
    far = attrs.evolve(BOB, fingerprint=b"far", chain_length=MAX_CHAIN_LENGTH)
    at_the_limit = attrs.evolve(ready, group=apply_envelope(issued, _envelope("a.alice", 3, CredentialIssued(far, "stored")), b"4"))
    _refuses("PEER_E_CHAIN_TOO_LONG", rules.may_answer_password_joiner, at_the_limit, "b.bob", T0 + DAY)
    _refuses("PEER_E_NOT_AUTHORIZED", rules.may_answer_password_joiner, attrs.evolve(ready, group=apply_envelope(
        issued, _envelope("a.alice", 3, CredentialIssued(CAROL, "stored")), b"5")), "c.carol", T0)
    _refuses("PEER_E_GROUP_NOT_READY", rules.may_answer_password_joiner, attrs.evolve(ready, phase="joined"), "b.bob", T0)
    _refuses("E_INVALIDARG", rules.may_answer_password_joiner, ReplicaState(_group(_envelope("a.alice", 2, CredentialIssued(BOB, "stored"))), "b.bob", "synchronized"), "b.bob", T0)
