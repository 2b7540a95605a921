"""Writers of one store taking turns, across threads and processes.

Every save of a store already fails when another writer committed first (the commit
ledger's next version is taken), and the call is then made again. Under many writers that
alone can lose again and again; so a save, and every call made again after a lost race,
holds the store's turn: a lock every writer of the store takes, whatever process it is in.
A call made again under the turn starts from the store as it is and cannot lose.

The lock is one that lives as long as the store does and needs nothing of ours to clean up
after a killed process: a file lock beside a SQLite file (released by the system with the
process), a PostgreSQL advisory lock on a connection of its own (released with the
connection), and for a store in memory, which only its own process sees, none beyond the
threads' lock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

from filelock import FileLock


class ProcessLock(Protocol):
    """A lock that one process holds at a time."""

    def acquire(self) -> None: ...
    def release(self) -> None: ...
    def close(self) -> None: ...


class WriterTurn:
    """The store's turn, re-entrant within a thread: the threads of this process queue on
    an ``RLock``, and the first to enter takes the lock across processes, if any."""

    def __init__(self, across_processes: ProcessLock | None = None) -> None:
        self._threads = threading.RLock()
        self._processes = across_processes
        self._depth = 0

    def __enter__(self) -> None:
        self._threads.acquire()
        if self._depth == 0 and self._processes is not None:
            try:
                self._processes.acquire()
            except BaseException:
                self._threads.release()
                raise
        self._depth += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._depth -= 1
        try:
            if self._depth == 0 and self._processes is not None:
                self._processes.release()
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._processes is not None:
            self._processes.close()


class LockFile:
    """The turn of a SQLite store across processes: a lock on a file beside the database."""

    def __init__(self, path: str) -> None:
        self._lock = FileLock(path, thread_local=False)

    def acquire(self) -> None:
        self._lock.acquire()

    def release(self) -> None:
        self._lock.release()

    def close(self) -> None:
        self._lock.release(force=True)


class AdvisoryLock:
    """The turn of a PostgreSQL store across processes: an advisory lock named after its
    schema, on a connection opened for it at the first turn (and again if the server
    dropped it)."""

    def __init__(self, connect: Callable[[], Any], schema: str) -> None:
        self._connect = connect
        self._key = int.from_bytes(hashlib.sha256(f"peerstate writers {schema}".encode()).digest()[:8], "big", signed=True)
        self._connection: Any = None

    def acquire(self) -> None:
        if self._connection is None or self._connection.closed:
            self._connection = self._connect()
        self._connection.execute("SELECT pg_advisory_lock(%s)", (self._key,))

    def release(self) -> None:
        self._connection.execute("SELECT pg_advisory_unlock(%s)", (self._key,))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
