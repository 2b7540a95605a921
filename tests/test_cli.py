"""``peerstate replay``: lines, summary, exit status, JSON lines and store directories, on
the real API and stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scenario_fakes import scenario_file

from peerstate.cli import main

NAME = {"peer": "alice", "call": "PeerCreatePeerName", "args": {"pwzClassifier": "chess"},
        "check": {"ppwzPeerName": "0.chess"}}
EMPTY = {"peer": "bob", "call": "PeerEnumIdentities", "check": {"phPeerEnum": []}}


def replay(capsys: pytest.CaptureFixture[str], *arguments: Any) -> tuple[int, list[str], str]:
    status = main(["replay", *map(str, arguments)])
    captured = capsys.readouterr()
    return status, captured.out.splitlines(), captured.err


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
