"""Authority a member cannot choose, as a property (issue 29): demotions, renewals, brief
demotions that lapse, and a demoted member's actions citing any context it likes, delivered
to three replicas in any order, give one state on all three, in which no action of the
demoted member that a demotion had not seen, and that had not seen it, took effect.

alice (an administrator) writes the credentials; bob, an inviting member at first, issues
member credentials to strangers, each citing alice's chain as far as he chooses (the
present, or any past point: the context a demoted member would cite on purpose). Replica A
is alice's own; B and C joined before any of it and are given everything in their orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import attrs
from hypothesis import HealthCheck, event, given, settings, strategies as st

from peerstate import crypto, views
from peerstate.domain import authority
from peerstate.domain.group_events import Credential, CredentialIssued, Envelope, EnvelopeAccepted, Seen
from peerstate.domain.group_state import GroupState
from peerstate.names import ROLE_INVITING_MEMBER, ROLE_MEMBER
from peerstate.peer import sync_port
from peerstate.sync import admission
from peerstate.sync.port import Neighbor

from tests.conftest import T0
from tests.test_admission_attacks import MEMBERS_END, Club, Member, _club, accepted, signed, stranger
from tests.test_authority import DAY, alice_issues
from tests.test_forks import Replica, replica, sync, third

RELAY = Neighbor("relay", "relay")
STEPS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(("demote", "demote briefly", "renew")), st.just(0)),
        st.tuples(st.just("act"), st.integers(min_value=0, max_value=8)),
    ),
    min_size=1, max_size=7,
)
"""alice's steps (a demotion, one that lapses after a day, a renewal) and bob's actions,
each citing alice's chain so many of her steps back."""


@cache
def subject_keys() -> tuple[crypto.PrivateKey, ...]:
    """Keys for the strangers bob makes members, made once: keys cost more than the rest."""
    return tuple(crypto.generate_identity_key() for _ in range(7))


@attrs.define
class Bob:
    """bob's chain as he writes it, apart from any replica: his next place, and alice's
    places so far (her chain's seq after each of her steps), which he may cite."""

    member: Member
    seq: int
    last: bytes
    issued: list[tuple[int, Credential]]
    """alice's credentials for bob, each with her seq when she wrote it."""


def bob_acts(club: Club, bob: Bob, alices: Sequence[int], back: int, subject: Member) -> Envelope:
    """bob makes ``subject`` a member, citing alice's chain ``back`` of her steps ago, under
    the credential alice had given him by then, as he would have held it."""
    cited = alices[max(0, len(alices) - 1 - back)]
    credential = [issued for seq, issued in bob.issued if seq <= cited][-1]
    issued = club.issue(bob.member.key, credential, subject, (ROLE_MEMBER,))
    envelope = Envelope(
        club.group, bob.member.name, credential.fingerprint, bob.seq + 1, bob.last, T0, CredentialIssued(issued, "stored"), b"",
        (Seen(club.alice.name, cited),),
    )
    envelope = signed(bob.member, envelope)
    bob.seq, bob.last = envelope.seq, admission.envelope_id(envelope)
    return envelope


def give(target: Replica, envelopes: Sequence[Envelope]) -> None:
    peer, key = target
    for envelope in envelopes:
        sync_port(peer).sync_receive(key, [envelope], RELAY)


def state(target: Replica) -> GroupState:
    peer, key = target
    return sync_port(peer).sync_replica(key).state.group


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=STEPS, data=st.data())
def test_any_order_of_demotions_renewals_and_actions_gives_one_state_without_a_concurrent_demoted_action(
    steps: list[tuple[str, int]], data: st.DataObject,
) -> None:
    club = _club()
    b, c = third(club), third(club)
    for other in (b, c):
        sync(replica(club, "alice"), other)
    start = len(accepted(club.events("alice")))
    head = club.state().heads
    first = club.credential(club.bob)
    bob = Bob(club.bob, head[club.bob.name].seq if club.bob.name in head else 0,
              head[club.bob.name].last if club.bob.name in head else b"", [(0, first)])
    alices = [head[club.alice.name].seq]
    written: list[Envelope] = []
    for kind, back in steps:
        if kind == "act":
            written.append(bob_acts(club, bob, alices, back, stranger("member", subject_keys()[len(written) % 7])))
            continue
        role = ROLE_INVITING_MEMBER if kind == "renew" else ROLE_MEMBER
        credential = alice_issues(club, club.bob, role, until=T0 + DAY if kind == "demote briefly" else MEMBERS_END)
        alices.append(club.state().heads[club.alice.name].seq)
        bob.issued.append((alices[-1], credential))
    everything = [*accepted(club.events("alice"))[start:], *written]

    give(replica(club, "alice"), data.draw(st.permutations(written), label="to A"))
    give(b, data.draw(st.permutations(everything), label="to B"))
    give(c, data.draw(st.permutations(everything + everything[:2]), label="to C"))
    digests = {views.group_digest(state(each)) for each in (replica(club, "alice"), b, c)}
    assert len(digests) == 1, "the three replicas differ"

    group = club.state()
    event(f"{len(group.voided)} envelope(s) voided")
    demotions = [issued for _, issued in bob.issued if ROLE_INVITING_MEMBER not in issued.roles]
    for envelope in written:
        if admission.envelope_id(envelope) not in {event.id for event in club.events("alice") if isinstance(event, EnvelopeAccepted)}:
            continue
        took_effect = admission.envelope_id(envelope) not in group.voided
        concurrent = [d for d in demotions if authority.voids(group, d, envelope)]
        assert not (took_effect and concurrent), "a demoted member's concurrent action took effect"
    last = bob.issued[-1][1]
    if last.not_after == T0 + DAY and ROLE_INVITING_MEMBER not in last.roles and len(bob.issued) > 1:
        assert group.credential_of(club.bob.name, T0 + 2 * DAY) is None, "a lapsed demotion brought an old credential back"
    assert group.latest_credential(club.bob.name) == last, "the last credential alice wrote, having seen all before, is in force"
