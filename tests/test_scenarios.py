"""Every scenario file under ``scenarios/`` is a test of its own, ``scenarios/<path>::replay``:
the peerstate pytest plugin collects them (``peerstate_scenarios = ["scenarios"]`` in
pyproject.toml) whenever pytest runs from the rootdir without path arguments, loads each (an
invalid file is an error naming the key path) and replays it in memory (a failed step fails
its test). This module checks that the configuration names them and that there are some, so
that a moved or emptied directory cannot pass by replaying nothing."""

from __future__ import annotations

import pytest

from peerstate.pytest_plugin import scenario_directories
from peerstate.scenario import scenario_files


def test_there_are_scenarios_to_replay(pytestconfig: pytest.Config) -> None:
    scenarios = pytestconfig.rootpath / "scenarios"
    assert scenarios in scenario_directories(pytestconfig)
    assert scenario_files([scenarios]), f"no scenario files under {scenarios}"
