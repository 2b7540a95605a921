"""What an envelope cites (issue 29): the context its author had seen of the chains that
bear on its authority (``domain.context``), carried in the signed envelope, and what a
receiver does with it. Envelopes written before (``context`` None) keep their bytes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import orjson
import pytest

from peerstate import network, wire
from peerstate.domain.context import context_for, in_context
from peerstate.domain.group_events import CredentialIssued, Envelope, EnvelopeHeld, MembershipPublished, RecordPublished, Seen
from peerstate.peer import sync_port
from peerstate.sync import admission

from tests.conftest import T0
from tests.test_admission_attacks import Club, _club, deliver, next_envelope, record, signed
from tests.test_catching_up import KIND, chess_club


@pytest.fixture
def club() -> Iterator[Club]:
    yield _club()


def test_an_envelope_cites_the_issuers_of_its_author_s_credentials(club: Club) -> None:
    """carol's credentials came from alice's chain: what carol writes cites alice's chain as
    far as it stands; a credential bob issues to carol cites carol's chain and her issuer's
    too; no envelope cites its own author's chain."""
    state = club.state()
    alice, bob, carol = club.alice.name, club.bob.name, club.carol.name
    assert context_for(state, carol, MembershipPublished("Carol")) == (Seen(alice, state.heads[alice].seq),)
    issued = CredentialIssued(club.issue(club.bob.key, club.credential(club.bob), club.carol), "stored")
    cited = context_for(state, bob, issued)
    assert cited == tuple(sorted((Seen(alice, state.heads[alice].seq), Seen(carol, state.heads[carol].seq)), key=lambda seen: seen.author))
    assert all(seen.author != alice for seen in context_for(state, alice, issued))


def test_what_a_peer_writes_cites_its_context(tmp_path: Path) -> None:
    """bob, who joined alice's group by its password, writes a record: his envelope cites
    alice's chain, whence his credential came, as far as his replica holds it; alice's
    replica takes it, and its id covers the context."""
    alice, alice_name, handle, group, _, bob, bob_name, bob_handle = chess_club(lambda: T0, tmp_path)
    before = sync_port(bob).sync_replica((bob_name, group)).state.group
    bob.add_record(bob_handle, KIND, T0 + timedelta(days=1), data=b"cited")
    network.synchronize({"alice": alice, "bob": bob})
    written = sync_port(bob).sync_replica((bob_name, group)).accepted or []
    (envelope,) = [envelope for envelope in written if isinstance(envelope.payload, RecordPublished)]
    assert envelope.context == (Seen(alice_name, before.heads[alice_name].seq),)
    assert any(held.record.data == b"cited" for held in alice.records(handle))


def test_an_envelope_that_cites_a_place_not_here_waits_and_is_taken_when_it_comes(club: Club) -> None:
    """carol cites an envelope of alice's that alice's replica has not taken yet: hers
    waits for it (``context_is_here``), not refused; once alice's comes, carol's is taken,
    as if it had just arrived."""
    alices_next = next_envelope(club, club.alice, RecordPublished(record(club.alice)))
    citing = signed(club.carol, attrs.evolve(
        next_envelope(club, club.carol, MembershipPublished("Carol")), context=(Seen(club.alice.name, alices_next.seq),),
    ))
    assert deliver(club, "alice", citing) == 0
    held = club.events("alice")[-1]
    assert isinstance(held, EnvelopeHeld) and (held.envelope, held.rule) == (citing, "context_is_here")
    assert deliver(club, "alice", alices_next) == 2
    assert in_context(citing, club.alice.name, alices_next.seq) and not in_context(citing, club.alice.name, alices_next.seq + 1)
    assert in_context(citing, club.carol.name, citing.seq - 1) and not in_context(citing, club.carol.name, citing.seq), "before it in its chain"
    assert club.state().heads[club.carol.name].last == admission.envelope_id(citing)


def test_a_context_written_as_null_is_no_envelope() -> None:
    """An envelope's tree may lack ``context`` (one written before contexts) but not hold it
    as null: one value, one encoding."""
    envelope = Envelope("g", "a", b"\0" * 32, 1, b"", T0, MembershipPublished("A"), b"s", ())
    tree = orjson.loads(wire.canonical(envelope))
    assert wire.decode(wire.canonical(envelope), Envelope) == envelope
    older = {key: value for key, value in tree.items() if key != "context"}
    assert wire.decode(orjson.dumps(older), Envelope) == attrs.evolve(envelope, context=None)
    with pytest.raises(wire.WireError):
        wire.decode(orjson.dumps({**tree, "context": None}), Envelope)
    assert admission.envelope_id(attrs.evolve(envelope, context=None)) != admission.envelope_id(envelope)
