"""``PeerCore``: what every call of a peer stands on: its store, its keys, its clock, and the
one write path that turns a decision into stored events.

Every call follows that path: check the arguments, decide against the current state with
the domain rules (which raise the documented ``PeerError``), do the crypto the events need,
then append the events and save them in one transaction. A call that fails at any point has
written nothing. A save that loses a race to another writer of the store makes the whole
call again, from its arguments, on the state the winner left, so that every check is made
again too: each public method of a ``PeerCore`` subclass is wrapped for that
(``__init_subclass__``), and holds the peer's lock, so threads may share a peer.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, TypeVar
from uuid import UUID

import attrs

from peerstate import crypto
from peerstate.domain.events import IdentityEvent, KeyStoreProtected
from peerstate.domain.group_events import ReplicaEvent
from peerstate.domain.state import IdentityStoreState
from peerstate.errors import InvalidArgument, peer_error
from peerstate.crypto.key_ring import KeyRing
from peerstate.calls.sessions import ReplicaKey, Sessions
from peerstate.storage.store import PeerStore, ReplicaLog, WriteConflict

MAX_SAVE_ATTEMPTS: Final = 16
"""Attempts of one call at most; from the second on it holds the store's turn, so more than
two means a writer that is not peerstate's."""
_Result = TypeVar("_Result")


class _Stale(Exception):
    """A save lost the race: the whole call must be made again on the state the winner left."""


def _retried(call: Callable[..., _Result]) -> Callable[..., _Result]:
    """Start a public call from the store as it is, and make it again, from its arguments,
    when another writer committed between its start and its first write, so that every
    check it makes before deciding is made again on the new state. A call takes the store's
    turn at its first write and holds it to its end. Made again, it holds the turn from its
    start, so no writer can come between again (only one that is not peerstate's, writing
    rows directly, which the save's conflict still catches); and so do the peer's next calls
    while other writers keep committing between them, since each would lose a race too."""
    @functools.wraps(call)
    def wrapper(self: "PeerCore", *args: Any, **kwargs: Any) -> _Result:
        with self._lock:  # one call at a time on a Peer: threads may share it
            if self._calling:
                return call(self, *args, **kwargs)  # a call inside a call: the outer one retries
            self._calling = True
            try:
                for _ in range(MAX_SAVE_ATTEMPTS):
                    with contextlib.ExitStack() as turn:
                        self._turn = turn
                        if self._contended:
                            turn.enter_context(self._store.turn())
                        if not self._catch_up():
                            self._contended = False
                        try:
                            return call(self, *args, **kwargs)
                        except _Stale:
                            self._races_lost += 1
                            self._contended = True
            finally:
                self._calling = False
                self._turn = None
        raise peer_error("E_UNEXPECTED", "the log kept changing under this call; try again")
    return wrapper


Decision = tuple[list[IdentityEvent], _Result]
GroupDecision = tuple[list[ReplicaEvent], list[IdentityEvent], _Result]
SpreadDecision = tuple[dict[ReplicaKey, list[ReplicaEvent]], list[IdentityEvent], _Result]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@attrs.frozen
class PeerSettings:
    """How a peer's machine is set up: what the scenario format's ``peers`` entries say.

    ``address`` is the machine's address as ``PeerGroupConnectByAddress`` names it;
    ``clock_offset`` how far its clock is off the clock the peer is given (a simulated
    machine's skew); ``file_root`` where the absolute paths of the database export and
    import calls lie (None: the real file system; a simulation gives its machines one
    shared directory, as a network share).
    """

    clouds: tuple[str, ...] = ("Global_",)
    passphrase: str | None = None
    password_min_length: int = 8
    address: str = "::1"
    clock_offset: timedelta = timedelta(0)
    file_root: Path | None = None


@attrs.frozen
class NamePair:
    """An identity or group as enumerations list it (``PEER_NAME_PAIR``)."""

    peer_name: str
    friendly_name: str


class PeerCore:
    """One machine's peer infrastructure, over its store.

    With a passphrase, private keys are sealed at rest under a key derived from it. Opened
    without the right passphrase, the keys stay locked: calls that sign or decrypt raise
    ``NoKeyAccess`` while reading calls work.
    """

    def __init__(
        self, store: PeerStore, *, settings: PeerSettings = PeerSettings(),
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock if not settings.clock_offset else lambda: clock() + settings.clock_offset
        self._seen = store.ledger_version()
        """The store's commits this peer has seen: every log it reads is at least as new."""
        self._log = store.identity_log()
        self._replicas: dict[tuple[str, str], ReplicaLog] = {}
        self._keys = KeyRing()
        self._sessions = Sessions()
        self._closed = False
        self._calling = False
        self._turn: contextlib.ExitStack | None = None
        """While a call runs: where it holds the store's turn from its first write on."""
        self._races_lost = 0
        self._contended = False
        """A call lost a race, and other writers have committed between calls since: take the
        store's turn from the start of each call."""
        self._lock = threading.RLock()
        self._open_key_store(settings.passphrase)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every public call of a subclass is retried whole after a lost race (``_retried``)."""
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if not name.startswith("_") and callable(value) and not isinstance(value, (staticmethod, classmethod, property)):
                setattr(cls, name, _retried(value))

    @property
    def settings(self) -> PeerSettings:
        return self._settings

    def close(self) -> None:
        """End this process's use of the peer: its handles and registrations are gone; the
        store stays open for whoever owns it."""
        self._closed = True
        self._sessions = Sessions()

    @property
    def races_lost(self) -> int:
        """How many calls of this peer were made again because another writer of its store
        committed first: a measure of contention."""
        return self._races_lost

    @property
    def keys_locked(self) -> bool:
        return self._keys.locked

    def _open_key_store(self, passphrase: str | None) -> None:
        protection = self._log.state.protection
        if protection is not None:
            kek = None
            if passphrase is not None:
                parameters = crypto.KdfParameters(
                    protection.salt, protection.iterations, protection.lanes, protection.memory_cost
                )
                derived = crypto.derive_key_encryption_key(passphrase, parameters)
                kek = derived if crypto.passes_key_check(derived, protection.check) else None
            self._keys = KeyRing(True, kek)
            return
        if passphrase is None:
            return
        if self._log.state.identities:
            raise InvalidArgument(
                "this store was created without a passphrase and already holds keys in the clear; "
                "export its identities and import them into a store opened with a passphrase"
            )
        parameters = crypto.new_kdf_parameters()
        kek = crypto.derive_key_encryption_key(passphrase, parameters)
        self._execute(lambda state: ([KeyStoreProtected(
            parameters.salt, parameters.iterations, parameters.lanes, parameters.memory_cost,
            crypto.key_check(kek),
        )], None))
        self._keys = KeyRing(True, kek)

    # The one write path ---------------------------------------------------------------------

    @property
    def _state(self) -> IdentityStoreState:
        if self._closed:
            raise peer_error("PEER_E_NOT_INITIALIZED", "this peer was closed")
        return self._log.state

    def _replica(self, identity: str, group: str) -> ReplicaLog:
        """The identity's replica of the group, as this process last saw it."""
        key = (identity, group)
        log = self._replicas.get(key)
        if log is None:
            log = self._replicas[key] = self._store.replica_log(identity, group)
        return log

    def _reload(self, replicas: Sequence[tuple[str, str]] = ()) -> None:
        """Forget what this process holds of the logs a failed call may have recorded on."""
        self._log = self._store.identity_log()
        for key in replicas:
            self._replicas.pop(key, None)

    def _catch_up(self, changed: set[UUID] | None = None) -> bool:
        """Bring the logs this process holds up to what other writers of the store committed
        since it last looked (or to the ``changed`` logs it was just told of), so that every
        call starts from the store as it is; whether they had committed anything."""
        if changed is None:
            changed, self._seen = self._store.changed_logs(self._seen)
        if self._log.id in changed or self._log.pending_events:
            self._log = self._store.caught_up(self._log)
        for key, log in self._replicas.items():
            if log.id in changed or log.pending_events:
                self._replicas[key] = self._store.caught_up(log)
        return bool(changed)

    def _take_turn(self) -> None:
        """Hold the store's turn to the end of the call, starting from the store as it is:
        if another writer committed since the call started, it is made again."""
        if self._turn is None:  # not inside a public call: the save takes the turn itself
            return
        self._turn.enter_context(self._store.turn())
        changed, self._seen = self._store.changed_logs(self._seen)
        if changed:
            self._catch_up(changed)
            raise _Stale()

    def _execute(self, decide: Callable[[IdentityStoreState], Decision[_Result]]) -> _Result:
        """Decide against the current identity state, then store what was decided, atomically."""
        return self._execute_group(None, lambda _: ([], *decide(self._state)))

    def _execute_group(
        self, replica: ReplicaKey | None,
        decide: Callable[[ReplicaLog | None], GroupDecision[_Result]],
    ) -> _Result:
        """Decide against a replica (and the identity state), then store the replica's and
        the identity log's new events in one transaction."""
        def spread(logs: Mapping[ReplicaKey, ReplicaLog]) -> SpreadDecision[_Result]:
            replica_events, identity_events, result = decide(logs[replica] if replica is not None else None)
            return ({replica: replica_events} if replica is not None else {}), identity_events, result

        return self._execute_replicas([replica] if replica is not None else [], spread)

    def _execute_replicas(
        self, replicas: Sequence[ReplicaKey],
        decide: Callable[[Mapping[ReplicaKey, ReplicaLog]], SpreadDecision[_Result]],
    ) -> _Result:
        """The one write path: decide against the replicas and the identity state as last
        stored, then store every new event in one transaction (``decide`` may also record
        on a log itself, to judge each event on the state the last one left). When another
        process wrote first, read everything again and decide again."""
        self._take_turn()
        logs = {key: self._replica(*key) for key in replicas}
        try:
            replica_events, identity_events, result = decide(logs)
            for identity_event in identity_events:
                self._log.record(identity_event)
            for key, events in replica_events.items():
                for replica_event in events:
                    logs[key].record(replica_event)
            committed = self._store.save(*([self._log] if identity_events else []), *logs.values())
            if committed == self._seen + 1:  # no other writer's commit came between: nothing to catch up
                self._seen = committed
            return result
        except WriteConflict:
            self._reload(replicas)
            if not self._calling:
                raise peer_error("E_UNEXPECTED", "the log changed under this call; try again") from None
            raise _Stale() from None
        except BaseException:
            self._reload(replicas)
            raise
