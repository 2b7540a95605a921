"""Load a scenario file: read it, check its shape against the schema, then check what a
schema cannot, and build the ``Scenario`` the runner replays.

Every problem is a ``ScenarioFileError`` naming the file and the key path, raised before any
step runs: a file is replayed whole or not at all.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from peerstate.errors import HRESULTS
from peerstate.peer import PeerSettings
from peerstate.scenario.api import WINAPI, Api
from peerstate.scenario.document import read_document
from peerstate.scenario.model import (
    AdvanceClock,
    CallStep,
    Restart,
    Scenario,
    Step,
    Converged,
    Sync,
)
from peerstate.scenario.problems import KeyPath, KeyPathError, ScenarioFileError
from peerstate.scenario.schema import check_schema
from peerstate.scenario.values import canonical_times, decode_args, parse_time
from peerstate.scenario.variables import Reference, substitute

DEFAULT_CLOCK: Final = "2026-01-01T00:00:00Z"
_SETTINGS: Final = {
    "clouds": "clouds", "passphrase": "passphrase", "passwordMinLength": "password_min_length"
}
"""Peer settings keys of the file, and the ``PeerSettings`` fields they set."""


def scenario_files(paths: Iterable[Path]) -> list[Path]:
    """The files to replay: a directory stands for every ``*.json`` file under it, sorted;
    any other path for itself (a missing file is then reported when it is loaded)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(file for file in path.rglob("*.json") if file.is_file()))
        else:
            files.append(path)
    return files


SUGGESTED_LIKENESS: Final = 0.8
"""How alike (``difflib``'s ratio) a known name must be to an unknown one to be suggested
for it: a letter or two off (``PeerIdentityCreat``), not any name that shares a prefix."""


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    """The end of a message about a name that is not known: the known name closest to it,
    for a misspelling, or nothing when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=SUGGESTED_LIKENESS)
    return f"; did you mean {close[0]!r}?" if close else ""


def _only(names: Iterable[str], allowed: Collection[str], path: KeyPath, what: str) -> None:
    for name in names:
        if name not in allowed:
            listed = ", ".join(allowed) or "none"
            raise KeyPathError((*path, name), f"{name!r} is not {what} (it has: {listed}){_did_you_mean(name, allowed)}")


class _Variables:
    """The variables saved by the steps loaded so far: a later step may use only these."""

    def __init__(self) -> None:
        self._saved: set[str] = set()

    def placeholder(self, reference: Reference) -> None:
        """Stands in for a variable's value when checking: it is known only at replay."""
        if reference.variable not in self._saved:
            raise LookupError(f"${reference.variable} is not saved by any earlier step's out")

    def save(self, names: Iterable[str]) -> None:
        self._saved.update(names)


def _call_step(raw: dict[str, Any], variables: _Variables, clock: datetime, api: Api) -> CallStep:
    call = raw["call"]
    if call not in api.all_functions:
        raise KeyPathError(("call",), (
            f"{call!r} is not a function a scenario may call (docs/scenario-format.md §3)"
            f"{_did_you_mean(call, api.all_functions)}"
        ))
    args, out, check = raw.get("args", {}), raw.get("out", {}), raw.get("check", {})
    if call in api.functions:
        _only(args, api.in_parameters(call), ("args",), f"an in-parameter of {call}")
        _only(out, api.out_parameters[call], ("out",), f"an out-parameter of {call}")
        _only(check, api.out_parameters[call], ("check",), f"an out-parameter of {call}")
    expect = raw.get("expect", "S_OK")
    if expect not in HRESULTS:
        raise KeyPathError(("expect",), f"{expect!r} is not the name of an HRESULT")
    try:
        decode_args(substitute(args, variables.placeholder), clock)
    except KeyPathError as error:
        raise error.under(("args",)) from None
    try:
        substitute(check, variables.placeholder)
        check = canonical_times(check)
    except KeyPathError as error:
        raise error.under(("check",)) from None
    variables.save(out.values())
    return CallStep(raw["peer"], call, args, out, expect, check)


def _sim_step(raw: dict[str, Any], variables: _Variables) -> Step:
    kind = raw["sim"]
    if kind == "advance_clock":
        return AdvanceClock(raw["seconds"])
    if kind == "restart":
        return Restart(raw["peer"], raw.get("passphrase"))
    if kind == "sync":
        peers = raw.get("peers")
        return Sync(None if peers is None else tuple(peers))
    substitute(raw["group"], variables.placeholder, ("group",))
    return Converged(raw["group"])


def _settings(raw: Mapping[str, Any]) -> PeerSettings:
    fields = {_SETTINGS[key]: value for key, value in raw.items()}
    if "clouds" in fields:
        fields["clouds"] = tuple(fields["clouds"])
    return PeerSettings(**fields)


def _scenario(file: Path, document: dict[str, Any], api: Api) -> Scenario:
    try:
        clock = parse_time(document.get("clock", DEFAULT_CLOCK))
    except ValueError as error:
        raise KeyPathError(("clock",), str(error)) from None
    variables = _Variables()
    steps: list[Step] = []
    for index, raw in enumerate(document["steps"]):
        try:
            if "call" in raw:
                steps.append(_call_step(raw, variables, clock, api))
            else:
                steps.append(_sim_step(raw, variables))
        except KeyPathError as error:
            raise error.under(("steps", index)) from None
    peers = {name: _settings(raw) for name, raw in document.get("peers", {}).items()}
    return Scenario(file, clock, peers, tuple(steps))


def load_scenario(file: Path, api: Api = WINAPI) -> Scenario:
    """The checked scenario in ``file``, or ``ScenarioFileError`` with the key path of the
    first problem: JSON, duplicate keys, the schema (unknown keys, types, step shapes), then
    function, parameter and HRESULT names, variables saved before use, times and flag names."""
    try:
        document = read_document(file)
        check_schema(document)
        return _scenario(file, document, api)
    except KeyPathError as error:
        raise ScenarioFileError(file, error.path, error.message) from None
    except (OSError, UnicodeError) as error:
        raise ScenarioFileError(file, (), f"cannot read the file: {error}") from None
