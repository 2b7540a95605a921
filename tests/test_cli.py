"""The ``peerstate`` command on the real API and stores: ``replay``'s lines, summary, exit
status, JSON lines and store directories; and what every command shares: ``--version``,
help with examples and exit statuses, colour and progress only on a terminal, one-line
errors, and ``docs/cli.md`` naming every command and option."""

from __future__ import annotations

import json
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from scenario_fakes import scenario_file

from peerstate import bounds, cli
from peerstate.cli import main, store_commands
from peerstate.storage.locations import SQLITE_FILE
from peerstate.storage.opening import open_store

NAME = {"peer": "alice", "call": "PeerCreatePeerName", "args": {"pwzClassifier": "chess"},
        "check": {"ppwzPeerName": "0.chess"}}
EMPTY = {"peer": "bob", "call": "PeerEnumIdentities", "check": {"phPeerEnum": []}}


def run(capsys: pytest.CaptureFixture[str], *arguments: Any) -> tuple[int, str, str]:
    """The exit status, stdout and stderr of ``peerstate ARGUMENTS...``."""
    status = main(list(map(str, arguments)))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def replay(capsys: pytest.CaptureFixture[str], *arguments: Any) -> tuple[int, list[str], str]:
    status, out, err = run(capsys, "replay", *arguments)
    return status, out.splitlines(), err


def test_every_step_passes_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = scenario_file(tmp_path, [NAME, EMPTY])
    assert replay(capsys, file) == (0, [
        f"{file} steps[0] alice PeerCreatePeerName S_OK PASS",
        f"{file} steps[1] bob PeerEnumIdentities S_OK PASS",
        "2 passed, 0 failed, 0 invalid",
    ], "")


def test_a_failed_step_exit_1_and_says_what_differed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = scenario_file(tmp_path, [
        {**NAME, "check": {"ppwzPeerName": "0.checkers"}},
        {**EMPTY, "expect": "PEER_E_NOT_FOUND"},
        {"sim": "converged", "group": "no-such-group"},
        NAME,
    ])
    status, lines, _ = replay(capsys, file)
    assert status == 1
    assert lines == [
        f'{file} steps[0] alice PeerCreatePeerName S_OK FAIL: '
        f'ppwzPeerName: differs: expected "0.checkers", got "0.chess"',
        f"{file} steps[1] bob PeerEnumIdentities S_OK FAIL: expected PEER_E_NOT_FOUND, got S_OK",
        f"{file} steps[2] - converged - FAIL: no peer holds a synchronized replica of 'no-such-group'",
        f"{file} steps[3] alice PeerCreatePeerName S_OK PASS",
        "1 passed, 3 failed, 0 invalid",
    ]


def test_an_invalid_file_exit_2_while_the_valid_files_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario_file(tmp_path, [NAME], name="b/valid.json")
    bad = scenario_file(tmp_path, [NAME, {**EMPTY, "args": {"pwzIdentity": "x"}}], name="a/bad.json")
    failing = scenario_file(tmp_path, [{**NAME, "expect": "E_INVALIDARG"}], name="c.json")
    status, lines, err = replay(capsys, tmp_path)
    assert status == 2
    assert lines == [
        f"{tmp_path / 'b/valid.json'} steps[0] alice PeerCreatePeerName S_OK PASS",
        f"{failing} steps[0] alice PeerCreatePeerName S_OK FAIL: expected E_INVALIDARG, got S_OK",
        "1 passed, 1 failed, 1 invalid",
    ]
    assert err == (
        f"invalid: {bad}: steps[1].args.pwzIdentity: 'pwzIdentity' is not an in-parameter of "
        f"PeerEnumIdentities (it has: none)\n"
    )


def test_json_lines_then_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = scenario_file(tmp_path, [NAME, {**EMPTY, "check": {"phPeerEnum": {"$len": 1}}}],
                         name="good.json")
    bad = scenario_file(tmp_path, [{"sim": "advance_clock"}], name="bad.json")
    status, lines, err = replay(capsys, good, bad, "--json")
    assert (status, err) == (2, "")
    assert json.loads(lines[-1]) == {"summary": {
        "passed": 1, "failed": 1, "invalid": 1, "files": 2, "of": 2, "interrupted": False,
    }}
    assert [json.loads(line) for line in lines[:-1]] == [
        {"file": str(good), "index": 0, "kind": "call", "action": "PeerCreatePeerName",
         "peer": "alice", "hresult": "S_OK", "passed": True, "difference": ""},
        {"file": str(good), "index": 1, "kind": "call", "action": "PeerEnumIdentities",
         "peer": "bob", "hresult": "S_OK", "passed": False,
         "difference": "phPeerEnum: 0 items where 1 are expected"},
        {"file": str(bad), "invalid": True, "path": "steps[0]",
         "message": "'seconds' is a required property (an advance_clock step has sim and seconds)"},
    ]


def test_stores_go_under_dir_per_peer_and_per_file_stem_for_several_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = scenario_file(tmp_path, [NAME, EMPTY], name="one.json")
    two = scenario_file(tmp_path, [NAME], name="two.json")
    single, several = tmp_path / "single", tmp_path / "several"
    assert replay(capsys, one, "--store", single)[0] == 0
    assert sorted(p.name for p in single.iterdir()) == ["alice", "bob"]
    assert replay(capsys, one, two, "--store", several)[0] == 0
    assert sorted(str(p.relative_to(several)) for p in several.glob("*/*")) == [
        "one/alice", "one/bob", "two/alice"
    ]
    status, lines, err = replay(capsys, one, "--store", single)
    assert (status, lines) == (2, ["0 passed, 0 failed, 1 invalid"])
    assert f"invalid: {one}: (top level): the store of peer 'alice'" in err


def test_replay_needs_a_path_and_the_command_needs_a_subcommand(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for argv in ([], ["replay"], ["unknown"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2
    assert "usage: peerstate" in capsys.readouterr().err


COMMANDS = ("replay", "verify", "log", "identities", "groups", "members")
IDENTITY = {"peer": "alice", "call": "PeerIdentityCreate",
            "args": {"pwzClassifier": "chess", "pwzFriendlyName": "Alice"}}
GREEN, RED, RESET = "\x1b[32m", "\x1b[31m", "\x1b[0m"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


@pytest.fixture
def stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The stores of two peers that each made an identity, as ``replay --store`` leaves them."""
    file = scenario_file(tmp_path, [IDENTITY, {**IDENTITY, "peer": "bob"}])
    assert main(["replay", str(file), "--store", str(tmp_path / "stores")]) == 0
    capsys.readouterr()
    return tmp_path / "stores"


def _cut_last_identity_row(store: Path) -> None:
    """Take the last row of a store's identity log out: ``verify`` finds it (ledger_matches)."""
    with sqlite3.connect(store / SQLITE_FILE) as db:
        db.execute(
            "delete from stored_events where rowid = (select max(rowid) from stored_events "
            "where topic = 'peerstate.IdentityLog.Recorded')"
        )


def _help(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main([*arguments, "--help"])
    assert caught.value.code == 0
    return capsys.readouterr().out


def _help_parts(text: str) -> tuple[list[str], str]:
    """A help text's examples, and its exit status part."""
    found = re.search(r"\nexamples:\n((?:  .+\n)+)\nexit status:\n((?:  .+\n)+)$", text)
    assert found, text
    return [line.strip() for line in found[1].splitlines()], found[2]


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"peerstate {metadata.version('peerstate')}\n"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_shows_examples_that_parse_and_the_exit_statuses(
    command: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(capsys, *filter(None, [command]))
    examples, statuses = _help_parts(text)
    assert 2 <= len(examples) <= 4
    for example in examples:
        words = shlex.split(example.split(" | ")[0])
        assert words[0] == "peerstate" and (command is None or words[1] == command), example
        cli._parser().parse_args(words[1:])  # a usage error would exit
    assert re.findall(r"^  (\d)  ", statuses, re.MULTILINE) == ["0", "1", "2"]
    if command is None:
        assert all(re.search(rf"^    {name} ", text, re.MULTILINE) for name in COMMANDS)


@pytest.mark.parametrize(("terminal", "options", "no_color", "coloured"), [
    (True, [], None, True),
    (True, [], "", True),  # an empty NO_COLOR is unset (no-color.org)
    (False, [], None, False),
    (True, [], "1", False),
    (True, ["--color", "never"], None, False),
    (False, ["--color", "always"], None, True),
    (True, ["--color", "always"], "1", True),  # the explicit option wins
    (True, ["--json"], None, False),
    (False, ["--json", "--color", "always"], None, False),
])
def test_colour_only_on_a_terminal_and_without_no_color_unless_told(
    terminal: bool, options: list[str], no_color: str | None, coloured: bool, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = scenario_file(tmp_path, [NAME])
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    status, out, _ = run(capsys, "replay", file, *options)
    assert status == 0
    assert ("\x1b[" in out) == coloured
    if coloured:
        assert out == (
            f"{file} steps[0] alice PeerCreatePeerName S_OK {GREEN}PASS{RESET}\n"
            f"{GREEN}1 passed, 0 failed, 0 invalid{RESET}\n"
        )


def test_colour_and_debug_go_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = scenario_file(tmp_path, [NAME])
    before = run(capsys, "--color", "always", "replay", file)
    assert before == run(capsys, "replay", file, "--color", "always")
    assert f"{GREEN}PASS{RESET}" in before[1]
    assert "\x1b[" not in run(capsys, "--color", "always", "replay", file, "--color", "never")[1]


def test_a_failed_step_and_a_finding_are_red(
    tmp_path: Path, stores: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = scenario_file(tmp_path, [{**NAME, "expect": "E_INVALIDARG"}])
    assert run(capsys, "replay", file, "--color", "always") == (1, (
        f"{file} steps[0] alice PeerCreatePeerName S_OK {RED}FAIL{RESET}: expected E_INVALIDARG, got S_OK\n"
        f"{RED}0 passed, 1 failed, 0 invalid{RESET}\n"
    ), "")
    summary = "2 store(s), 0 replica(s), 0 envelope(s): {} finding(s)"
    assert run(capsys, "verify", "--store", stores, "--color", "always") == (
        0, f"{GREEN}{summary.format(0)}{RESET}\n", ""
    )
    _cut_last_identity_row(stores / "bob")
    status, out, _ = run(capsys, "verify", "--store", stores, "--color", "always")
    finding, last = out.splitlines()
    assert status == 1
    assert finding.startswith(f"{RED}{stores / 'bob'}: the identity log - - ledger_matches: ")
    assert finding.endswith(RESET)
    assert last == f"{RED}{summary.format(1)}{RESET}"


def test_progress_on_stderr_only_when_it_is_a_terminal(
    tmp_path: Path, stores: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    one = scenario_file(tmp_path, [NAME], name="one.json")
    two = scenario_file(tmp_path, [EMPTY], name="two.json")
    piped = run(capsys, "replay", one, two)
    verified = run(capsys, "verify", "--store", stores)
    assert (piped[2], verified[2]) == ("", "")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "1000")
    status, out, err = run(capsys, "replay", one, two)
    assert (status, out) == piped[:2]  # stdout is the same
    assert err == f"\r[0/2 files] {one}\x1b[K\r\x1b[K\r[1/2 files] {two}\x1b[K\r\x1b[K"
    status, out, err = run(capsys, "verify", "--store", stores)
    assert (status, out) == verified[:2]
    assert err == (
        f"\r[0/2 stores] {stores / 'alice'}\x1b[K\r\x1b[K\r[1/2 stores] {stores / 'bob'}\x1b[K\r\x1b[K"
    )
    monkeypatch.setenv("COLUMNS", "20")  # a longer line would wrap, and \r would not go back over it
    err = run(capsys, "replay", one, two)[2]
    assert err.startswith("\r[0/2 files] " + str(one)[:19 - len("[0/2 files] ")] + "\x1b[K")


@pytest.mark.parametrize("command", ["verify", "replay"])
def test_a_peer_error_is_one_line_with_its_hresult(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    location = "postgresql://user:secret@127.0.0.1:1/db?schema=Not_Plain"
    argv = ["verify", "--store", location] if command == "verify" else ["replay", scenario_file(tmp_path, [NAME]), "--store", location]
    assert run(capsys, *argv) == (2, "", (
        "peerstate: E_INVALIDARG (0x80070057): the schema 'Not_Plain' is not a lower-case name of at most 63 characters\n"
    ))


@pytest.mark.parametrize("command", ["verify", "replay"])
def test_an_unreachable_postgresql_store_is_one_line_without_its_password(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    location = "postgresql://user:secret@127.0.0.1:1/db"  # nothing listens on port 1
    argv = ["verify", "--store", location] if command == "verify" else ["replay", scenario_file(tmp_path, [NAME]), "--store", location]
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("peerstate: cannot open the store at postgresql://user:***@127.0.0.1:1/db: connection failed: ")
    assert err.count("\n") == 1 and "secret" not in err


@pytest.mark.parametrize("json_lines", [False, True])
@pytest.mark.parametrize("command", ["verify", "log", "identities", "groups", "members"])
def test_a_postgresql_store_is_named_without_its_password(
    command: str, json_lines: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Findings, headings, lines, JSON and progress name a store; a PostgreSQL one's password
    stays out of all of them. The stores are SQLite ones standing in for a server's schemas."""
    scenario = DOCS.parents[1] / "scenarios" / "groups" / "password-join.json"
    assert main(["replay", str(scenario), "--store", str(tmp_path / "stores")]) == 0
    capsys.readouterr()
    schemas = {f"postgresql://user:secret@db.example/peers?schema={path.name}": path for path in sorted((tmp_path / "stores").iterdir())}
    monkeypatch.setattr(store_commands, "stores_under", lambda location: list(schemas))
    monkeypatch.setattr(store_commands, "open_store", lambda location, **how: open_store(schemas[location], **how))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    if command == "verify":
        _cut_last_identity_row(next(iter(schemas.values())))  # a finding, which names its store
    status, out, err = run(capsys, command, "--store", "postgresql://user:secret@db.example/peers", *(["--json"] if json_lines else []))
    assert status == (1 if command == "verify" else 0)
    assert "postgresql://user:***@db.example/peers?schema=" in out
    assert "secret" not in out + err


@pytest.mark.parametrize("command", ["verify", "log", "identities", "groups", "members"])
def test_a_file_that_is_no_database_is_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / SQLITE_FILE).write_bytes(b"not a database " * 100)
    assert run(capsys, command, "--store", tmp_path) == (
        2, "", f"peerstate: cannot open the store at {tmp_path}: file is not a database\n"
    )


def test_a_store_directory_that_cannot_be_made_is_one_line_before_any_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = scenario_file(tmp_path, [NAME])
    assert run(capsys, "replay", file, "--store", file / "stores") == (
        2, "", f"peerstate: cannot make the store directory {file / 'stores'}: Not a directory\n"
    )


def test_an_unexpected_error_is_one_line_and_its_traceback_only_with_debug(
    stores: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(store: object) -> None:
        raise RuntimeError("boom\non two lines")

    monkeypatch.setattr(store_commands, "verify_store", broken)
    line = "peerstate: unexpected RuntimeError: boom on two lines (--debug shows where)\n"
    assert run(capsys, "verify", "--store", stores) == (1, "", line)
    status, out, err = run(capsys, "verify", "--store", stores, "--debug")
    assert (status, out) == (1, "")
    assert err.startswith("Traceback (most recent call last):") and "in broken" in err
    assert err.endswith(f"RuntimeError: boom\non two lines\n{line}")


@pytest.mark.parametrize("command", ["verify", "log", "identities", "groups", "members"])
def test_no_store_is_exit_2_and_one_line(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, command, "--store", tmp_path / "none") == (
        2, "", f"peerstate: no store at {tmp_path / 'none'}\n"
    )


def test_no_scenario_file_is_exit_2_and_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "replay", tmp_path) == (2, "", f"peerstate: no scenario files in {tmp_path}\n")


@pytest.mark.parametrize(("argv", "says"), [
    (["groups", "--store", "s", "--at", "yesterday"], "argument --at: 'yesterday' is not an ISO-8601 time"),
    (["members", "--store", "s", "--at", "2026-01-01T00:00:00+01:00"], "is not a UTC time"),
    (["members", "--store", "s", "--event", "0"], "argument --event: '0' is not an event's place"),
    (["verify", "--store", "s", "--color", "sometimes"], "argument --color: invalid choice"),
    (["log"], "the following arguments are required: --store"),
])
def test_bad_arguments_are_exit_2(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
def test_docs_cli_md_has_each_command_with_its_options_and_examples(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = DOCS.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `peerstate (\w+)`\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL))
    help_text = _help(capsys, command)
    options = set(re.findall(r"(?<![\w-])--[a-z]+", help_text)) - {"--help", "--color", "--debug"}
    assert options <= set(re.findall(r"(?<![\w-])--[a-z]+", sections[command])), command
    assert re.findall(r"```sh\n(.*?)```", sections[command], re.DOTALL) == ["".join(
        f"{example}\n" for example in _help_parts(help_text)[0]
    )]  # the examples --help shows, which parse
    assert {"--version", "--color", "--debug", "NO_COLOR"} <= set(re.findall(r"--[a-z]+|NO_COLOR", text))


# Issue 23: read-only commands, JSON lines to the last, Ctrl-C, one-line errors, escaping ---

READ_ONLY = ("verify", "log", "identities", "groups", "members")
SCENARIOS = DOCS.parents[1] / "scenarios"


def _contents(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory``, byte for byte: what a command that fails must leave.
    Less what holds nothing of a store: the index (``-shm``) of a WAL database's log and an
    empty log (``-wal``), which a read-only reader leaves beside it and a writer removes."""
    return {
        str(path.relative_to(directory)): path.read_bytes() for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.name.endswith("-shm") and not (path.name.endswith("-wal") and not path.stat().st_size)
    }


def _plain_sqlite(file: Path) -> None:
    """A SQLite database that is not a peerstate store."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(file) as db:
        db.execute("create table notes (text)")
        db.execute("insert into notes values ('mine')")
    db.close()


@pytest.fixture
def group_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """alice's and bob's stores after a password join (their replica logs hold 7 and 8
    events, all at 2026-01-01T00:00:00Z), and the group's peer name."""
    stores = tmp_path / "group-stores"
    assert main(["replay", str(SCENARIOS / "groups" / "password-join.json"), "--store", str(stores)]) == 0
    capsys.readouterr()
    assert main(["groups", "--store", str(stores), "--json"]) == 0
    groups = {json.loads(line)["group"] for line in capsys.readouterr().out.splitlines()}
    (group,) = groups
    return stores, group


@pytest.mark.parametrize("given", ["directory", "its file", "another file"])
@pytest.mark.parametrize("command", READ_ONLY)
def test_a_sqlite_file_that_is_no_store_is_said_so_and_left_byte_for_byte(
    command: str, given: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "not-a-store"
    _plain_sqlite(directory / SQLITE_FILE)
    _plain_sqlite(directory / "data.sqlite3")
    before = _contents(tmp_path)
    store = {"directory": directory, "its file": directory / SQLITE_FILE, "another file": directory / "data.sqlite3"}[given]
    status, out, err = run(capsys, command, "--store", store)
    named = store if given == "another file" else directory
    assert (status, out) == (2, "")
    assert err.startswith(f"peerstate: {named} is not a peerstate store") and err.count("\n") == 1, err
    assert _contents(tmp_path) == before


@pytest.mark.parametrize("made", [b"", None])
def test_a_database_without_any_table_reads_as_the_empty_store_it_is_and_stays_so(
    made: bytes | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a store's making leaves when Ctrl-C or a crash cuts it short: an empty file, or
    a database with no table yet."""
    file = tmp_path / "cut-short" / SQLITE_FILE
    file.parent.mkdir()
    if made is None:
        with sqlite3.connect(file) as db:
            db.execute("PRAGMA journal_mode=WAL")
        db.close()
    else:
        file.write_bytes(made)
    before = _contents(tmp_path)
    assert run(capsys, "verify", "--store", file.parent) == (0, "1 store(s), 0 replica(s), 0 envelope(s): 0 finding(s)\n", "")
    assert run(capsys, "identities", "--store", file.parent) == (0, "", "")
    assert _contents(tmp_path) == before


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_stores_own_file_stands_for_its_directory(
    command: str, group_stores: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = group_stores[0] / "bob"
    before = _contents(group_stores[0])
    assert run(capsys, command, "--store", store / SQLITE_FILE) == run(capsys, command, "--store", store)
    assert run(capsys, command, "--store", store)[0] == 0
    assert _contents(group_stores[0]) == before


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_postgresql_schema_that_is_no_store_is_said_so_and_left_as_it_was(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from backends import postgres_server

    server = postgres_server()
    import psycopg

    schema = f"cli_not_a_store_{command}"
    tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name"
    with psycopg.connect(server, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        db.execute(f"CREATE SCHEMA {schema}")
        db.execute(f"CREATE TABLE {schema}.notes (text varchar)")
        try:
            status, out, err = run(capsys, command, "--store", f"{server}?schema={schema}")
            assert (status, out) == (2, "")
            assert err.startswith("peerstate: postgresql://") and " is not a peerstate store" in err, err
            assert db.execute(tables, (schema,)).fetchall() == [("notes",)]
        finally:
            db.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize("command", READ_ONLY)
def test_a_postgresql_store_is_read_read_only(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from backends import postgres_server

    server = postgres_server()
    import psycopg

    location = f"{server}?schema=cli_read_only"
    with psycopg.connect(server, autocommit=True) as db:
        for schema in ("cli_read_only_alice", "cli_read_only_bob"):
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        assert main(["replay", str(SCENARIOS / "groups" / "password-join.json"), "--store", location]) == 0
        capsys.readouterr()
        rows = "SELECT count(*) FROM cli_read_only_bob.peerstore_events"
        before = db.execute(rows).fetchall()
        status, out, err = run(capsys, command, "--store", location)
        assert (status, err) == (0, "")
        assert out.startswith("2 store(s), 2 replica(s)") if command == "verify" else "cli_read_only_bob" in out
        assert db.execute(rows).fetchall() == before


def _replay_mix(tmp_path: Path) -> list[Path]:
    """A file that passes, one with a failing step, and an invalid one."""
    return [
        scenario_file(tmp_path, [NAME], name="mix/a.json"),
        scenario_file(tmp_path, [{**NAME, "expect": "E_INVALIDARG"}], name="mix/b.json"),
        scenario_file(tmp_path, [{"sim": "advance_clock"}], name="mix/c.json"),
    ]


@pytest.mark.parametrize("command", COMMANDS)
def test_json_makes_every_line_of_stdout_json(
    command: str, tmp_path: Path, group_stores: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    stores, _ = group_stores
    if command == "replay":
        argv: list[Any] = ["replay", *_replay_mix(tmp_path)]
    else:
        argv = [command, "--store", stores]
        if command == "verify":
            _cut_last_identity_row(stores / "bob")  # a finding
    status, out, err = run(capsys, *argv, "--json")
    assert status == {"replay": 2, "verify": 1}.get(command, 0)
    assert err == ""
    lines = out.splitlines()
    assert len(lines) >= 2
    records = [json.loads(line) for line in lines]
    assert all(isinstance(record, dict) for record in records)
    if command == "replay":
        assert records[-1] == {"summary": {
            "passed": 1, "failed": 1, "invalid": 1, "files": 3, "of": 3, "interrupted": False,
        }}
    if command == "verify":
        assert records[-1] == {"summary": {
            "stores": 2, "of": 2, "replicas": 2, "envelopes": 10, "without_context": 0, "findings": 1, "old_password_groups": 0, "interrupted": False,
        }}


def test_ctrl_c_in_replay_is_one_line_and_the_partial_summary_exit_130(tmp_path: Path) -> None:
    for number in range(300):
        scenario_file(tmp_path / "many", [IDENTITY, NAME], name=f"s{number:03}.json")
    replaying = subprocess.Popen(
        [sys.executable, "-m", "peerstate", "replay", str(tmp_path / "many"), "--store", str(tmp_path / "stores")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a shell in the foreground leaves it
    )
    assert replaying.stdout is not None and replaying.stderr is not None
    first = replaying.stdout.readline()
    replaying.send_signal(signal.SIGINT)
    lines = [first.rstrip("\n"), *replaying.stdout.read().splitlines()]  # not communicate(): it would skip what readline buffered
    err = replaying.stderr.read()
    replaying.wait(timeout=120)
    assert (replaying.returncode, err) == (130, "peerstate: interrupted\n")
    summary = re.fullmatch(r"(\d+) passed, 0 failed, 0 invalid \(interrupted after (\d+) of 300 files\)", lines[-1])
    assert summary, lines[-1]
    assert int(summary[1]) == len(lines) - 1 == 2 * int(summary[2]) and int(summary[2]) < 300
    assert all(line.endswith(" PASS") for line in lines[:-1])
    assert main(["verify", "--store", str(tmp_path / "stores")]) == 0  # every store as consistent as before


def test_off_the_main_thread_the_commands_work_as_on_it(stores: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only the main thread may set a signal handler: ``replay`` and ``verify`` hold Ctrl-C
    back while they print an item's results only there."""
    statuses: list[int] = []
    thread = threading.Thread(target=lambda: statuses.append(main(["verify", "--store", str(stores), "--json"])))
    thread.start()
    thread.join()
    assert statuses == [0]
    assert json.loads(capsys.readouterr().out)["summary"]["stores"] == 2


@pytest.mark.parametrize("json_lines", [False, True])
def test_ctrl_c_in_verify_is_one_line_and_the_partial_summary_exit_130(
    json_lines: bool, stores: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    verified: list[object] = []
    verify_store = store_commands.verify_store

    def interrupted_at_the_second(store: Any) -> Any:
        if verified:
            raise KeyboardInterrupt
        verified.append(store)
        return verify_store(store)

    monkeypatch.setattr(store_commands, "verify_store", interrupted_at_the_second)
    before = _contents(stores)
    status, out, err = run(capsys, "verify", "--store", stores, *(["--json"] if json_lines else []))
    assert (status, err) == (130, "peerstate: interrupted\n")
    if json_lines:
        assert json.loads(out) == {"summary": {
            "stores": 1, "of": 2, "replicas": 0, "envelopes": 0, "without_context": 0, "findings": 0, "old_password_groups": 0, "interrupted": True,
        }}
    else:
        assert out == "1 store(s), 0 replica(s), 0 envelope(s): 0 finding(s) (interrupted after 1 of 2 stores)\n"
    assert _contents(stores) == before


@pytest.mark.parametrize("command", ["verify", "log", "replay"])
def test_a_postgresql_url_without_psycopg_says_to_install_the_extra(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    location = "postgresql://user:secret@127.0.0.1:1/db"
    file = scenario_file(tmp_path, [NAME])
    before = _contents(tmp_path)
    argv = ["replay", file, "--store", location] if command == "replay" else [command, "--store", location]
    assert run(capsys, *argv) == (
        2, "", "peerstate: a PostgreSQL store needs psycopg: pip install 'peerstate[postgres]'\n"
    )
    assert _contents(tmp_path) == before


def test_two_files_of_one_name_in_different_folders_get_stores_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    one = scenario_file(tmp_path, [IDENTITY], name="scenarios/a/same.json")
    two = scenario_file(tmp_path, [IDENTITY, {**IDENTITY, "peer": "bob"}], name="scenarios/b/same.json")
    stores = tmp_path / "stores"
    status, lines, err = replay(capsys, one, two, "--store", stores)
    assert (status, lines[-1], err) == (0, "3 passed, 0 failed, 0 invalid", "")
    assert sorted(str(path.relative_to(stores)) for path in stores.glob("*/*")) == [
        "a-same/alice", "b-same/alice", "b-same/bob",
    ]


@pytest.mark.parametrize(("argv", "says"), [
    (["members", "--group", "UNKNOWN"], "no replica of the group UNKNOWN in the stores at {stores}"),
    (["groups", "--group", "UNKNOWN"], "no replica of the group UNKNOWN in the stores at {stores}"),
    (["log", "--group", "UNKNOWN"], "no replica of the group UNKNOWN in the stores at {stores}"),
    (["members", "--event", "9"], "no replica in the stores at {stores} has an event 9: the longest log has 8"),
    (["groups", "--group", "{group}", "--event", "9"],
     "no replica of the group {group} in the stores at {stores} has an event 9: the longest log has 8"),
    (["members", "--at", "2025-12-31T23:59:59Z"],
     "no replica in the stores at {stores} existed at 2025-12-31T23:59:59Z: the first began at 2026-01-01T00:00:00Z"),
    (["groups", "--at", "2025-12-31T23:59:59Z"],
     "no replica in the stores at {stores} existed at 2025-12-31T23:59:59Z: the first began at 2026-01-01T00:00:00Z"),
])
def test_what_names_no_replica_or_no_moment_of_one_is_exit_2_and_one_line(
    argv: list[str], says: str, group_stores: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    stores, group = group_stores
    before = _contents(stores)
    filled = [word.format(group=group) for word in argv]
    assert run(capsys, *filled, "--store", stores) == (2, "", f"peerstate: {says.format(stores=stores, group=group)}\n")
    assert _contents(stores) == before


def test_a_replica_that_does_not_reach_event_n_is_left_out(
    group_stores: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    stores, _ = group_stores
    status, out, _ = run(capsys, "members", "--store", stores, "--event", "8", "--json")
    assert status == 0
    assert {json.loads(line)["store"] for line in out.splitlines()} == {str(stores / "bob")}


@pytest.mark.parametrize("command", READ_ONLY)
def test_an_empty_store_is_a_usage_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _plain_sqlite(tmp_path / SQLITE_FILE)  # what an empty --store used to open: the current directory
    before = _contents(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main([command, "--store", ""])
    assert caught.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "argument --store: an empty location names no store (write . for this directory)" in captured.err
    assert _contents(tmp_path) == before


def test_a_misspelled_call_gets_did_you_mean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = scenario_file(tmp_path, [{**IDENTITY, "call": "PeerIdentityCreat"}])
    before = _contents(tmp_path)
    assert run(capsys, "replay", file) == (2, "0 passed, 0 failed, 1 invalid\n", (
        f"invalid: {file}: steps[0].call: 'PeerIdentityCreat' is not a function a scenario may call "
        "(docs/scenario-format.md §3); did you mean 'PeerIdentityCreate'?\n"
    ))
    assert _contents(tmp_path) == before


def test_a_failed_len_check_prints_the_lengths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = scenario_file(tmp_path, [IDENTITY, {**IDENTITY, "call": "PeerEnumIdentities", "args": {},
                                               "check": {"phPeerEnum": {"$len": 2}}}])
    status, lines, _ = replay(capsys, file)
    assert status == 1
    assert lines[1] == f"{file} steps[1] alice PeerEnumIdentities S_OK FAIL: phPeerEnum: 1 items where 2 are expected"


EVIL = "Eve\n== forged heading\x1b[31m"


@pytest.fixture
def evil_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store whose identity, group and member carry a newline and an ANSI escape in their
    friendly names, and a second identity whose friendly name is very long: as a peer that
    does not check names (another build, an edited store) may leave them."""
    from peerstate import Peer, names
    from peerstate.domain import rules

    for module, check in ((names, "require_friendly_name"), (rules, "friendly_name_is_valid")):  # the calls', admission's
        monkeypatch.setattr(module, check, lambda name, code="E_INVALIDARG": name)
    location = tmp_path / "evil"
    store = open_store(location)
    peer = Peer(store)
    eve = peer.create_identity("chess", EVIL)
    peer.create_identity("chess", "L" * 5000)
    peer.create_group(eve, "club", friendly_name=f"Club {EVIL}")
    peer.close()
    store.close()
    monkeypatch.undo()
    return location


@pytest.mark.parametrize(("command", "headings"), [("identities", 0), ("groups", 0), ("members", 1), ("log", 1)])
def test_stored_text_is_escaped_and_cut_so_it_cannot_forge_a_line(
    command: str, headings: int, evil_store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, command, "--store", evil_store)
    records = run(capsys, command, "--store", evil_store, "--json")[1].splitlines()
    assert status == 0
    assert "\x1b" not in out
    assert len(out.splitlines()) == len(records) + headings  # no line made by a name
    assert "Eve\\n== forged heading\\x1b[31m" in out
    if command == "identities":
        cut = bounds.MAX_SHOWN_CHARS
        assert "L" * cut in out and "L" * (cut + 1) not in out
        assert f"{'L' * cut}... ({5000 - cut} more characters)" in out
    values = [str(value) for record in records for value in json.loads(record).values()]
    assert any(EVIL in value for value in values)  # JSON lines carry the text whole, JSON escaping it


def test_python_m_peerstate_is_the_peerstate_command(tmp_path: Path) -> None:
    file = scenario_file(tmp_path, [NAME])
    version = subprocess.run([sys.executable, "-m", "peerstate", "--version"], capture_output=True, text=True, check=False)
    assert (version.returncode, version.stdout) == (0, f"peerstate {metadata.version('peerstate')}\n")
    replayed = subprocess.run([sys.executable, "-m", "peerstate", "replay", str(file), "--json"],
                              capture_output=True, text=True, check=False)
    assert replayed.returncode == 0
    assert json.loads(replayed.stdout.splitlines()[-1])["summary"]["passed"] == 1


def test_groups_and_verify_name_a_group_whose_password_a_member_could_join_with(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A group made before the password exchange (issue 30; the v0.1.0 fixture's club) is
    named by ``verify``'s summary and marked ``"password": "verifier"`` by ``groups``; one
    made today is marked ``"exchange"``, and ``verify`` names none."""
    old = tmp_path / "old"
    old.mkdir()
    fixture = Path(__file__).resolve().parent / "compat" / "v0.1.0-a578c78" / "sqlite" / "alice" / SQLITE_FILE
    (old / SQLITE_FILE).write_bytes(fixture.read_bytes())
    scenario = DOCS.parents[1] / "scenarios" / "groups" / "password-join.json"
    assert main(["replay", str(scenario), "--store", str(tmp_path / "new")]) == 0
    capsys.readouterr()
    for store, scheme, named in ((old, "verifier", 1), (tmp_path / "new", "exchange", 0)):
        status, out, _ = run(capsys, "groups", "--store", str(store), "--json")
        assert status == 0
        schemes = {json.loads(line)["password"] for line in out.splitlines()}
        assert scheme in schemes and schemes <= {scheme, None}
        status, out, _ = run(capsys, "verify", "--store", str(store), "--json")
        assert status == 0 and json.loads(out.splitlines()[-1])["summary"]["old_password_groups"] == named
    status, out, _ = run(capsys, "verify", "--store", str(old))
    assert "1 group(s) still check their password by a verifier members could join with" in out
