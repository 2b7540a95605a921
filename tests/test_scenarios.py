"""Every scenario file under ``scenarios/``: valid against the schema and the loader's checks,
and every step passes when replayed in memory. One test per file, named by its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from peerstate.scenario import load_scenario, replay, scenario_files

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FILES = scenario_files([SCENARIOS])


def test_there_are_scenarios_to_replay() -> None:
    assert FILES, f"no scenario files under {SCENARIOS}"


@pytest.mark.parametrize("file", FILES, ids=[str(file.relative_to(SCENARIOS)) for file in FILES])
def test_the_scenario_replays(file: Path) -> None:
    scenario = load_scenario(file)  # ScenarioFileError names the key path of what is invalid
    failed = [str(result) for result in replay(scenario) if not result.passed]
    assert not failed, "\n".join(failed)
