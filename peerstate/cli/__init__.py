"""The ``peerstate`` command: ``replay``, ``verify``, ``log``, ``identities``, ``groups``,
``members``. ``docs/cli.md`` describes each; ``peerstate COMMAND --help`` too, with examples.

What every command shares, so that a script can rely on it:

- exit status 0 on success; 1 for a failure the command exists to find (a scenario step
  failed, ``verify`` found something) or an unexpected error; 2 for bad arguments or nothing
  to work on (an invalid scenario file, no scenario file, no store, a store that cannot be
  opened or reached, a location that is not a store); 130 when Ctrl-C ended it;
- an error that ends a command is one line on stderr, ``peerstate: ...``, with the HRESULT
  when it is a ``PeerError``; ``--debug`` prints the traceback before it;
- results go to stdout and nothing else does: with ``--json`` every line of it is a JSON
  object, the summaries of ``replay`` and ``verify`` too; the progress of ``replay`` and
  ``verify`` goes to stderr, and only when stderr is a terminal; colour (the verdicts of
  ``replay`` and ``verify``) only when stdout is a terminal and ``NO_COLOR`` is not set,
  unless ``--color`` says otherwise, and never in JSON lines;
- the commands that read stores never write them: they open each store read-only, and a
  location that holds no peerstate store is left as it was;
- text that comes from a store or from another peer (names, reasons) is shown with its
  control characters escaped and cut at ``MAX_SHOWN_CHARS``, so it cannot forge a line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import textwrap
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any, Final, TypeAlias
from urllib.parse import urlsplit, urlunsplit

import attrs

from peerstate.audit import stores_under, verify_store
from peerstate.domain.records import LiveRecords
from peerstate.errors import PeerError
from peerstate.history import Entry, history
from peerstate.scenario.values import parse_time
from peerstate.views import group_digest, member_lines, replica_as_of
from peerstate.scenario import ScenarioFileError, StepResult, load_scenario, replay, scenario_files, stores_of_file
from peerstate.scenario.problems import format_path
from peerstate.domain.replica import ReplicaState
from peerstate.storage.locations import Location, is_postgres, parse_location
from peerstate.storage.opening import NotAStore, open_store
from peerstate.storage.peer_store import PeerStore

Paint: TypeAlias = Callable[[str, bool], str]
"""Marks a verdict's text on stdout: ``paint(text, holds)``."""

MAX_SHOWN_CHARS: Final = 1000
"""The most characters of one piece of text from a store or another peer (a friendly name,
a peer or group name, an event's effect, a rule's reason, a finding) that a line of text
output shows, after escaping; the rest is cut, and the line says how much. Longer than any
name the API accepts (255 characters), so only text no honest peer writes is cut; JSON lines
carry it whole."""
_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What a terminal or a reader of lines would take for more than text: C0 and C1 control
characters (newlines, ANSI escapes), line and paragraph separators, and the bidirectional
formatting characters that reorder what is shown."""
POSTGRES_MODULES: Final = ("psycopg", "psycopg_pool")
"""What the ``postgres`` extra installs, and a PostgreSQL store imports."""


class _UsageError(Exception):
    """What the command was given cannot be worked on (nothing there, or a store that cannot
    be opened): one line on stderr, exit status 2."""


def _safe(text: str) -> str:
    """Text from a store or another peer as a line of output shows it: each character in
    ``_UNSAFE`` escaped as Python writes it (``\\n``, ``\\x1b``), so that a friendly name
    holding a newline cannot forge a line; cut at ``MAX_SHOWN_CHARS``."""
    escaped = _UNSAFE.sub(lambda found: repr(found[0])[1:-1], text)
    if len(escaped) <= MAX_SHOWN_CHARS:
        return escaped
    return f"{escaped[:MAX_SHOWN_CHARS]}... ({len(escaped) - MAX_SHOWN_CHARS} more characters)"


def _location(text: str) -> Path | str:
    """A ``--store``: read while parsing, so that an empty one is a usage error rather than
    the current directory."""
    if not text:
        raise argparse.ArgumentTypeError("an empty location names no store (write . for this directory)")
    return parse_location(text)


def _time(text: str) -> datetime:
    """An ``--at``: read while parsing, so that a bad one is a usage error like any other."""
    try:
        return parse_time(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _position(text: str) -> int:
    """An ``--event``: a place in a replica's log, counted from 1 as ``log`` prints it."""
    try:
        place = int(text)
    except ValueError:
        place = 0
    if place < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an event's place: 1, 2, 3 ... as the [N] of peerstate log")
    return place


def _shown(location: Location) -> str:
    """A store location as output names it: a PostgreSQL URL without its password, since
    error lines and findings end up pasted into tickets and logs."""
    text = str(location)
    parts = urlsplit(text)
    if not is_postgres(location) or parts.password is None:
        return text
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{host}"))


def _one_line(text: str) -> str:
    """A message as one line: a driver's (psycopg's) may span several."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _database_errors() -> tuple[type[Exception], ...]:
    """What a store's database raises when it cannot be opened or reached: SQLite's errors,
    and psycopg's when a PostgreSQL store has loaded it (it is an optional extra, so it is
    looked up rather than imported)."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.DatabaseError, *((psycopg.OperationalError,) if psycopg is not None else ()))


@contextmanager
def _opening(location: Location) -> Iterator[None]:
    """Within it, a store failing to open is a usage error naming it: a location that holds
    no peerstate store, a file that is no SQLite database, a PostgreSQL server that cannot
    be reached or refuses the login, or a PostgreSQL store without the ``postgres`` extra."""
    try:
        yield
    except NotAStore as error:
        raise _UsageError(f"{_safe(_shown(location))} is not a peerstate store: {error}") from error
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in POSTGRES_MODULES:
            raise
        raise _UsageError("a PostgreSQL store needs psycopg: pip install 'peerstate[postgres]'") from error
    except _database_errors() as error:
        raise _UsageError(f"cannot open the store at {_safe(_shown(location))}: {_one_line(str(error))}") from error


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Within it Ctrl-C waits, and is raised at its end. Python takes signals in the main
    thread only, so elsewhere (a caller running ``main`` in a thread of its own) nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: held.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt


class _Progress:
    """How far ``replay`` or ``verify`` is through its items (files, stores), told twice.
    A person at a terminal gets a status line on stderr (``[3/42 files]
    scenarios/x.json``), up only while an item is worked on and cleared before its results
    are printed, so it never mixes with stdout's lines; piped or redirected stderr gets none
    of it, so captured output and logs stay clean. And the summary ends the output with how
    many items were done, and whether Ctrl-C ended the run: it is printed before the
    interruption goes on to end the command (exit status 130), and agrees with the lines
    above it, since Ctrl-C waits while an item's results are printed (``reporting``)."""

    def __init__(self, total: int, noun: str) -> None:
        self.total = total
        self.noun = noun
        self.done = 0
        self._interruption: KeyboardInterrupt | None = None
        self._stream = sys.stderr
        self._on = self._stream.isatty()

    @contextmanager
    def showing(self, item: object) -> Iterator[None]:
        if not self._on:
            yield
            return
        width = shutil.get_terminal_size().columns - 1  # a wrapped line would not be rewritten in place
        self._stream.write(f"\r{f'[{self.done}/{self.total} {self.noun}] {_safe(str(item))}'[:width]}\x1b[K")
        self._stream.flush()
        try:
            yield
        finally:
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Within it an item's results are printed and counted, whole: Ctrl-C waits for its
        end, so that no line is cut short and the summary counts what the lines show. The
        item is done at its end."""
        with _ctrl_c_held():
            yield
            self.done += 1

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Ctrl-C within it ends the work, not the command: the summary is still to come.
        What Ctrl-C stopped is left as a crash would leave it, which the stores survive."""
        try:
            yield
        except KeyboardInterrupt as interruption:
            self._interruption = interruption

    def summary(self, arguments: argparse.Namespace, paint: Paint, counts: dict[str, int], line: str, holds: bool) -> None:
        """Print the last line: ``counts`` and how far the run got as ``{"summary": ...}``
        with ``--json``, else ``line`` (saying where Ctrl-C stopped it, if it did), painted;
        then let an interruption go on."""
        interrupted = self._interruption is not None
        if arguments.json:
            print(json.dumps({"summary": {
                **counts, self.noun: self.done, "of": self.total, "interrupted": interrupted,
            }}), flush=True)
        else:
            stopped = f" (interrupted after {self.done} of {self.total} {self.noun})" if interrupted else ""
            print(paint(f"{line}{stopped}", holds and not interrupted), flush=True)
        if self._interruption is not None:
            raise self._interruption


def _painter(arguments: argparse.Namespace) -> Paint:
    """Green for what holds, red for what does not, or no colour: never in JSON lines (a
    program reads them); else as ``--color`` says, and for ``auto`` only on a terminal and
    without ``NO_COLOR`` (no-color.org, where an explicit option wins over the variable)."""
    coloured = not arguments.json and (
        arguments.color == "always"
        or (arguments.color == "auto" and sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    )
    if not coloured:
        return lambda text, holds: text
    return lambda text, holds: f"\x1b[{32 if holds else 31}m{text}\x1b[0m"


def _result_json(result: StepResult) -> str:
    return json.dumps({**attrs.asdict(result), "file": str(result.file)})


def _result_line(result: StepResult, paint: Paint) -> str:
    """The step's line with its verdict painted: ``StepResult``'s line ends with PASS, or
    with FAIL, ': ' and the difference, which holds what the peers returned (``_safe``)."""
    difference = _safe(result.difference)
    line = str(attrs.evolve(result, difference=difference))
    tail = "" if result.passed else f": {difference}"
    head, _, verdict = line[: len(line) - len(tail)].rpartition(" ")
    return f"{head} {paint(verdict, result.passed)}{tail}"


def _report_invalid(arguments: argparse.Namespace, error: ScenarioFileError) -> None:
    """An invalid file: a JSON line with ``--json``, else a line on stderr, as it is no result."""
    if arguments.json:
        print(json.dumps({"file": str(error.file), "invalid": True, "path": format_path(error.path), "message": error.message}), flush=True)
    else:
        print(f"invalid: {error}", file=sys.stderr, flush=True)


def _file_stores(store: Path | str | None, files: Sequence[Path]) -> Callable[[Path], Path | str | None]:
    """Where each file's peers keep their stores: in memory without ``--store``; for one
    file, right under it; for several, each under a location of its own named after its
    path below the folder all of them are in (``stores_of_file``, as the pytest plugin
    names them), so that two files of one name in different folders never share one."""
    if store is None or len(files) == 1:
        return lambda file: store
    top = Path(os.path.commonpath([os.path.abspath(file.parent) for file in files]))
    return lambda file: stores_of_file(store, Path(os.path.abspath(file)), top)


def _replayed(progress: _Progress, file: Path, store: Path | str | None) -> list[StepResult] | ScenarioFileError:
    """The results of replaying ``file``, or why it is invalid."""
    try:
        with progress.showing(file), _opening(store):
            return replay(load_scenario(file), store_root=store)
    except ScenarioFileError as error:
        return error


def _replay(arguments: argparse.Namespace) -> int:
    files = scenario_files(arguments.paths)
    if not files:
        raise _UsageError(f"no scenario files in {', '.join(map(str, arguments.paths))}")
    if isinstance(arguments.store, Path):  # made now: a path that cannot hold stores fails once, not every step
        try:
            arguments.store.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _UsageError(f"cannot make the store directory {arguments.store}: {error.strerror}") from error
    paint = _painter(arguments)
    progress = _Progress(len(files), "files")
    stores = _file_stores(arguments.store, files)
    passed = failed = invalid = 0
    with progress.interruptible():
        for file in files:
            outcome = _replayed(progress, file, stores(file))
            with progress.reporting():
                if isinstance(outcome, ScenarioFileError):
                    invalid += 1
                    _report_invalid(arguments, outcome)
                else:
                    for result in outcome:
                        print(_result_json(result) if arguments.json else _result_line(result, paint), flush=True)
                    passed += sum(result.passed for result in outcome)
                    failed += sum(not result.passed for result in outcome)
    progress.summary(
        arguments, paint, {"passed": passed, "failed": failed, "invalid": invalid},
        f"{passed} passed, {failed} failed, {invalid} invalid", not failed and not invalid,
    )
    return 2 if invalid else 1 if failed else 0


def _store_paths(location: Path | str) -> list[Path | str]:
    """The stores at ``--store``; none is nothing to work on."""
    with _opening(location):
        stores = list(stores_under(location))
    if not stores:
        raise _UsageError(f"no store at {_safe(_shown(location))}")
    return stores


def _opened(paths: Iterable[Path | str]) -> Iterator[tuple[str, PeerStore]]:
    """Each store, opened read-only and closed in turn, with its name as output shows it
    (``_shown``: without a PostgreSQL password)."""
    for path in paths:
        with _opening(path):
            store = open_store(path, read_only=True)
        try:
            yield _shown(path), store
        finally:
            store.close()


def _verify(arguments: argparse.Namespace) -> int:
    paths = _store_paths(arguments.store)
    paint = _painter(arguments)
    progress = _Progress(len(paths), "stores")
    replicas = envelopes = findings = 0
    with progress.interruptible():
        for path, store in _opened(paths):
            with progress.showing(path):
                verification = verify_store(store)
            with progress.reporting():
                for finding in verification.findings:
                    if arguments.json:
                        print(json.dumps({"store": path, **attrs.asdict(finding)}), flush=True)
                    else:
                        print(paint(f"{_safe(path)}: {_safe(str(finding))}", False), flush=True)
                replicas += verification.replicas
                envelopes += verification.envelopes
                findings += len(verification.findings)
    progress.summary(
        arguments, paint, {"replicas": replicas, "envelopes": envelopes, "findings": findings},
        f"{progress.done} store(s), {replicas} replica(s), {envelopes} envelope(s): {findings} finding(s)", not findings,
    )
    return 1 if findings else 0


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _entry_line(position: int, entry: Entry) -> str:
    who = f"{_safe(entry.author)} #{entry.seq}" if entry.author else f"[{_safe(entry.identity)}'s replica]"
    refused = f"  REFUSED {_safe(entry.refused)}" if entry.refused else ""
    return f"[{position}] {_when(entry.at)}  {who}  {entry.event}: {_safe(entry.effect)}{refused}"


def _print(arguments: argparse.Namespace, record: dict[str, Any], line: str) -> None:
    print(json.dumps(record, default=str) if arguments.json else line, flush=True)


def _identities(arguments: argparse.Namespace) -> int:
    for path, store in _opened(_store_paths(arguments.store)):
        for record in store.identity_log().state.identities.values():
            state = f"deleted {_when(record.deleted_at)}" if record.deleted_at else "live"
            groups = ", ".join(map(_safe, record.groups)) or "none"
            _print(arguments, {
                "store": path, "peer_name": record.peer_name, "friendly_name": record.friendly_name,
                "origin": record.origin, "created_at": record.created_at, "deleted_at": record.deleted_at,
                "groups": list(record.groups),
            }, f"{_safe(path)}: {_safe(record.peer_name)} ({_safe(record.friendly_name)}), {record.origin} "
               f"{_when(record.created_at)}, {state}; groups: {groups}")
    return 0


def _no_replica(arguments: argparse.Namespace, why: str = "") -> _UsageError:
    """The error for a ``--group``, ``--event`` or ``--at`` that leaves no replica to show."""
    of = f" of the group {_safe(arguments.group)}" if arguments.group is not None else ""
    return _UsageError(f"no replica{of} in the stores at {_safe(_shown(arguments.store))}{why}")


def _replicas(arguments: argparse.Namespace) -> Iterator[tuple[str, PeerStore, str, str]]:
    """Each replica of ``--group`` (of every group without it) in the stores at ``--store``,
    in its store, which is open while it is worked on; a ``--group`` that no store holds is
    a usage error, not an empty output."""
    found = False
    for path, store in _opened(_store_paths(arguments.store)):
        for identity, group in store.replica_keys():
            if arguments.group in (None, group):
                found = True
                yield path, store, identity, group
    if arguments.group is not None and not found:
        raise _no_replica(arguments)


def _replicas_as_of(arguments: argparse.Namespace) -> Iterator[tuple[str, str, ReplicaState, datetime]]:
    """Each replica as of ``--at`` / ``--event``, with the time it stood at. A replica made
    after ``--at``, or whose log is shorter than ``--event``, had no such moment and is left
    out; all of them left out is a usage error that says how far the logs go."""
    longest, first, shown = 0, None, False
    for path, store, identity, group in _replicas(arguments):
        events = store.replica_events(identity, group)
        state, last = replica_as_of(group, events, event=arguments.event, at=arguments.at)
        if events:
            longest, first = max(longest, len(events)), min(first or events[0].at, events[0].at)
        if last is None or len(events) < (arguments.event or 0):
            continue
        shown = True
        yield path, identity, state, arguments.at or last
    if first is not None and not shown:
        if arguments.event is not None:
            raise _no_replica(arguments, f" has an event {arguments.event}: the longest log has {longest}")
        raise _no_replica(arguments, f" existed at {_when(arguments.at)}: the first began at {_when(first)}")


def _groups(arguments: argparse.Namespace) -> int:
    for path, identity, state, at in _replicas_as_of(arguments):
        group = state.group
        shown = len(LiveRecords(group.records, at))
        _print(arguments, {
            "store": path, "identity": identity, "group": group.group_peer_name, "at": at,
            "friendly_name": state.friendly_name, "phase": state.phase, "members": len(group.members),
            "records": shown, "refused": state.refused, "digest": group_digest(group),
        }, f"{_safe(path)}: {_safe(group.group_peer_name)} ({_safe(state.friendly_name)}) as {_safe(identity)}'s replica "
           f"at {_when(at)}: {state.phase}, {len(group.members)} member(s), {shown} record(s), {state.refused} refused, "
           f"digest {group_digest(group)[:16]}")
    return 0


def _members(arguments: argparse.Namespace) -> int:
    for path, identity, state, at in _replicas_as_of(arguments):
        if not arguments.json:
            print(f"== {_safe(state.group.group_peer_name)}, as {_safe(identity)}'s replica in {_safe(path)} knew it at {_when(at)}")
        for line in member_lines(state.group, at):
            standing = ("in force" if line.in_force else "not in force") + (", present" if line.present else "") + (", deleted" if line.deleted else "")
            validity = f"{_when(line.valid_from)} to {_when(line.valid_until)}" if line.valid_from and line.valid_until else "no credential"
            _print(arguments, {"store": path, "replica": identity, "group": state.group.group_peer_name, "at": at, **attrs.asdict(line)},
                   f"{_safe(line.identity)} ({_safe(line.friendly_name)})  {', '.join(line.roles) or 'no role'}  {validity}  {standing}")
    return 0


def _log(arguments: argparse.Namespace) -> int:
    for path, store, identity, group in _replicas(arguments):
        if not arguments.json:
            print(f"== {_safe(group)}, as {_safe(identity)}'s replica in {_safe(path)} sees it")
        for position, entry in enumerate(history(identity, group, store.replica_events(identity, group)), 1):
            if arguments.json:
                print(json.dumps({"store": path, "position": position, **attrs.asdict(entry), "at": entry.at.isoformat()}), flush=True)
            else:
                print(_entry_line(position, entry), flush=True)
    return 0


_UNEXPECTED = "peerstate failed unexpectedly (--debug shows where)"
_NO_STORE = "no store at DIR, a store that cannot be opened or reached, or bad arguments"


INTERRUPTED: Final = 130
"""The exit status when Ctrl-C ended a command, as a shell gives a process that SIGINT ended."""


def _epilog(examples: Sequence[str], statuses: Sequence[str]) -> str:
    """The end of a help text: invocations to copy, and what exit status 0, 1, 2 and 130
    mean, so that a script can be written from ``--help`` alone."""
    meanings = [*enumerate(statuses), (INTERRUPTED, "interrupted (Ctrl-C)")]
    return "\n".join([
        "examples:", *(f"  {example}" for example in examples), "",
        "exit status:",
        *(textwrap.fill(meaning, 79, initial_indent=f"  {status}  ", subsequent_indent="     ")
          for status, meaning in meanings),
    ])


def _common_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """``--color`` and ``--debug``, accepted before the command and after it. Only the
    program's parser gives them defaults; a command's leaves them unset when they are not
    given after it, so that it keeps what was given before it."""
    parser.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto" if defaults else argparse.SUPPRESS,
        help="colour the verdicts of replay and verify: auto (the default) on a terminal unless NO_COLOR is set",
    )
    parser.add_argument(
        "--debug", action="store_true", default=False if defaults else argparse.SUPPRESS,
        help="on an error, print its traceback before its line",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peerstate", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The Windows Peer Grouping and Identity Manager semantics, event-sourced.",
        epilog=_epilog([
            "peerstate replay scenarios/ --store stores",
            "peerstate verify --store stores",
            "peerstate log --store stores/records-ready-and-roles/bob | grep ADMIN",
            "peerstate members --store stores --json",
        ], [
            "success: every step passed, everything verified, everything asked for printed",
            f"a scenario step failed, verify found something, or {_UNEXPECTED}",
            "bad arguments, or nothing to work on: an invalid scenario file, no scenario file, "
            "no store, a store that cannot be opened or reached, a location that is no store",
        ]),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {metadata.version('peerstate')}")
    _common_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], summary: str, description: str,
                examples: Sequence[str], statuses: Sequence[str]) -> argparse.ArgumentParser:
        added = commands.add_parser(
            name, help=summary, description=description, epilog=_epilog(examples, statuses),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common_options(added, defaults=False)
        added.set_defaults(run=run)
        return added

    replay_command = command(
        "replay", _replay, "replay scenario files",
        "Replay scenario files (docs/scenario-format.md): a line per step, then 'N passed,\n"
        "M failed, K invalid'. An invalid file is reported and the valid ones still run. On a\n"
        "terminal, stderr shows the files done and the one running.",
        ["peerstate replay scenarios/",
         "peerstate replay scenarios/records/ scenarios/groups/password-join.json --store stores",
         "peerstate replay scenarios/identities/lifecycle.json --json",
         "peerstate replay scenarios/ --store 'postgresql://peerstate@localhost/peerstate?schema=ci'"],
        ["every step passed", f"a step failed, or {_UNEXPECTED}",
         "a scenario file is invalid, no scenario file was found, --store cannot hold stores, or bad arguments"],
    )
    replay_command.add_argument(
        "paths", nargs="+", type=Path, metavar="PATH",
        help="a scenario file, or a directory: every *.json file under it",
    )
    replay_command.add_argument(
        "--store", type=_location, metavar="DIR",
        help="keep each peer's store in DIR/<peer>; for several files, DIR/<file>/<peer>, <file> "
        "the file's path below the folder they are all in, without .json, its folders joined "
        "by '-'; default: in memory",
    )
    replay_command.add_argument("--json", action="store_true", help="print JSON lines")

    verify_command = command(
        "verify", _verify, "verify stores offline",
        "Judge every replica log of the stores at DIR again, from their rows: every envelope's\n"
        "signature, its author's credential and role at its time, each author's chain (no gap,\n"
        "fork or reordering), and every refusal. A line per finding, then a summary. On a\n"
        "terminal, stderr shows the stores checked.",
        ["peerstate verify --store stores",
         "peerstate verify --store stores/records-ready-and-roles/alice --json",
         "peerstate verify --store 'postgresql://peerstate@localhost/peerstate?schema=ci'"],
        ["everything holds", f"a finding, or {_UNEXPECTED}", _NO_STORE],
    )
    verify_command.add_argument(
        "--store", type=_location, metavar="DIR", required=True,
        help="a store, or a directory of stores (as replay --store leaves them)",
    )
    verify_command.add_argument("--json", action="store_true", help="print findings and the summary as JSON lines")

    log_command = command(
        "log", _log, "print the history of a store's replicas",
        "Print the history of every replica of the stores at DIR: time, author (with the\n"
        "friendly name the group knew), event, effect, and why an envelope was refused.",
        ["peerstate log --store stores/records-ready-and-roles/bob",
         "peerstate log --store stores --group \"$GROUP\" | grep ADMIN",
         "peerstate log --store stores --json"],
        ["printed", _UNEXPECTED, _NO_STORE],
    )
    log_command.add_argument("--store", type=_location, metavar="DIR", required=True, help="a store, or a directory of stores")
    log_command.add_argument("--group", metavar="NAME", help="only this group (its group peer name)")
    log_command.add_argument("--json", action="store_true", help="print JSON lines")

    for name, run, summary, examples in (
        ("identities", _identities, "the identities of each store, deleted ones too",
         ["peerstate identities --store stores", "peerstate identities --store env: --json"]),
        ("groups", _groups, "each replica's group: phase, members, records, digest",
         ["peerstate groups --store stores",
          "peerstate groups --store stores/records-ready-and-roles --at 2026-01-01T00:30:00Z"]),
        ("members", _members, "each group's members: roles, validity, presence",
         ["peerstate members --store stores/records-ready-and-roles/bob --group \"$GROUP\"",
          "peerstate members --store stores --event 12 --json"]),
    ):
        view = command(name, run, summary, f"Show {summary}.", examples, ["printed", _UNEXPECTED, _NO_STORE])
        view.add_argument("--store", type=_location, metavar="DIR", required=True, help="a store, or a directory of stores")
        if name != "identities":
            view.add_argument("--group", metavar="NAME", help="only this group (its group peer name)")
            as_of = view.add_mutually_exclusive_group()
            as_of.add_argument("--at", type=_time, metavar="TIME", help="as the replica stood at this ISO-8601 UTC time")
            as_of.add_argument("--event", type=_position, metavar="N", help="as the replica stood after its N-th event")
        view.add_argument("--json", action="store_true", help="print JSON lines")
    return parser


def _failure(error: BaseException) -> tuple[int, str]:
    """The exit status and the line for what ended a command: Ctrl-C (130), what the command
    was given (2), or something peerstate did not expect (1)."""
    if isinstance(error, KeyboardInterrupt):
        return INTERRUPTED, "interrupted"
    if isinstance(error, _UsageError):
        return 2, str(error)
    if isinstance(error, PeerError):
        return 2, f"{error.name} (0x{error.hresult:08X}): {_one_line(error.message)}"
    return 1, f"unexpected {type(error).__name__}: {_one_line(str(error))} (--debug shows where)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    arguments = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = arguments.run
    try:
        return run(arguments)
    except BrokenPipeError:  # the reader (``| head``) has all it wanted
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  # so that the interpreter's final flush is quiet
        return 0
    except (Exception, KeyboardInterrupt) as error:  # each is one line: a traceback only with --debug
        status, line = _failure(error)
        if arguments.debug:
            traceback.print_exc()
        print(f"peerstate: {line}", file=sys.stderr)
        return status
