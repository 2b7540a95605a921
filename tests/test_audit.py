"""``peerstate verify``: a store that a replay left verifies; an edited row is found, named
by its group, author, sequence number and the rule that fails."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from peerstate import Peer, PeerSettings, audit, network
from peerstate import CredentialRequest
from peerstate.names import ROLE_ADMIN
from peerstate.cli import main
from peerstate.domain.group_events import EnvelopeAccepted, EnvelopeRefused
from peerstate.scenario import load_scenario, replay
from peerstate.storage.locations import SQLITE_FILE
from peerstate.storage.opening import open_store

from tests.conftest import T0

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "records" / "ready-and-roles.json"
SIGNATURE = re.compile(rb'"signature":"([A-Za-z0-9+/])')


@pytest.fixture
def stores(tmp_path: Path) -> Path:
    results = replay(load_scenario(SCENARIO), store_root=tmp_path)
    assert all(result.passed for result in results)
    return tmp_path


def _rows(database: Path) -> list[tuple[str, int, bytes]]:
    with sqlite3.connect(database) as db:
        return list(db.execute(
            "select originator_id, originator_version, state from stored_events where topic = 'peerstate.ReplicaLog.Recorded'"
        ))


def _rewrite(database: Path, originator: str, version: int, state: bytes) -> None:
    with sqlite3.connect(database) as db:
        db.execute(
            "update stored_events set state = ? where originator_id = ? and originator_version = ?",
            (state, originator, version),
        )


def _verify(path: Path) -> audit.Verification:
    store = open_store(path)
    try:
        return audit.verify_store(store)
    finally:
        store.close()


def test_every_store_a_replay_leaves_verifies(stores: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--store", str(stores)]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"3 store\(s\), 3 replica\(s\), \d+ envelope\(s\): 0 finding\(s\)", summary), summary


def test_a_changed_byte_of_an_envelope_signature_is_found_and_named(stores: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database = stores / "bob" / SQLITE_FILE
    originator, version, state = next(row for row in _rows(database) if b"RecordPublished" in row[2] and b"EnvelopeAccepted" in row[2])
    first = SIGNATURE.search(state)
    assert first is not None
    changed = b"B" if first.group(1) != b"B" else b"C"
    _rewrite(database, originator, version, state[:first.start(1)] + changed + state[first.end(1):])
    verification = _verify(database.parent)
    rules = {finding.rule for finding in verification.findings}
    assert {"envelope_id_matches", "signature_verifies"} <= rules
    finding = next(finding for finding in verification.findings if finding.rule == "signature_verifies")
    assert finding.author is not None and finding.seq is not None
    assert finding.message == f"the signature of envelope {finding.seq} by {finding.author!r} does not verify"
    assert main(["verify", "--store", str(stores)]) == 1
    assert f"{finding.group} {finding.author} {finding.seq} signature_verifies" in capsys.readouterr().out


def test_a_row_that_no_longer_decodes_is_found(stores: Path) -> None:
    database = stores / "alice" / SQLITE_FILE
    originator, version, state = _rows(database)[3]
    _rewrite(database, originator, version, state[:-7])
    verification = _verify(database.parent)
    assert [finding.rule for finding in verification.findings] == ["row_decodes"]


def test_no_store_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["verify", "--store", str(tmp_path)]) == 2


def test_a_refusal_that_no_longer_holds_is_found(stores: Path) -> None:
    store = open_store(stores / "alice")
    try:
        identity, group = store.replica_keys()[0]
        events = store.replica_events(identity, group)
    finally:
        store.close()
    index, accepted = next((i, e) for i, e in enumerate(events) if isinstance(e, EnvelopeAccepted) and e.envelope.seq > 1)
    refused = EnvelopeRefused(accepted.envelope, accepted.id, "bob", "author_chain_continues", "PEER_E_INVALID_RECORD", "edited", accepted.at)
    judged, findings = audit.verify_replica(identity, group, [*events[:index], refused])
    assert judged == sum(isinstance(e, EnvelopeAccepted) for e in events[:index]) + 1
    assert [(f.rule, f.author, f.seq) for f in findings] == [("refusal_holds", accepted.envelope.author, accepted.envelope.seq)]
    assert audit.verify_replica(identity, group, events[: index + 1])[1] == []


@attrs.frozen
class Promotion:
    """alice makes bob, a member since 00:00, an administrator at 01:00; both synchronized."""

    stores: Path
    alice: str
    bob: str
    group: str


@pytest.fixture
def promotion(tmp_path: Path) -> Promotion:
    clock = [T0]
    alice, bob = (Peer(open_store(tmp_path / who), clock=lambda: clock[0], settings=PeerSettings(address=who)) for who in ("alice", "bob"))
    alice_name, bob_name = alice.create_identity("alice", "Alice"), bob.create_identity("bob", "Bob")
    handle = alice.create_group(alice_name, "club")
    alice.connect(handle)
    bob.connect(bob.join(bob_name, alice.create_invitation(handle, bob.identity_xml(bob_name))))
    network.synchronize({"alice": alice, "bob": bob})
    clock[0] = T0 + timedelta(hours=1)
    bob_key = alice.members(handle, 0, bob_name)[0].credential.public_key  # type: ignore[union-attr]
    alice.issue_credentials(handle, bob_name, CredentialRequest(bob_key, (ROLE_ADMIN,)), 1)
    network.synchronize({"alice": alice, "bob": bob})
    return Promotion(tmp_path, alice_name, bob_name, alice.group_properties(handle).group_peer_name)


def test_one_command_tells_who_made_bob_an_administrator_when_and_on_whose_authority(
    promotion: Promotion, capsys: pytest.CaptureFixture[str],
) -> None:
    alice_name, bob_name = promotion.alice, promotion.bob
    assert main(["log", "--store", str(promotion.stores / "bob"), "--group", promotion.group]) == 0
    promotions = [line for line in capsys.readouterr().out.splitlines() if "PEER_GROUP_ROLE_ADMIN from" in line and bob_name in line]
    assert len(promotions) == 1
    assert re.match(rf"\[\d+\] 2026-01-01T01:00:00Z  {re.escape(alice_name)} \(Alice\) #", promotions[0]), promotions[0]
    assert f"CredentialIssued: made {bob_name} (Bob) PEER_GROUP_ROLE_ADMIN" in promotions[0]
    assert promotions[0].endswith(
        f"delivered stored, on the authority of the group root <- {alice_name} (Alice) as PEER_GROUP_ROLE_ADMIN (from {alice_name} at alice)"
    )


def _json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_members_as_of_a_time_or_an_event_show_bob_before_and_after_his_promotion(
    promotion: Promotion, capsys: pytest.CaptureFixture[str],
) -> None:
    store = str(promotion.stores / "bob")

    def bobs_roles(*as_of: str) -> list[str]:
        assert main(["members", "--store", store, "--json", *as_of]) == 0
        lines = [line for line in _json_lines(capsys) if line["identity"] == promotion.bob]
        assert len(lines) == 1
        return list(lines[0]["roles"])

    assert bobs_roles() == ["PEER_GROUP_ROLE_ADMIN"]
    assert bobs_roles("--at", "2026-01-01T00:30:00Z") == ["PEER_GROUP_ROLE_MEMBER"]
    assert main(["log", "--store", store, "--json"]) == 0
    promoted_at = next(line["position"] for line in _json_lines(capsys) if "PEER_GROUP_ROLE_ADMIN from" in line["effect"])
    assert bobs_roles("--event", str(promoted_at - 1)) == ["PEER_GROUP_ROLE_MEMBER"]
    assert bobs_roles("--event", str(promoted_at)) == ["PEER_GROUP_ROLE_ADMIN"]


def test_synchronized_replicas_show_one_digest_and_each_store_its_identities(
    promotion: Promotion, capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["groups", "--store", str(promotion.stores), "--json"]) == 0
    groups = _json_lines(capsys)
    assert [group["identity"] for group in groups] == [promotion.alice, promotion.bob]
    assert groups[0]["digest"] == groups[1]["digest"]
    assert {group["phase"] for group in groups} == {"synchronized"}
    assert main(["identities", "--store", str(promotion.stores), "--json"]) == 0
    assert [(i["peer_name"], i["friendly_name"], i["groups"]) for i in _json_lines(capsys)] == [
        (promotion.alice, "Alice", [promotion.group]), (promotion.bob, "Bob", [promotion.group]),
    ]


def test_the_log_as_json_lines_carries_every_field(stores: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["log", "--store", str(stores / "alice"), "--json"]) == 0
    entries = _json_lines(capsys)
    assert entries and all(set(entry) == {"store", "position", "at", "identity", "group", "author", "seq", "event", "effect", "refused"} for entry in entries)
    assert entries[0]["event"] == "ReplicaCreated"
    assert any(entry["event"] == "RecordPublished" and entry["effect"].startswith("deleted record") for entry in entries)


def test_an_edited_snapshot_is_found_though_every_event_still_verifies(stores: Path) -> None:
    """A snapshot lies outside the hash chain and an open starts from it: editing one would
    change what the peer believes, so verify checks it against the events."""
    database = stores / "alice" / SQLITE_FILE
    with sqlite3.connect(database) as db:
        rows = list(db.execute("select originator_id, originator_version, state from stored_snapshots"))
        assert rows, "the replay left no snapshot to edit"
        originator, version, state = rows[-1]
        assert b'"phase":"synchronized"' in state
        db.execute(
            "update stored_snapshots set state = ? where originator_id = ? and originator_version = ?",
            (state.replace(b'"phase":"synchronized"', b'"phase":"deleted"'), originator, version),
        )
    store = open_store(stores / "alice")
    replica = next(key for key in store.replica_keys())
    assert not store.replica_log(*replica).state.present  # what an open now believes
    found = _verify(stores / "alice")
    assert [finding.rule for finding in found.findings] == ["snapshot_matches_log"]
    assert f"version {version}" in found.findings[0].message
