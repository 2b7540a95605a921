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

from peerstate import CredentialRequest, views
from peerstate.constants import PeerGroupIssueCredentialFlags
from peerstate.domain.group_events import Credential, CredentialIssued, CredentialTaken, Envelope, MembershipPublished, Seen
from peerstate.names import ROLE_INVITING_MEMBER, ROLE_MEMBER
from peerstate.peer import sync_port

from tests.conftest import T0
from tests.test_admission_attacks import MEMBERS_END, Club, Member, _club, accepted, deliver, next_envelope, refusal, signed

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
    """alice makes carol an inviting member while bob, who had not seen it, makes her a
    member: neither saw the other, and the lesser role is in force, whichever came first.
    alice then issues her an inviting credential again, having seen bob's: that one is in
    force."""
    bobs = club.issue(club.bob.key, club.credential(club.bob), club.carol, (ROLE_MEMBER,))
    by_bob = citing(club, club.bob, next_envelope(club, club.bob, CredentialIssued(bobs, "stored")), club.alice, club.carol)
    alices = alice_issues(club, club.carol, ROLE_INVITING_MEMBER)
    assert deliver(club, "alice", by_bob) == 1
    assert club.state().latest_credential(club.carol.name) == bobs
    again = alice_issues(club, club.carol, ROLE_INVITING_MEMBER)
    assert again != alices and club.state().latest_credential(club.carol.name) == again
    assert views.group_digest(club.state()) == views.group_digest(club.state())
