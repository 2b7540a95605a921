"""Rank as a property (issue 29): two administrators at different distances from the root
demote each other, over and over, each answer written before its author saw the demotion
it answers, and three replicas given it all in any order end in one state, where the one
nearer the root keeps its credential and the other's demotions have no effect.

carol is an administrator alice made (two links from the root); mallory one that bob, an
administrator alice made, made (three links). carol's demotions cite what alice's replica
holds; mallory's cite nothing, so that no rank is checked when they are judged
(``rules.issuer_within_rank``): rank must hold all the same, through the voiding and the
order of concurrent credentials.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings, strategies as st

from peerstate import views
from peerstate.domain.group_events import CredentialIssued, Envelope
from peerstate.names import ROLE_ADMIN, ROLE_MEMBER
from peerstate.sync import admission

from tests.conftest import T0
from tests.test_admission_attacks import _club, accepted, deliver, next_envelope, signed
from tests.test_authority import alice_issues, citing, demotes
from tests.test_authority_property import give, state
from tests.test_forks import replica, sync, third

STEPS = st.lists(st.sampled_from(("carol demotes", "mallory demotes")), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=STEPS, data=st.data())
def test_of_two_administrators_who_demote_each_other_the_one_nearer_the_root_wins(steps: list[str], data: st.DataObject) -> None:
    club = _club()
    carols, bobs = alice_issues(club, club.carol, ROLE_ADMIN), alice_issues(club, club.bob, ROLE_ADMIN)
    mallorys = club.issue(club.bob.key, bobs, club.mallory, (ROLE_ADMIN,))
    assert deliver(club, "alice", citing(club, club.bob, next_envelope(club, club.bob, CredentialIssued(mallorys, "stored")), club.alice)) == 1
    b, c = third(club), third(club)
    for other in (b, c):
        sync(replica(club, "alice"), other)
    start = len(accepted(club.events("alice")))

    by_mallory: list[Envelope] = []
    for step in steps:
        if step == "carol demotes":
            assert deliver(club, "alice", demotes(club, club.carol, carols, club.mallory)) == 1
            continue
        issued = club.issue(club.mallory.key, mallorys, club.carol, (ROLE_MEMBER,))
        prev = admission.envelope_id(by_mallory[-1]) if by_mallory else b""
        envelope = Envelope(club.group, club.mallory.name, mallorys.fingerprint, len(by_mallory) + 1, prev, T0, CredentialIssued(issued, "stored"), b"", ())
        by_mallory.append(signed(club.mallory, envelope))
    everything = [*accepted(club.events("alice"))[start:], *by_mallory]

    give(replica(club, "alice"), data.draw(st.permutations(by_mallory), label="to A"))
    give(b, data.draw(st.permutations(everything), label="to B"))
    give(c, data.draw(st.permutations(everything + everything[:2]), label="to C"))
    assert len({views.group_digest(state(each)) for each in (replica(club, "alice"), b, c)}) == 1, "the three replicas differ"

    group = club.state()
    demoted = "carol demotes" in steps
    event(f"carol demoted mallory: {demoted}; mallory wrote {len(by_mallory)}")
    assert group.latest_credential(club.carol.name) == carols, "one farther from the root demoted carol"
    held = group.latest_credential(club.mallory.name)
    assert held is not None and held.roles == ((ROLE_MEMBER,) if demoted else (ROLE_ADMIN,))
    assert all((admission.envelope_id(envelope) in group.voided) == demoted for envelope in by_mallory)
