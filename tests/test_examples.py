"""The team chat example (``examples/team_chat``) end to end, as its README runs it: one
process per command, from the repository root, in a temporary data directory."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

REPO = Path(__file__).resolve().parent.parent
SIGNATURE = b'"signature":"'


@attrs.frozen
class Run:
    status: int
    out: str
    err: str


def chat(data: Path, *arguments: str) -> Run:
    done = subprocess.run(
        [sys.executable, "-m", "examples.team_chat", "--data", str(data), *arguments],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def ok(data: Path, *arguments: str) -> str:
    run = chat(data, *arguments)
    assert run.status == 0, run
    return run.out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Run]]:
    """Alice makes a team and invites Bob, who joins; Alice posts; everyone syncs. The data
    directory, and what the steps worth checking printed."""
    data = tmp_path_factory.mktemp("chat")
    ok(data, "create-team", "alice", "dev")
    ok(data, "invite", "alice", "dev", "bob")
    ok(data, "join", "bob", str(data / "invitations" / "dev-bob.xml"))
    ok(data, "post", "alice", "dev", "Welcome to dev!")
    seen = {"before sync": chat(data, "messages", "bob", "dev")}
    ok(data, "sync")
    seen["after sync"] = chat(data, "messages", "bob", "dev")
    seen["members"] = chat(data, "members", "bob", "dev")
    return data, seen


def copy_of(session: tuple[Path, dict[str, Run]], tmp_path: Path) -> Path:
    """A copy of the session's data, for a test that changes it."""
    return Path(shutil.copytree(session[0], tmp_path / "data"))


def test_the_team_is_made_with_its_creator_as_administrator(tmp_path: Path) -> None:
    out = ok(tmp_path, "create-team", "alice", "dev")
    assert "alice created team dev" in out
    assert ok(tmp_path, "members", "alice", "dev").split() == ["alice", "admin"]
    again = chat(tmp_path, "create-team", "alice", "dev")
    assert again.status == 1 and "already has a team called 'dev'" in again.err


def test_bob_sees_alices_message_only_after_sync(session: tuple[Path, dict[str, Run]]) -> None:
    _, seen = session
    assert seen["before sync"].status == 1
    assert seen["before sync"].err.startswith("error: PEER_E_GROUP_NOT_READY ")
    assert seen["after sync"].status == 0, seen["after sync"]
    assert seen["after sync"].out.rstrip().endswith("] alice: Welcome to dev!")
    assert [line.split() for line in seen["members"].out.splitlines()] == [
        ["alice", "admin", "present"], ["bob", "member", "present"],
    ]


def test_a_member_cannot_invite(session: tuple[Path, dict[str, Run]], tmp_path: Path) -> None:
    data = copy_of(session, tmp_path)
    refused = chat(data, "invite", "bob", "dev", "carol")
    assert refused.status == 1
    assert refused.err.startswith("error: PEER_E_NOT_AUTHORIZED "), refused
    assert len(refused.err.splitlines()) == 1
    assert not (data / "invitations" / "dev-carol.xml").exists()
    ok(data, "invite", "alice", "dev", "carol")  # an administrator can


def test_the_audit_passes_on_clean_data_and_tells_who_did_what(session: tuple[Path, dict[str, Run]]) -> None:
    data, _ = session
    run = chat(data, "audit")
    assert run.status == 0, run
    assert "2 store(s) verified: 0 finding(s)" in run.out
    assert "FINDING" not in run.out
    history = run.out.splitlines()
    assert any("CredentialIssued: made " in line and "(bob) PEER_GROUP_ROLE_MEMBER" in line and "(alice) #" in line for line in history)
    assert any("(bob) #" in line and "CredentialTaken" in line for line in history)
    assert any("(alice) #" in line and "RecordPublished: added record" in line for line in history)


def test_the_audit_fails_once_a_byte_of_a_store_is_changed(session: tuple[Path, dict[str, Run]], tmp_path: Path) -> None:
    data = copy_of(session, tmp_path)
    assert chat(data, "audit").status == 0  # the copy holds before the edit
    database = sqlite3.connect(data / "users" / "bob" / "peer.sqlite3")
    with database:
        key, version, state = database.execute(
            "SELECT originator_id, originator_version, state FROM stored_events WHERE instr(state, ?) > 0",
            (b'"RecordPublished"',),
        ).fetchone()
        at = state.index(SIGNATURE) + len(SIGNATURE) + 20  # a character inside the signature's base64
        edited = state[:at] + (b"B" if state[at:at + 1] == b"A" else b"A") + state[at + 1:]
        assert edited != state and len(edited) == len(state)
        database.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (edited, key, version),
        )
    database.close()
    run = chat(data, "audit")
    assert run.status == 1, run
    findings = [line for line in run.out.splitlines() if line.startswith("FINDING bob: ")]
    assert any("signature_verifies: " in line for line in findings), run.out
    assert not [line for line in findings if "''" in line], "a name is quoted once, never as 'name''s"
    assert re.search(r"^2 store\(s\) verified: [1-9][0-9]* finding\(s\)$", run.out, re.MULTILINE), run.out
    assert "==" not in run.out  # a store that fails tells no history
