"""Loading scenario files: every kind of file error names its key path, and the CLI exits 2
without running a step; valid files become the model the runner replays."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from scenario_fakes import FAKE_API, scenario_file

from peerstate.cli import main
from peerstate.peer import PeerSettings
from peerstate.scenario import Api, ScenarioFileError, load_scenario, scenario_files
from peerstate.scenario.model import AdvanceClock, CallStep, Converged, Restart, Sync
from peerstate.scenario.problems import format_path
from peerstate.scenario.schema import scenario_schema

CREATE = {"peer": "alice", "call": "PeerIdentityCreate", "args": {"pwzClassifier": "chess"},
          "out": {"ppwzIdentity": "me"}}


def call(name: str, **keys: Any) -> dict[str, Any]:
    return {"peer": "alice", "call": name, **keys}


INVALID: list[tuple[str, list[Any], dict[str, Any], str, str]] = [
    # (id, steps, other top-level keys, key path, words of the message)
    ("unknown top-level key", [], {"nmae": "x"}, "nmae", "unknown key"),
    ("unknown step key", [call("PeerEnumIdentities", arg={})], {}, "steps[0].arg", "unknown key"),
    ("unknown peer setting", [], {"peers": {"alice": {"cloud": ["Global_"]}}},
     "peers.alice.cloud", "unknown key"),
    ("unknown sim key", [{"sim": "restart", "peer": "alice", "pass": "x"}], {},
     "steps[0].pass", "unknown key"),
    ("wrong type of out", [call("PeerEnumIdentities", out=[])], {}, "steps[0].out", "not of type"),
    ("wrong type of seconds", [{"sim": "advance_clock", "seconds": "60"}], {},
     "steps[0].seconds", "not of type"),
    ("wrong type of a setting", [], {"peers": {"bob": {"passwordMinLength": "8"}}},
     "peers.bob.passwordMinLength", "not of type"),
    ("call and sim", [call("PeerEnumIdentities", sim="sync")], {}, "steps[0].sim",
     "exactly one of 'call' or 'sim'"),
    ("neither call nor sim", [{"peer": "alice"}], {}, "steps[0]", "exactly one of 'call' or 'sim'"),
    ("unknown sim kind", [{"sim": "reboot"}], {}, "steps[0].sim", "is not one of"),
    ("unknown function", [call("PeerGroupFrobnicate")], {}, "steps[0].call", "not a function"),
    ("misspelled function", [call("PeerIdentityCreat")], {}, "steps[0].call",
     "not a function a scenario may call (docs/scenario-format.md §3); did you mean 'PeerIdentityCreate'?"),
    ("plumbing function", [call("PeerGroupStartup")], {}, "steps[0].call", "not a function"),
    ("unknown argument", [call("PeerIdentityCreate", args={"pwzClassifer": "chess"})], {},
     "steps[0].args.pwzClassifer", "not an in-parameter of PeerIdentityCreate"),
    ("misspelled argument", [call("PeerIdentityCreate", args={"pwzClassifer": "chess"})], {},
     "steps[0].args.pwzClassifer", "; did you mean 'pwzClassifier'?"),
    ("unknown out-parameter", [call("PeerIdentityCreate", out={"ppwzPeerName": "x"})], {},
     "steps[0].out.ppwzPeerName", "not an out-parameter of PeerIdentityCreate"),
    ("unknown checked out-parameter", [call("PeerIdentityCreate", check={"ppwzPeerName": "x"})],
     {}, "steps[0].check.ppwzPeerName", "not an out-parameter"),
    ("variable never saved", [CREATE, call("PeerIdentityDelete", args={"pwzIdentity": "$you"})],
     {}, "steps[1].args.pwzIdentity", "$you is not saved"),
    ("variable saved only later", [call("PeerIdentityDelete", args={"pwzIdentity": "$me"}), CREATE],
     {}, "steps[0].args.pwzIdentity", "$me is not saved"),
    ("variable path never saved",
     [call("PeerEnumIdentities", check={"phPeerEnum": [{"pwzPeerName": "$x.field[0]"}]})], {},
     "steps[0].check.phPeerEnum[0].pwzPeerName", "$x is not saved"),
    ("converged group never saved", [{"sim": "converged", "group": "$g"}], {}, "steps[0].group",
     "$g is not saved"),
    ("malformed variable", [call("PeerIdentityDelete", args={"pwzIdentity": "$ me"})], {},
     "steps[0].args.pwzIdentity", "write $$ for a literal $"),
    ("unknown HRESULT", [call("PeerEnumIdentities", expect="PEER_E_NOT_SYNCHRONIZED")], {},
     "steps[0].expect", "not the name of an HRESULT"),
    ("invalid clock", [], {"clock": "2026-13-01T00:00:00Z"}, "clock", "not an ISO-8601 time"),
    ("clock without zone", [], {"clock": "2026-01-01T00:00:00"}, "clock", "not a UTC time"),
    ("malformed matcher", [call("PeerEnumIdentities", check={"phPeerEnum": {"$len": "2"}})], {},
     "steps[0].check.phPeerEnum.$len", "not of type"),
    ("unknown matcher", [call("PeerEnumIdentities", check={"phPeerEnum": {"$some": []}})], {},
     "steps[0].check.phPeerEnum.$some", "unknown key"),
    ("peer name that is a path", [{"peer": "../alice", "call": "PeerEnumIdentities"}], {},
     "steps[0].peer", "does not match"),
]


@pytest.mark.parametrize(
    ("steps", "top", "key_path", "words"),
    [pytest.param(*case[1:], id=case[0]) for case in INVALID],
)
def test_a_file_error_names_the_key_path_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
    steps: list[Any], top: dict[str, Any], key_path: str, words: str,
) -> None:
    file = scenario_file(tmp_path, steps, **top)
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(file)
    error = caught.value
    assert (error.file, format_path(error.path)) == (file, key_path)
    assert str(error).startswith(f"{file}: {key_path}: ")
    assert words in error.message
    capsys.readouterr()
    assert main(["replay", str(file)]) == 2
    captured = capsys.readouterr()
    assert f"{file}: {key_path}: " in captured.err
    assert captured.out == "0 passed, 0 failed, 1 invalid\n"


@pytest.mark.parametrize(
    ("text", "key_path", "words"),
    [
        ('{"format": "peerstate-scenario/1", "name": "a", "name": "b", "steps": []}', "name",
         "duplicate key"),
        ('{"format": "peerstate-scenario/1", "name": "a", "steps": [{"peer": "x", "call": '
         '"PeerEnumIdentities", "check": {"phPeerEnum": {"$len": 1, "$len": 2}}}]}',
         "steps[0].check.phPeerEnum.$len", "duplicate key"),
        ('{"format": "peerstate-scenario/1", "name": "a", "steps": [', "(top level)",
         "not valid JSON"),
        ('{"format": "peerstate-scenario/1", "name": "a", "steps": [{"sim": "advance_clock", '
         '"seconds": NaN}]}', "(top level)", "NaN is not a JSON value"),
    ],
    ids=["duplicate key", "duplicate key deep down", "not JSON", "NaN"],
)
def test_json_that_is_ambiguous_or_broken_is_a_file_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key_path: str, words: str
) -> None:
    file = tmp_path / "broken.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(file)
    assert format_path(caught.value.path) == key_path
    assert words in caught.value.message
    assert main(["replay", str(file)]) == 2
    assert f"{file}: {key_path}: " in capsys.readouterr().err


@pytest.mark.parametrize(("text", "message"), [
    ('{"format": "peerstate-scenario/1",\n "name": "a', "not valid JSON: unterminated string starting at line 2 column 10"),
    ('{"format": "peerstate-scenario/1",\n "steps": [', "not valid JSON: expecting value at line 2 column 12"),
])
def test_a_truncated_file_says_where_in_words_that_read(tmp_path: Path, text: str, message: str) -> None:
    file = tmp_path / "truncated.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioFileError) as caught:
        load_scenario(file)
    assert caught.value.message == message


def test_the_scenario_modules_and_the_cli_point_to_docs_scenario_format_md() -> None:
    import peerstate.cli
    import peerstate.scenario

    package = Path(peerstate.scenario.__file__).parent
    for source in [*package.glob("*.py"), *Path(peerstate.cli.__file__).parent.glob("*.py")]:
        text = source.read_text(encoding="utf-8")
        assert "SCENARIOS.md" not in text, source
    assert "docs/scenario-format.md" in (package / "__init__.py").read_text(encoding="utf-8")


def test_a_missing_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="cannot read the file"):
        load_scenario(tmp_path / "nowhere.json")


def test_fake_api_errors_name_the_key_path(tmp_path: Path) -> None:
    cases = [
        ({"peer": "a", "call": "FakeTime", "args": {"pftWhen": "yesterday"}},
         "steps[0].args.pftWhen", "not an ISO-8601 time"),
        ({"peer": "a", "call": "FakeMake", "args": {"dwFlags": ["PEER_NOPE"]}},
         "steps[0].args.dwFlags[0]", "not the name of a flag"),
        ({"peer": "a", "call": "FakeMake", "args": {"dwFlags": ["PEER_MEMBER_PRESENT",
                                                                "PEER_GROUP_STORE_CREDENTIALS"]}},
         "steps[0].args.dwFlags[1]", "one field has one flag type"),
        ({"peer": "a", "call": "FakeMake", "args": {"dwFlags": ["PEER_MEMBER_JOINED"]}},
         "steps[0].args.dwFlags[0]", "not the name of a flag"),
        ({"peer": "a", "call": "FakeTime", "check": {"pftNow": "noon"}},
         "steps[0].check.pftNow", "not an ISO-8601 time"),
    ]
    for step, key_path, words in cases:
        with pytest.raises(ScenarioFileError) as caught:
            load_scenario(scenario_file(tmp_path, [step]), FAKE_API)
        assert (format_path(caught.value.path), words in caught.value.message) == (key_path, True)


def test_a_valid_file_becomes_the_model(tmp_path: Path) -> None:
    file = scenario_file(
        tmp_path,
        [
            {"peer": "alice", "call": "FakeMake", "args": {"pwzName": "$$literal"},
             "out": {"ppwzThing": "thing"}, "note": "free text"},
            {"peer": "bob", "call": "FakeTime", "args": {"pftWhen": {"inSeconds": 60}},
             "expect": "PEER_S_NO_EVENT_DATA",
             "check": {"pftWhen": "2026-01-01T00:01:00.000+00:00", "pftNow": {"$any": True}}},
            {"peer": "bob", "call": "FakeLater", "args": {"anything": "$thing.name"}},
            {"sim": "advance_clock", "seconds": 1.5},
            {"sim": "restart", "peer": "carol"},
            {"sim": "sync", "peers": ["alice", "bob"]},
            {"sim": "converged", "group": "$thing.tags[1]"},
        ],
        clock="2026-01-01T00:00:00Z",
        description="free text",
        peers={"alice": {"clouds": ["Global_", "LinkLocal_eth0"], "passphrase": "pw",
                         "passwordMinLength": 12}, "dave": {}},
    )
    scenario = load_scenario(file, FAKE_API)
    assert scenario.clock == datetime(2026, 1, 1, tzinfo=UTC)
    assert scenario.settings("alice") == PeerSettings(("Global_", "LinkLocal_eth0"), "pw", 12)
    assert scenario.settings("dave") == scenario.settings("bob") == PeerSettings()
    assert scenario.steps == (
        CallStep("alice", "FakeMake", {"pwzName": "$$literal"}, {"ppwzThing": "thing"}, "S_OK", {}),
        CallStep("bob", "FakeTime", {"pftWhen": {"inSeconds": 60}}, {}, "PEER_S_NO_EVENT_DATA",
                 {"pftWhen": "2026-01-01T00:01:00Z", "pftNow": {"$any": True}}),
        CallStep("bob", "FakeLater", {"anything": "$thing.name"}, {}, "S_OK", {}),
        AdvanceClock(1.5),
        Restart("carol", None),
        Sync(("alice", "bob")),
        Converged("$thing.tags[1]"),
    )
    assert scenario.peer_names() == {"alice", "bob", "carol"}


def test_the_default_clock_and_an_unimplemented_function_load(tmp_path: Path) -> None:
    later_only = Api(frozenset({"FakeLater"}), {}, {}, lambda name: ())
    file = scenario_file(tmp_path, [{"peer": "a", "call": "FakeLater", "args": {"x": 1},
                                     "out": {"y": "z"}, "check": {"w": 2}}])
    scenario = load_scenario(file, later_only)
    assert scenario.clock == datetime(2026, 1, 1, tzinfo=UTC)
    assert [step.action for step in scenario.steps] == ["FakeLater"]


def test_the_schema_is_a_valid_draft_2020_12_schema_shipped_with_the_package() -> None:
    schema = scenario_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["format"] == {"const": "peerstate-scenario/1"}


def test_a_directory_means_its_json_files_recursively_sorted(tmp_path: Path) -> None:
    for name in ["b.json", "a/z.json", "a/c.json", "notes.txt", "a/deeper/d.json"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    single = tmp_path / "notes.txt"
    assert scenario_files([tmp_path, single]) == [
        tmp_path / "a/c.json", tmp_path / "a/deeper/d.json", tmp_path / "a/z.json",
        tmp_path / "b.json", single,
    ]
