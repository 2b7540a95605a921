"""Scenario files (``docs/scenario-format.md``): load and check them, replay them on simulated peers.

The public entry points are ``load_scenario`` (a file to a checked ``Scenario``, or a
``ScenarioFileError`` naming the key path), ``replay`` (a ``Scenario`` to one ``StepResult``
per step), ``scenario_files`` (the files a list of paths names) and ``stores_of_file`` (where
a file's peers keep their stores when several files share one location). Each module does
one job: ``document`` reads JSON, ``schema`` checks its shape, ``loading`` checks the rest and
builds the model, ``variables`` and ``values`` turn file values into call arguments and
results back into file values, ``matching`` compares them, ``machines`` and ``clock``
simulate the peers' world, ``running`` replays the steps.
"""

from peerstate.scenario.api import WINAPI, Api
from peerstate.scenario.loading import load_scenario, scenario_files
from peerstate.scenario.machines import REAL_HOST, Host, stores_of_file
from peerstate.scenario.model import Scenario
from peerstate.scenario.problems import KeyPathError, ScenarioFileError
from peerstate.scenario.running import StepResult, replay

__all__ = [
    "REAL_HOST",
    "WINAPI",
    "Api",
    "Host",
    "KeyPathError",
    "Scenario",
    "ScenarioFileError",
    "StepResult",
    "load_scenario",
    "replay",
    "scenario_files",
    "stores_of_file",
]
