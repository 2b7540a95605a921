"""Replay a loaded scenario: its steps in order, each to a ``StepResult``.

A failed step does not stop the replay: every step gets its line, and a later step that
needs a variable the failed step would have saved fails saying so. Nothing a step does can
crash the replay: an exception from the API is that step's failure, with its text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from peerstate.scenario.api import WINAPI, Api
from peerstate.scenario.clock import SimClock
from peerstate.scenario.machines import REAL_HOST, Host, Machines, refuse_used_stores
from peerstate.scenario.matching import mismatch
from peerstate.scenario.model import AdvanceClock, CallStep, Converged, Restart, Scenario, Step, Sync
from peerstate.scenario.problems import KeyPathError, ScenarioFileError
from peerstate.scenario.values import decode_args, encode
from peerstate.scenario.variables import Reference, substitute


@attrs.frozen
class StepResult:
    """What one step did. ``action`` is the function name of a call step and the kind of a
    sim step; ``hresult`` is the name a call returned (None for sim steps and for calls that
    did not get as far as the API); ``difference`` says why a failed step failed."""

    file: Path
    index: int
    kind: str
    action: str
    peer: str | None
    hresult: str | None
    passed: bool
    difference: str = ""

    def __str__(self) -> str:
        line = (
            f"{self.file} steps[{self.index}] {self.peer or '-'} {self.action} "
            f"{self.hresult or '-'} {'PASS' if self.passed else 'FAIL'}"
        )
        return line if self.passed else f"{line}: {self.difference}"


class _Replay:
    """The state of one replay: the clock, the machines and the variables saved so far."""

    def __init__(self, scenario: Scenario, machines: Machines, clock: SimClock, api: Api) -> None:
        self._scenario = scenario
        self._machines = machines
        self._clock = clock
        self._api = api
        self._saved: dict[str, Any] = {}

    def _lookup(self, reference: Reference) -> Any:
        if reference.variable not in self._saved:
            raise LookupError(
                f"${reference.variable} was not saved: the step that saves it failed"
            )
        return reference.follow(self._saved[reference.variable])

    def _call(self, step: CallStep) -> tuple[str | None, str]:
        """The HRESULT name the call returned and what differed ("" when the step passed)."""
        function = self._api.functions.get(step.call)
        if function is None:
            return None, f"{step.call} is not supported yet"
        try:
            args = decode_args(substitute(step.args, self._lookup), self._clock.now())
        except KeyPathError as error:
            raise error.under(("args",)) from None
        result = function(self._machines.peer(step.peer), **args)
        name = result.hresult.name
        if name != step.expect:
            because = f" ({result.message})" if result.message else ""
            return name, f"expected {step.expect}, got {name}{because}"
        out = encode(result.out)
        try:
            expected = substitute(step.check, self._lookup)
        except KeyPathError as error:
            raise error.under(("check",)) from None
        difference = mismatch(expected, out)
        if difference is not None:
            return name, str(difference)
        missing = [parameter for parameter in step.out if parameter not in out]
        if missing:
            return name, f"{name} returned no {', '.join(missing)} to save"
        self._saved.update({variable: out[parameter] for parameter, variable in step.out.items()})
        return name, ""

    def _sim(self, step: AdvanceClock | Restart | Sync | Converged) -> str:
        """What differed ("" when the step passed)."""
        match step:
            case AdvanceClock(seconds):
                self._clock.advance(seconds)
            case Restart(peer, passphrase):
                self._machines.restart(peer, passphrase)
            case Sync(peers):
                self._machines.sync(peers)
            case Converged(group):
                try:
                    name = substitute(group, self._lookup)
                except KeyPathError as error:
                    raise error.under(("group",)) from None
                return self._machines.converged(name)
        return ""

    def run(self, index: int, step: Step) -> StepResult:
        hresult: str | None = None
        try:
            if isinstance(step, CallStep):
                hresult, difference = self._call(step)
            else:
                difference = self._sim(step)
        except KeyPathError as error:
            difference = str(error)
        except Exception as error:  # the API's failure is this step's, not the replay's
            difference = f"{type(error).__name__}: {error}"
        kind = "call" if isinstance(step, CallStep) else "sim"
        return StepResult(
            self._scenario.file, index, kind, step.action, step.peer, hresult, not difference,
            difference,
        )


def replay(
    scenario: Scenario,
    *,
    store_root: Path | str | None = None,
    api: Api = WINAPI,
    host: Host = REAL_HOST,
) -> list[StepResult]:
    """Run every step of ``scenario`` on fresh peers, in memory or, with ``store_root``, each
    in ``store_root/<peer>`` (a directory, or a schema named after a PostgreSQL URL's). ``ScenarioFileError`` (before any step runs) when a peer's store
    there already holds something."""
    if store_root is not None:
        try:
            refuse_used_stores(store_root, scenario.peer_names())
        except KeyPathError as error:
            raise ScenarioFileError(scenario.file, error.path, error.message) from None
    clock = SimClock(scenario.clock)
    machines = Machines(scenario.settings, clock.now, store_root, host)
    try:
        session = _Replay(scenario, machines, clock, api)
        return [session.run(index, step) for index, step in enumerate(scenario.steps)]
    finally:
        machines.close()
