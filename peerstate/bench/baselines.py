"""What each case is compared with: the same work done by the bare tools peerstate stands
on, with nothing of peerstate's, on the same machine in the same run."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final
from uuid import NAMESPACE_URL, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from peerstate import crypto
from peerstate.crypto.credentials import sign, verify_with
from peerstate.storage.logs import project_log
from peerstate.storage.peer_store import PAGE

BARE_ID: Final = uuid5(NAMESPACE_URL, "peerstate-bench:bare")
SIGNED: Final = bytes(300)
"""What the write baseline signs: about an envelope's signed part."""


class BareLog(Aggregate):
    """An aggregate with one kind of event and nothing else."""

    class Appended(Aggregate.Event):
        payload: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, BareLog)
            aggregate.count += 1

    @staticmethod
    def create_id() -> Any:
        return BARE_ID

    def __init__(self) -> None:
        self.count = 0


def _app(database: Path) -> Application[Any]:
    return Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(database)})


def bare_open_seconds(database: Path, events: int, payload_chars: int) -> float:
    """Seconds to read an aggregate of ``events`` events, each carrying ``payload_chars``
    characters, from a SQLite file written for it (kept between sizes, grown as needed)."""
    app = _app(database)
    try:
        log: BareLog = app.repository.get(BARE_ID, projector_func=project_log)
    except AggregateNotFoundError:  # not written yet: the first size
        log = BareLog()
    payload = "x" * payload_chars
    while log.version < events:
        for _ in range(min(PAGE, events - log.version)):
            log.trigger_event(BareLog.Appended, payload=payload)
        app.save(log)
    app.close()
    again = _app(database)
    started = time.perf_counter()
    read = again.repository.get(BARE_ID, projector_func=project_log)
    elapsed = time.perf_counter() - started
    assert read.version == events
    again.close()
    return elapsed


class BareWriter:
    """A bare single-event save plus one signature, as a local write must sign its envelope
    and store it: one write at a time, so that it can be timed in turns with peerstate's."""

    def __init__(self, database: Path) -> None:
        database.unlink(missing_ok=True)
        self._app = _app(database)
        self._key = crypto.generate_identity_key()
        self._log = BareLog()
        self._app.save(self._log)

    def write_seconds(self) -> float:
        """Seconds one write takes."""
        started = time.perf_counter()
        signature = sign(self._key, SIGNED)
        self._log.trigger_event(BareLog.Appended, payload=signature.hex())
        self._app.save(self._log)
        return time.perf_counter() - started

    def close(self) -> None:
        self._app.close()


def raw_verify_seconds(checks: Sequence[tuple[Any, bytes, bytes]]) -> float:
    """Seconds for a plain loop of signature verifications: (public key object, data,
    signature) each, the key already parsed."""
    started = time.perf_counter()
    for key, data, signature in checks:
        verify_with(key, data, signature)
    return time.perf_counter() - started
