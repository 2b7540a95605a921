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
  control characters escaped and cut at ``peerstate.bounds.MAX_SHOWN_CHARS``, so it cannot forge a
  line.

Here are the parser, ``main`` and how what ended a command becomes its exit status and its
line; ``output`` keeps the promises above for every command, ``replay_command`` is
``replay``, and ``store_commands`` the commands that read stores.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Final

from peerstate.cli.output import UsageError, one_line
from peerstate.cli.replay_command import run_replay
from peerstate.cli.store_commands import run_groups, run_identities, run_log, run_members, run_verify
from peerstate.errors import PeerError
from peerstate.scenario.values import parse_time
from peerstate.storage.locations import parse_location


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
        if name != "replay":
            added.add_argument(
                "--identity", metavar="NAME",
                help="the identity (its peer name) whose store this is: a store that does not hold it is refused",
            )
        return added

    replay_command = command(
        "replay", run_replay, "replay scenario files",
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
        "verify", run_verify, "verify stores offline",
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
        "log", run_log, "print the history of a store's replicas",
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
        ("identities", run_identities, "the identities of each store, deleted ones too",
         ["peerstate identities --store stores", "peerstate identities --store env: --json"]),
        ("groups", run_groups, "each replica's group: phase, members, records, digest",
         ["peerstate groups --store stores",
          "peerstate groups --store stores/records-ready-and-roles --at 2026-01-01T00:30:00Z"]),
        ("members", run_members, "each group's members: roles, validity, presence",
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
    if isinstance(error, UsageError):
        return 2, str(error)
    if isinstance(error, PeerError):
        return 2, f"{error.name} (0x{error.hresult:08X}): {one_line(error.message)}"
    return 1, f"unexpected {type(error).__name__}: {one_line(str(error))} (--debug shows where)"


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
