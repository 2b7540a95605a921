"""The pytest plugin (``peerstate.pytest_plugin``): scenario files collected and replayed by
plain pytest, run here on small projects that ``pytester`` lays out in a temporary
directory, on the example users are pointed to, and on this project's own configuration."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from peerstate.scenario import scenario_files

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "scenario_tests"
NAME = {"peer": "alice", "call": "PeerCreatePeerName", "args": {"pwzClassifier": "chess"},
        "check": {"ppwzPeerName": "0.chess"}}
"""A step that passes, quickly: an unsecured peer name needs no key."""


def scenario(path: Path, *steps: Any) -> Path:
    """A scenario file at ``path`` with these steps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": "peerstate-scenario/1", "name": path.name, "steps": list(steps)}
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def ini(pytester: pytest.Pytester, **options: Any) -> None:
    """The project's ``[tool.pytest.ini_options]``, making ``pytester.path`` the rootdir."""
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())
    pytester.makefile(".toml", pyproject=f"[tool.pytest.ini_options]\n{lines}")


def collected(pytester: pytest.Pytester, *arguments: str) -> list[str]:
    """The node ids a ``--collect-only`` run lists, sorted."""
    result = pytester.runpytest("--collect-only", "-q", *arguments)
    return sorted(line for line in result.outlines if "::" in line)


def test_a_passing_file_passes(pytester: pytest.Pytester) -> None:
    scenario(pytester.path / "chess.scenario.json", NAME, {**NAME, "peer": "bob"})
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_failing_file_fails_with_each_failed_step_and_what_differed(pytester: pytest.Pytester) -> None:
    file = scenario(
        pytester.path / "chess.scenario.json",
        NAME,
        {**NAME, "check": {"ppwzPeerName": "0.checkers"}},
        {**NAME, "peer": "bob", "expect": "PEER_E_NOT_FOUND"},
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*_ chess.scenario.json::replay _*",
        "2 of 3 steps failed, replayed in memory:",
        f'{file} steps[1] alice PeerCreatePeerName S_OK FAIL: '
        f'ppwzPeerName: differs: expected "0.checkers", got "0.chess"',
        '    the file expects S_OK and checks {"ppwzPeerName": "0.checkers"}',
        f"{file} steps[2] bob PeerCreatePeerName S_OK FAIL: expected PEER_E_NOT_FOUND, got S_OK",
        "    the file expects PEER_E_NOT_FOUND and checks {\"ppwzPeerName\": \"0.chess\"}",
        "*short test summary*",
    ], consecutive=True)
    assert "pytest_plugin.py" not in result.stdout.str(), "a traceback through the plugin"


def test_an_invalid_file_is_one_error_naming_the_key_path(pytester: pytest.Pytester) -> None:
    bad = scenario(pytester.path / "bad.scenario.json", NAME, {**NAME, "call": "PeerGroupFly"})
    scenario(pytester.path / "good.scenario.json", NAME)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*_ ERROR at setup of bad.scenario.json::replay _*",
        f"{bad}: steps[1].call: 'PeerGroupFly' is not a function a scenario may call "
        "(docs/scenario-format.md §3)",
        "*=*",
    ], consecutive=True)
    assert "pytest_plugin.py" not in result.stdout.str(), "a traceback through the plugin"


def test_scenario_json_files_are_collected_wherever_pytest_looks(pytester: pytest.Pytester) -> None:
    scenario(pytester.path / "deep" / "down" / "one.scenario.json", NAME)
    scenario(pytester.path / "deep" / "plain.json", NAME)
    assert collected(pytester) == ["deep/down/one.scenario.json::replay"]


def test_one_item_per_file_named_by_its_path(pytester: pytest.Pytester) -> None:
    scenario(pytester.path / "b.scenario.json", NAME, NAME, NAME)
    scenario(pytester.path / "a.scenario.json", NAME, NAME)
    assert collected(pytester) == ["a.scenario.json::replay", "b.scenario.json::replay"]


def test_the_ini_option_collects_a_directory_outside_testpaths(pytester: pytest.Pytester) -> None:
    ini(pytester, testpaths=["tests"], peerstate_scenarios=["specs"])
    pytester.makepyfile(**{"tests/test_unit": "def test_unit():\n    pass\n"})
    scenario(pytester.path / "specs" / "groups" / "join.json", NAME)
    scenario(pytester.path / "specs" / "name.json", NAME)
    scenario(pytester.path / "elsewhere" / "ignored.json", NAME)
    assert collected(pytester) == [
        "specs/groups/join.json::replay", "specs/name.json::replay", "tests/test_unit.py::test_unit",
    ]
    pytester.runpytest().assert_outcomes(passed=3)


def test_the_ini_option_is_not_added_to_path_arguments_but_applies_below_them(
    pytester: pytest.Pytester,
) -> None:
    ini(pytester, peerstate_scenarios=["specs"])
    pytester.makepyfile(**{"tests/test_unit": "def test_unit():\n    pass\n"})
    scenario(pytester.path / "specs" / "groups" / "join.json", NAME)
    scenario(pytester.path / "specs" / "name.json", NAME)
    assert collected(pytester, "tests") == ["tests/test_unit.py::test_unit"]
    assert collected(pytester, "specs/groups") == ["specs/groups/join.json::replay"]


def test_the_command_line_option_collects_directories_even_outside_the_rootdir(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    ini(pytester)
    pytester.makepyfile(**{"tests/test_unit": "def test_unit():\n    pass\n"})
    scenario(pytester.path / "specs" / "name.json", NAME)
    outside = scenario(tmp_path / "outside" / "far.json", NAME)
    arguments = ["tests", "--peerstate-scenarios", "specs", f"--peerstate-scenarios={outside.parent}"]
    assert collected(pytester, *arguments) == [
        "far.json::replay", "specs/name.json::replay", "tests/test_unit.py::test_unit",
    ]
    pytester.runpytest(*arguments).assert_outcomes(passed=3)


def test_no_file_is_collected_twice(pytester: pytest.Pytester) -> None:
    """Scenario directories inside testpaths, inside each other, named twice, and a
    ``*.scenario.json`` file inside one. (pytest 8 loses the files of a directory when a
    directory below it is an argument too.)"""
    ini(pytester, testpaths=["tests"], peerstate_scenarios=["tests/specs", "more", "more/inner"])
    scenario(pytester.path / "tests" / "specs" / "inner" / "both.scenario.json", NAME)
    scenario(pytester.path / "tests" / "specs" / "name.json", NAME)
    scenario(pytester.path / "more" / "inner" / "deep.json", NAME)
    scenario(pytester.path / "more" / "top.json", NAME)
    assert collected(pytester, "--peerstate-scenarios=tests", "--peerstate-scenarios=more") == [
        "more/inner/deep.json::replay",
        "more/top.json::replay",
        "tests/specs/inner/both.scenario.json::replay",
        "tests/specs/name.json::replay",
    ]


def test_the_store_option_replays_each_file_on_stores_of_its_own(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    scenario(pytester.path / "one" / "same.scenario.json", NAME)
    scenario(pytester.path / "two" / "same.scenario.json", NAME)
    stores = tmp_path / "stores"
    pytester.runpytest(f"--peerstate-store={stores}").assert_outcomes(passed=2)
    assert sorted(path.parent.relative_to(stores).as_posix() for path in stores.rglob("peer.sqlite3")) == [
        "one-same.scenario/alice", "two-same.scenario/alice",
    ]
    again = pytester.runpytest(f"--peerstate-store={stores}")
    again.assert_outcomes(failed=2)
    again.stdout.fnmatch_lines(["*the store of peer 'alice', */one-same.scenario/alice, already exists*"])
    assert "pytest_plugin.py" not in again.stdout.str(), "a traceback through the plugin"


def test_the_example_for_users_passes(pytester: pytest.Pytester) -> None:
    assert list(EXAMPLE.glob("*.scenario.json")), f"no example under {EXAMPLE}"
    pytester.runpytest("-p", "no:cacheprovider", str(EXAMPLE)).assert_outcomes(passed=1)


def test_this_project_replays_each_file_under_scenarios_once(pytester: pytest.Pytester) -> None:
    """With this project's own configuration, on a copy of its scenarios and empty testpaths
    (so that only the scenario items are listed)."""
    options = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    ini(pytester, testpaths=options["testpaths"], peerstate_scenarios=options["peerstate_scenarios"])
    for directory in options["testpaths"]:
        (pytester.path / directory).mkdir(parents=True, exist_ok=True)
    for directory in options["peerstate_scenarios"]:
        shutil.copytree(ROOT / directory, pytester.path / directory)
    expected = [
        f"{file.relative_to(pytester.path).as_posix()}::replay"
        for directory in options["peerstate_scenarios"]
        for file in scenario_files([pytester.path / directory])
    ]
    assert expected
    assert collected(pytester) == sorted(expected)
