"""``Runtime``: what every call of a peer stands on: its store, its keys, its clock, its
handles, and the one write path that turns a decision into stored events; and the two
decorators that say, at each call's definition, how it runs (``reading``, ``writing``).

Every call follows one path: check the arguments, decide against the current state with
the domain rules (which raise the documented ``PeerError``), do the crypto the events need,
then append the events and save them in one transaction. A call that fails at any point has
written nothing.

A ``reading`` call holds the peer's lock, so threads may share a peer, and starts from the
store as it is, so that no read is stale. A ``writing`` call does the same and more: a save
that loses a race to another writer of the store makes the whole call again, from its
arguments, on the state the winner left, so that every check is made again too; and once
other writers contend, it holds the store's turn from its start.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Concatenate, Final, ParamSpec, Protocol, TypeVar
from uuid import UUID

import attrs

from peerstate import crypto
from peerstate.calls.sessions import GroupHandle, Sessions
from peerstate.sync.port import ReplicaKey
from peerstate.crypto.key_ring import KeyRing
from peerstate.domain.events import IdentityEvent, KeyStoreProtected
from peerstate.domain.group_events import ReplicaEvent
from peerstate.domain.rules import keys_unlocked
from peerstate.domain.state import IdentityRecord, IdentityStoreState
from peerstate.registry import Refusal, rule
from peerstate.storage.logs import ReplicaLog
from peerstate.storage.peer_store import PeerStore, WriteConflict

MAX_SAVE_ATTEMPTS: Final = 16
"""Attempts of one call at most; from the second on it holds the store's turn, so more than
two means a writer that is not peerstate's."""
_Result = TypeVar("_Result")
_Params = ParamSpec("_Params")

Decision = tuple[list[IdentityEvent], _Result]
GroupDecision = tuple[list[ReplicaEvent], list[IdentityEvent], _Result]
SpreadDecision = tuple[dict[ReplicaKey, list[ReplicaEvent]], list[IdentityEvent], _Result]


@rule("E_UNEXPECTED")
def save_attempts_remain(attempt: int) -> None:
    """A call lost to other writers of the store is made again at most
    ``MAX_SAVE_ATTEMPTS`` times in all (``E_UNEXPECTED``)."""
    if attempt >= MAX_SAVE_ATTEMPTS:
        raise Refusal("the log kept changing under this call; try again")


@rule("PEER_E_NOT_INITIALIZED")
def peer_is_open(closed: bool) -> None:
    """A call is made on a peer this process has not closed (``PEER_E_NOT_INITIALIZED``)."""
    if closed:
        raise Refusal("this peer was closed")


@rule("PEER_E_IDENTITY_NOT_FOUND")
def store_holds_identity(state: IdentityStoreState, identity: str) -> None:
    """A peer opened for an identity (``PeerSettings.identity``) is opened only on a store
    that holds it, live (``PEER_E_IDENTITY_NOT_FOUND``): another's store, swapped in for
    its owner's, is not served as the owner's."""
    record = state.identities.get(identity)
    if record is None or not record.live:
        raise Refusal(f"this store holds no identity {identity!r}: it is another's, or the identity was deleted")


@rule("E_INVALIDARG")
def store_holds_no_clear_keys(state: IdentityStoreState) -> None:
    """A store created without a passphrase takes one only while it holds no identity, whose
    key would stay in the clear (``E_INVALIDARG``)."""
    if state.identities:
        raise Refusal(
            "this store was created without a passphrase and already holds keys in the clear; "
            "export its identities and import them into a store opened with a passphrase"
        )


class _Stale(Exception):
    """A save lost the race: the whole call must be made again on the state the winner left."""


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@attrs.frozen
class PeerSettings:
    """How a peer's machine is set up: what the scenario format's ``peers`` entries say.

    ``address`` is the machine's address as ``PeerGroupConnectByAddress`` names it;
    ``clock_offset`` how far its clock is off the clock the peer is given (a simulated
    machine's skew); ``file_root`` where the absolute paths of the database export and
    import calls lie (None: the real file system; a simulation gives its machines one
    shared directory, as a network share). ``refuse_old_password_proofs`` makes this peer
    check no password of a group made before the password exchange (issue 30), whose
    verifier any member could join with, until its creator sets the password again.
    ``identity`` is the identity whose store this is, when the caller knows it: an open of
    a store that does not hold it (another's, swapped in) is refused
    (``store_holds_identity``); with a passphrase the seal stands for the identity log it
    is read from (``storage.store_seal``).
    """

    clouds: tuple[str, ...] = ("Global_",)
    passphrase: str | None = None
    password_min_length: int = 8
    address: str = "::1"
    clock_offset: timedelta = timedelta(0)
    file_root: Path | None = None
    refuse_old_password_proofs: bool = False
    identity: str | None = None


@attrs.frozen
class NamePair:
    """An identity or group as enumerations list it (``PEER_NAME_PAIR``)."""

    peer_name: str
    friendly_name: str


class Runtime:
    """One machine's peer infrastructure, over its store: what the calls of ``peerstate.calls``
    take as their first argument.

    With a passphrase, private keys are sealed at rest under a key derived from it. Opened
    without the right passphrase, the keys stay locked: calls that sign or decrypt raise
    ``NoKeyAccess`` while reading calls work.
    """

    def __init__(self, store: PeerStore, settings: PeerSettings, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock if not settings.clock_offset else lambda: clock() + settings.clock_offset
        self.keys = KeyRing()
        self.sessions = Sessions()
        self.sealed_now = False
        """Whether this open sealed a store that carried no seal (``PeerStore.open_sealed``):
        a store made before seals, once; any other time, a store stripped of its seal."""
        self.races_lost = 0
        """How many calls were made again because another writer of the store committed first."""
        self._seen = store.ledger_version()
        """The store's commits this peer has seen: every log it reads is at least as new."""
        self._log = store.identity_log()
        self._replicas: dict[ReplicaKey, ReplicaLog] = {}
        self._closed = False
        self._calling = False
        self._turn: contextlib.ExitStack | None = None
        """While a writing call runs: where it holds the store's turn from its first write on."""
        self._contended = False
        """A call lost a race, and other writers have committed between calls since: take the
        store's turn from the start of each call."""
        self._lock = threading.RLock()
        self.writing(lambda: self._open_key_store(settings.passphrase))
        if settings.identity is not None:
            store_holds_identity(self._log.state, settings.identity)

    # How calls run ---------------------------------------------------------------------------

    def reading(self, call: Callable[[], _Result]) -> _Result:
        """Run a call that stores nothing: one call at a time, from the store as it is."""
        with self._lock:
            if self._calling:
                return call()  # a call inside a call: the outer one caught up
            self._calling = True
            try:
                self._catch_up()
                return call()
            finally:
                self._calling = False

    def writing(self, call: Callable[[], _Result]) -> _Result:
        """Run a call that may store: as ``reading``, and made again, whole, when another
        writer committed between its start and its first write, so that every check it makes
        before deciding is made again on the new state. A call takes the store's turn at its
        first write and holds it to its end. Made again, it holds the turn from its start, so
        no writer can come between again (only one that is not peerstate's, writing rows
        directly, which the save's conflict still catches); and so do the next calls while
        other writers keep committing between them, since each would lose a race too."""
        with self._lock:
            if self._calling:
                if self._turn is None:
                    raise AssertionError("a call that writes was made inside one that only reads")
                return call()  # a call inside a call: the outer one retries
            self._calling = True
            try:
                attempt = 0
                while True:
                    save_attempts_remain(attempt)
                    attempt += 1
                    with contextlib.ExitStack() as turn:
                        self._turn = turn
                        if self._contended:
                            turn.enter_context(self.store.turn())
                        if not self._catch_up():
                            self._contended = False
                        try:
                            return call()
                        except _Stale:
                            self.races_lost += 1
                            self._contended = True
            finally:
                self._calling = False
                self._turn = None

    # What calls read -------------------------------------------------------------------------

    @property
    def state(self) -> IdentityStoreState:
        """The identities of this peer, as its store holds them."""
        peer_is_open(self._closed)
        return self._log.state

    def replica(self, identity: str, group: str) -> ReplicaLog:
        """The identity's replica of the group, as this process last saw it."""
        key = (identity, group)
        log = self._replicas.get(key)
        if log is None:
            log = self._replicas[key] = self.store.replica_log(identity, group)
        return log

    def open(self, handle: object) -> tuple[GroupHandle, ReplicaLog]:
        """The open handle and its replica (``PEER_E_INVALID_GROUP`` for anything else)."""
        peer_is_open(self._closed)
        opened = self.sessions.handle(handle)
        return opened, self.replica(*opened.replica)

    def identity_key(self, record: IdentityRecord) -> crypto.PrivateKey:
        """The identity's private key, opened (``PEER_E_NO_KEY_ACCESS`` while locked)."""
        return self.keys.private_key(record.peer_name, record.private_key, record.sealed)

    def close(self) -> None:
        """End this process's use of the peer: its handles and registrations are gone; the
        store stays open for whoever owns it."""
        self._closed = True
        self.sessions = Sessions()

    def _open_key_store(self, passphrase: str | None) -> None:
        """Open the key ring, and with the right passphrase check the store against its
        seal (``PeerStore.open_sealed``) and read it again, checked; a store protected
        from now on is sealed from its first commit on."""
        protection = self._log.state.protection
        if protection is not None:
            kek = None
            if passphrase is not None:
                parameters = crypto.KdfParameters(
                    protection.salt, protection.iterations, protection.lanes, protection.memory_cost
                )
                derived = crypto.derive_key_encryption_key(passphrase, parameters)
                kek = derived if crypto.passes_key_check(derived, protection.check) else None
            self.keys = KeyRing(True, kek)
            if kek is not None:
                self.sealed_now = self.store.open_sealed(
                    crypto.store_seal_key(kek), sealed_from_the_start=crypto.check_says_sealed(kek, protection.check),
                )
                self._reload([*self._replicas])
            return
        if passphrase is None:
            return
        store_holds_no_clear_keys(self._log.state)
        parameters = crypto.new_kdf_parameters()
        kek = crypto.derive_key_encryption_key(passphrase, parameters)
        self.sealed_now = self.store.open_sealed(crypto.store_seal_key(kek), sealed_from_the_start=False)
        self.execute(lambda state: ([KeyStoreProtected(
            parameters.salt, parameters.iterations, parameters.lanes, parameters.memory_cost,
            crypto.sealed_store_check(kek),
        )], None))
        self.keys = KeyRing(True, kek)

    # The one write path ----------------------------------------------------------------------

    def _reload(self, replicas: Sequence[ReplicaKey] = ()) -> None:
        """Forget what this process holds of the logs a failed call may have recorded on."""
        self._log = self.store.identity_log()
        for key in replicas:
            self._replicas.pop(key, None)

    def _catch_up(self, changed: set[UUID] | None = None) -> bool:
        """Bring the logs this process holds up to what other writers of the store committed
        since it last looked (or to the ``changed`` logs it was just told of), so that every
        call starts from the store as it is; whether they had committed anything."""
        if changed is None:
            changed, self._seen = self.store.changed_logs(self._seen)
        if self._log.id in changed or self._log.pending_events:
            self._log = self.store.caught_up(self._log)
        for key, log in self._replicas.items():
            if log.id in changed or log.pending_events:
                self._replicas[key] = self.store.caught_up(log)
        return bool(changed)

    def _take_turn(self) -> None:
        """Hold the store's turn to the end of the call, starting from the store as it is:
        if another writer committed since the call started, it is made again."""
        if self._turn is None:
            raise AssertionError("a call stores only inside Runtime.writing")
        self._turn.enter_context(self.store.turn())
        changed, self._seen = self.store.changed_logs(self._seen)
        if changed:
            self._catch_up(changed)
            raise _Stale()

    def execute(self, decide: Callable[[IdentityStoreState], Decision[_Result]]) -> _Result:
        """Decide against the current identity state, then store what was decided, atomically."""
        return self.execute_group(None, lambda _: ([], *decide(self.state)))

    def execute_group(
        self, replica: ReplicaKey | None,
        decide: Callable[[ReplicaLog | None], GroupDecision[_Result]],
    ) -> _Result:
        """Decide against a replica (and the identity state), then store the replica's and
        the identity log's new events in one transaction."""
        def spread(logs: Mapping[ReplicaKey, ReplicaLog]) -> SpreadDecision[_Result]:
            replica_events, identity_events, result = decide(logs[replica] if replica is not None else None)
            return ({replica: replica_events} if replica is not None else {}), identity_events, result

        return self.execute_replicas([replica] if replica is not None else [], spread)

    def execute_replicas(
        self, replicas: Sequence[ReplicaKey],
        decide: Callable[[Mapping[ReplicaKey, ReplicaLog]], SpreadDecision[_Result]],
    ) -> _Result:
        """The one write path: decide against the replicas and the identity state as last
        stored, then store every new event in one transaction (``decide`` may also record
        on a log itself, to judge each event on the state the last one left). When another
        process wrote first, read everything again and decide again."""
        keys_unlocked(self.keys.locked)  # a protected store's commits are sealed, with a key its passphrase gives
        self._take_turn()
        logs = {key: self.replica(*key) for key in replicas}
        try:
            replica_events, identity_events, result = decide(logs)
            for identity_event in identity_events:
                self._log.record(identity_event)
            for key, events in replica_events.items():
                for replica_event in events:
                    logs[key].record(replica_event)
            committed = self.store.save(*([self._log] if identity_events else []), *logs.values())
            if committed == self._seen + 1:  # no other writer's commit came between: nothing to catch up
                self._seen = committed
            return result
        except WriteConflict:
            self._reload(replicas)
            raise _Stale() from None
        except BaseException:
            self._reload(replicas)
            raise


class HasRuntime(Protocol):
    """What the decorators run a call on: an object that holds a ``Runtime``, under a
    private name, so that it is no name of ``Peer``'s surface."""

    _runtime: Runtime


_Host = TypeVar("_Host", bound=HasRuntime)


def reading(method: Callable[Concatenate[_Host, _Params], _Result]) -> Callable[Concatenate[_Host, _Params], _Result]:
    """The method stores nothing: it runs under ``Runtime.reading``."""
    @functools.wraps(method)
    def call(self: _Host, /, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        return self._runtime.reading(lambda: method(self, *args, **kwargs))
    return call


def writing(method: Callable[Concatenate[_Host, _Params], _Result]) -> Callable[Concatenate[_Host, _Params], _Result]:
    """The method may store: it runs under ``Runtime.writing``, made again whole after a lost race."""
    @functools.wraps(method)
    def call(self: _Host, /, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        return self._runtime.writing(lambda: method(self, *args, **kwargs))
    return call
