"""The runner on a fake API and fake machines: what passes, what fails, what is saved, and
how peers, stores and the clock are handled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scenario_fakes import FAKE_API, FakeHost, scenario_file

from peerstate.scenario import ScenarioFileError, StepResult, load_scenario, replay


def run(tmp_path: Path, steps: list[Any], host: FakeHost | None = None,
        store_root: Path | None = None, **top: Any) -> list[StepResult]:
    scenario = load_scenario(scenario_file(tmp_path, steps, **top), FAKE_API)
    return replay(scenario, store_root=store_root, api=FAKE_API, host=(host or FakeHost()).host)


def outcome(results: list[StepResult]) -> list[tuple[str | None, bool, str]]:
    return [(result.hresult, result.passed, result.difference) for result in results]


def make(name: str | None, **keys: Any) -> dict[str, Any]:
    return {"peer": "alice", "call": "FakeMake", "args": {"pwzName": name}, **keys}


def test_a_call_passes_on_its_expected_hresult_and_matching_check(tmp_path: Path) -> None:
    results = run(tmp_path, [
        make("one", check={"ppwzThing": {"name": "one", "tags": ["b", "a"]}}),
        make(None, expect="E_INVALIDARG"),
        make("two", check={"ppwzThing": {"$any": True}}),
        {"peer": "alice", "call": "FakeList", "check": {"phPeerEnum": {"$ordered": ["one", "two"]}}},
    ])
    assert outcome(results) == [("S_OK", True, ""), ("E_INVALIDARG", True, ""),
                                ("S_OK", True, ""), ("S_OK", True, "")]
    assert [(r.file.name, r.index, r.kind, r.action, r.peer) for r in results] == [
        ("scenario.json", i, "call", action, "alice")
        for i, action in enumerate(["FakeMake", "FakeMake", "FakeMake", "FakeList"])
    ]


def test_a_call_fails_on_another_hresult_or_a_difference(tmp_path: Path) -> None:
    results = run(tmp_path, [
        make(None),
        make("one", expect="E_INVALIDARG"),
        make("two", check={"ppwzThing": {"name": "three"}}),
        make("four", check={"ppwzThing": {"color": "red"}}),
    ])
    assert outcome(results) == [
        ("E_INVALIDARG", False,
         "expected S_OK, got E_INVALIDARG (E_INVALIDARG because the fake said so)"),
        ("S_OK", False, "expected E_INVALIDARG, got S_OK"),
        ("S_OK", False, 'ppwzThing.name: differs: expected "three", got "two"'),
        ("S_OK", False, 'ppwzThing.color: missing: expected "red", got nothing'),
    ]
    assert str(results[2]).endswith(
        'scenario.json steps[2] alice FakeMake S_OK FAIL: '
        'ppwzThing.name: differs: expected "three", got "two"'
    )
    assert str(run(tmp_path, [make("x")])[0]).endswith("scenario.json steps[0] alice FakeMake S_OK PASS")


def test_out_saves_only_when_the_step_passes(tmp_path: Path) -> None:
    results = run(tmp_path, [
        make("kept", out={"ppwzThing": "thing"}),
        make("dropped", out={"ppwzThing": "other"}, check={"ppwzThing": {"name": "not this"}}),
        make("$thing.name", check={"ppwzThing": {"name": "kept"}}),
        make("$other.name"),
        make("$$thing", check={"ppwzThing": {"name": "$$thing"}}),
        make("$thing.tags[1]", check={"ppwzThing": {"name": "$thing.tags[1]"}}),
    ])
    assert outcome(results)[2:] == [
        ("S_OK", True, ""),
        (None, False, "args.pwzName: $other was not saved: the step that saves it failed"),
        ("S_OK", True, ""),
        ("S_OK", True, ""),
    ]


def test_a_passing_step_must_return_what_its_out_saves(tmp_path: Path) -> None:
    results = run(tmp_path, [make(None, expect="E_INVALIDARG", out={"ppwzThing": "thing"})])
    assert outcome(results) == [("E_INVALIDARG", False, "E_INVALIDARG returned no ppwzThing to save")]


def test_flags_are_decoded_before_the_call_and_saved_results_pass_back(tmp_path: Path) -> None:
    results = run(tmp_path, [
        make("a", args={"pwzName": "a", "dwFlags": ["PEER_GROUP_GMC_AUTHENTICATION",
                                                   "PEER_GROUP_PASSWORD_AUTHENTICATION"]},
             check={"ppwzThing": {"flags": ["PEER_GROUP_PASSWORD_AUTHENTICATION",
                                            "PEER_GROUP_GMC_AUTHENTICATION"]}},
             out={"ppwzThing": "a"}),
        make("b", args={"pwzName": "b", "dwFlags": "$a.flags"},
             check={"ppwzThing": {"flags": "$a.flags"}}),
        make("c", args={"pwzName": "c", "dwFlags": 5}, check={"ppwzThing": {"flags": 5}}),
    ])
    assert outcome(results) == [("S_OK", True, "")] * 3


def test_an_exception_fails_its_step_and_the_replay_goes_on(tmp_path: Path) -> None:
    results = run(tmp_path, [{"peer": "alice", "call": "FakeBoom"}, make("after")])
    assert outcome(results) == [(None, False, "RuntimeError: the fake exploded"), ("S_OK", True, "")]


def test_unsupported_calls_fail_and_never_pass(tmp_path: Path) -> None:
    results = run(tmp_path, [
        make("g", out={"ppwzThing": "g"}),
        {"peer": "alice", "call": "FakeLater", "args": {"anything": 1}},
    ])
    assert outcome(results)[1:] == [(None, False, "FakeLater is not supported yet")]


def test_the_clock_starts_at_the_file_clock_and_moves_only_by_advance_clock(tmp_path: Path) -> None:
    results = run(tmp_path, [
        {"peer": "alice", "call": "FakeTime", "args": {"pftWhen": {"inSeconds": 90}},
         "check": {"pftNow": "2030-05-01T10:00:00Z", "pftWhen": "2030-05-01T10:01:30Z"}},
        {"sim": "advance_clock", "seconds": 3600.5},
        {"peer": "bob", "call": "FakeTime", "args": {"pftWhen": {"inSeconds": -0.5}},
         "check": {"pftNow": "2030-05-01T11:00:00.500000Z", "pftWhen": "2030-05-01T11:00:00Z"}},
        {"peer": "alice", "call": "FakeTime", "args": {"pftWhen": "2031-01-01T00:00:00+00:00"},
         "check": {"pftWhen": "2031-01-01T00:00:00Z"}},
    ], clock="2030-05-01T10:00:00Z")
    assert outcome(results) == [("S_OK", True, ""), (None, True, ""), ("S_OK", True, ""),
                                ("S_OK", True, "")]
    assert (results[1].action, results[1].peer) == ("advance_clock", None)


def test_peers_come_up_lazily_with_their_settings_in_memory(tmp_path: Path) -> None:
    host = FakeHost()
    results = run(tmp_path, [
        {"peer": "bob", "call": "FakeSettings",
         "check": {"pSettings": {"passphrase": "pw", "clouds": ["Global_", "LinkLocal_x"]}}},
        {"peer": "carol", "call": "FakeSettings",
         "check": {"pSettings": {"passphrase": None, "clouds": ["Global_"]}}},
    ], host=host, peers={"alice": {}, "bob": {"passphrase": "pw", "clouds": ["Global_", "LinkLocal_x"]}})
    assert outcome(results) == [("S_OK", True, "")] * 2
    assert [store.path for store in host.stores] == [None, None]
    assert all(peer.closed for peer in host.peers) and all(store.closed for store in host.stores)


def test_restart_in_memory_keeps_the_store_and_starts_with_the_given_passphrase(tmp_path: Path) -> None:
    host = FakeHost()
    results = run(tmp_path, [
        make("before"),
        {"sim": "restart", "peer": "alice", "passphrase": "other"},
        {"peer": "alice", "call": "FakeSettings", "check": {"pSettings": {"passphrase": "other"}}},
        {"sim": "restart", "peer": "alice"},
        {"peer": "alice", "call": "FakeSettings",
         "check": {"pSettings": {"passphrase": None, "clouds": ["Global_", "x"]}}},
    ], host=host, peers={"alice": {"passphrase": "pw", "clouds": ["Global_", "x"]}})
    assert outcome(results) == [("S_OK", True, ""), (None, True, "")] * 2 + [("S_OK", True, "")]
    assert (results[1].action, results[1].peer) == ("restart", "alice")
    assert len(host.stores) == 1 and len(host.peers) == 3
    assert all(peer.store is host.stores[0] for peer in host.peers)
    assert host.peers[0].settings.passphrase == "pw"


def test_restart_on_disk_closes_and_reopens_the_store_at_the_same_place(tmp_path: Path) -> None:
    host = FakeHost()
    root = tmp_path / "stores"
    results = run(tmp_path, [make("a"), {"peer": "bob", "call": "FakeList"},
                             {"sim": "restart", "peer": "alice"}],
                  host=host, store_root=root)
    assert outcome(results)[2] == (None, True, "")
    assert [store.path for store in host.stores] == [root / "alice", root / "bob", root / "alice"]
    assert host.stores[0].closed and host.peers[0].closed
    assert host.peers[2].store is host.stores[2]
    assert all(store.closed for store in host.stores)


def test_a_store_that_holds_something_is_refused_before_any_step(tmp_path: Path) -> None:
    root = tmp_path / "stores"
    (root / "bob").mkdir(parents=True)
    (root / "bob" / "peer.sqlite3").write_text("someone else's")
    (root / "alice").mkdir()
    host = FakeHost()
    with pytest.raises(ScenarioFileError, match="the store of peer 'bob'.*already exists and is not empty"):
        run(tmp_path, [make("a"), {"sim": "restart", "peer": "bob"}], host=host, store_root=root)
    assert host.stores == [] and host.peers == []
    (root / "carol").write_text("a file where the store would go")
    with pytest.raises(ScenarioFileError, match="'carol'"):
        run(tmp_path, [{"peer": "carol", "call": "FakeList"}], host=host, store_root=root)
    assert outcome(run(tmp_path, [make("a")], host=host, store_root=root)) == [("S_OK", True, "")]
