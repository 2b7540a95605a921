"""What every ``peerstate`` command shares in what it shows: text from a store or another
peer escaped and cut (``safe``), store locations without their passwords (``shown``),
colour for verdicts (``painter``), progress on a terminal and the summary line
(``Progress``), and the errors a command is given to work on (``UsageError``, ``opening``).

Kept apart from the commands so that each command's module reads as what it does, and so
that every command keeps the promises ``peerstate.cli``'s docstring lists the same way:
results alone on stdout, one line per error, nothing from a store able to forge a line.
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
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final, TypeAlias
from urllib.parse import urlsplit, urlunsplit

from peerstate.bounds import MAX_SHOWN_CHARS
from peerstate.storage.locations import Location, is_postgres
from peerstate.storage.opening import NotAStore

Paint: TypeAlias = Callable[[str, bool], str]
"""Marks a verdict's text on stdout: ``paint(text, holds)``."""

_UNSAFE: Final = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""What a terminal or a reader of lines would take for more than text: C0 and C1 control
characters (newlines, ANSI escapes), line and paragraph separators, and the bidirectional
formatting characters that reorder what is shown."""
POSTGRES_MODULES: Final = ("psycopg", "psycopg_pool")
"""What the ``postgres`` extra installs, and a PostgreSQL store imports."""


class UsageError(Exception):
    """What the command was given cannot be worked on (nothing there, or a store that cannot
    be opened): one line on stderr, exit status 2."""


def safe(text: str) -> str:
    """Text from a store or another peer as a line of output shows it: each character in
    ``_UNSAFE`` escaped as Python writes it (``\\n``, ``\\x1b``), so that a friendly name
    holding a newline cannot forge a line; cut at ``MAX_SHOWN_CHARS``."""
    escaped = _UNSAFE.sub(lambda found: repr(found[0])[1:-1], text)
    if len(escaped) <= MAX_SHOWN_CHARS:
        return escaped
    return f"{escaped[:MAX_SHOWN_CHARS]}... ({len(escaped) - MAX_SHOWN_CHARS} more characters)"


def shown(location: Location) -> str:
    """A store location as output names it: a PostgreSQL URL without its password, since
    error lines and findings end up pasted into tickets and logs."""
    text = str(location)
    parts = urlsplit(text)
    if not is_postgres(location) or parts.password is None:
        return text
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{host}"))


def one_line(text: str) -> str:
    """A message as one line: a driver's (psycopg's) may span several."""
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _database_errors() -> tuple[type[Exception], ...]:
    """What a store's database raises when it cannot be opened or reached: SQLite's errors,
    and psycopg's when a PostgreSQL store has loaded it (it is an optional extra, so it is
    looked up rather than imported)."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.DatabaseError, *((psycopg.OperationalError,) if psycopg is not None else ()))


@contextmanager
def opening(location: Location) -> Iterator[None]:
    """Within it, a store failing to open is a usage error naming it: a location that holds
    no peerstate store, a file that is no SQLite database, a PostgreSQL server that cannot
    be reached or refuses the login, or a PostgreSQL store without the ``postgres`` extra."""
    try:
        yield
    except NotAStore as error:
        raise UsageError(f"{safe(shown(location))} is not a peerstate store: {error}") from error
    except ModuleNotFoundError as error:
        if (error.name or "").partition(".")[0] not in POSTGRES_MODULES:
            raise
        raise UsageError("a PostgreSQL store needs psycopg: pip install 'peerstate[postgres]'") from error
    except _database_errors() as error:
        raise UsageError(f"cannot open the store at {safe(shown(location))}: {one_line(str(error))}") from error


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


class Progress:
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
        self._stream.write(f"\r{f'[{self.done}/{self.total} {self.noun}] {safe(str(item))}'[:width]}\x1b[K")
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


def painter(arguments: argparse.Namespace) -> Paint:
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
