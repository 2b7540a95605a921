"""The ``peerstate`` command on the real API and stores: ``replay``'s lines, summary, exit
status, JSON lines and store directories; and what every command shares: ``--version``,
help with examples and exit statuses, colour and progress only on a terminal, one-line
errors, and ``docs/cli.md`` naming every command and option."""

from __future__ import annotations

import json
import re
import shlex
import sqlite3
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from scenario_fakes import scenario_file

from peerstate import cli
from peerstate.cli import main
from peerstate.locations import SQLITE_FILE
from peerstate.store import open_store

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
        "2 passed, 0 failed",
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
        "1 passed, 3 failed",
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
        "1 passed, 1 failed",
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
    assert (status, err, lines[-1]) == (2, "", "1 passed, 1 failed")
    assert [json.loads(line) for line in lines[:-1]] == [
        {"file": str(good), "index": 0, "kind": "call", "action": "PeerCreatePeerName",
         "peer": "alice", "hresult": "S_OK", "passed": True, "difference": ""},
        {"file": str(good), "index": 1, "kind": "call", "action": "PeerEnumIdentities",
         "peer": "bob", "hresult": "S_OK", "passed": False,
         "difference": "phPeerEnum: 0 items where 1 are expected: expected {\"$len\": 1}, got []"},
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
    assert (status, lines) == (2, ["0 passed, 0 failed"])
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
            f"{GREEN}1 passed, 0 failed{RESET}\n"
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
        f"{RED}0 passed, 1 failed{RESET}\n"
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
    monkeypatch.setattr(cli, "stores_under", lambda location: list(schemas))
    monkeypatch.setattr(cli, "open_store", lambda location: open_store(schemas[location]))
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

    monkeypatch.setattr(cli, "verify_store", broken)
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
