"""Concurrency: several processes and threads writing to one peer's SQLite store at once.

Every call starts from the store as it is; at its first write it takes the store's turn
(``writer_turns``), and if another writer committed since it started, the peer catches up
and makes the whole call again from its arguments, checks included, holding the turn
throughout, so that it cannot lose again. A call therefore never gives up under
contention, however many writers there are. These tests
race real processes (``tests/workers/race_worker.py``, released together) and threads, then
check the store: every call succeeded or failed with a documented ``PeerError``; nothing
written is missing; ``verify_store`` holds; every log replays to its state; and the logs
obey the rules that span them (``workers.checks``).

The last tests are the interleavings made deterministic, with two ``Peer`` objects on one
store (two processes of one peer): a call of the second starts after the first committed
(it must read that commit), and a call of the second loses the race, the first committing
after it started and before its first write (``meanwhile``). Each check a call makes must
be made on the state the winner left, or a rule is bypassed or an update lost (the first
run found all of these; the write path now makes whole calls again).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

import pytest

from peerstate.peer import sync_port
from peerstate import Peer, PeerError, PeerSettings, network, open_store, views
from peerstate.domain.group_events import CredentialIssued, EnvelopeAccepted, ReplicaCreated, ReplicaJoined
from peerstate.domain.replica import evolve_replica, new_replica
from peerstate import CredentialRequest
from peerstate.names import ROLE_ADMIN, ROLE_MEMBER, may_issue
from peerstate.storage.peer_store import PeerStore

from workers.checks import sound

ROOT: Final = Path(__file__).resolve().parent.parent
WORKER: Final = ROOT / "tests" / "workers" / "race_worker.py"
T0: Final = datetime(2026, 1, 1, tzinfo=timezone.utc)
KIND: Final = uuid.UUID("11111111-2222-3333-4444-555555555555")
WRITERS: Final = 4
RECORDS_EACH: Final = 40
Result = dict[str, Any]


def race(directory: Path | str, jobs: list[tuple[str, dict[str, Any]]]) -> list[Result]:
    """Start one worker per job on the store at ``directory`` (or a PostgreSQL URL), wait
    until each has opened it, release them together, and return what each printed."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), job, str(directory), json.dumps(args)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for job, args in jobs
    ]
    results: list[Result] = []
    try:
        for process in processes:
            assert process.stdout is not None and process.stderr is not None
            if process.stdout.readline() != "ready\n":
                raise AssertionError(f"a worker did not start:\n{process.communicate()[1]}")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            output, errors = process.communicate(timeout=60)
            assert process.returncode == 0, errors
            results.append(json.loads(output.splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    for result in results:
        assert not result["other"], "a call let out something other than a PeerError:\n" + "\n".join(result["other"])
    return results


def peer_on(directory: Path, address: str = "::1", at: datetime = T0) -> Peer:
    """A peer process on the store at ``directory`` whose clock stands at ``at``."""
    return Peer(open_store(directory), clock=lambda: at, settings=PeerSettings(address=address))


def one_group(directory: Path) -> tuple[str, str]:
    """A store whose identity created a group: (identity, group)."""
    peer = peer_on(directory)
    identity = peer.create_identity("writer", "Writer")
    handle = peer.create_group(identity, "race")
    return identity, peer.group_properties(handle).group_peer_name


def tally(results: list[Result]) -> tuple[int, Counter[str]]:
    errors: Counter[str] = Counter()
    for result in results:
        errors.update(result["errors"])
    return sum(result["conflicts"] for result in results), errors


# Many writers, one replica ---------------------------------------------------------------------


def test_processes_adding_records_to_one_replica_lose_none(tmp_path: Path) -> None:
    identity, group = one_group(tmp_path)
    started = time.monotonic()
    results = race(tmp_path, [
        ("add", {"open": [[identity, group]], "count": RECORDS_EACH, "tag": f"p{index}"}) for index in range(WRITERS)
    ])
    elapsed = time.monotonic() - started
    conflicts, errors = tally(results)
    assert not errors, errors
    written = {uuid.UUID(record) for result in results for record in result["succeeded"]}
    assert len(written) == WRITERS * RECORDS_EACH
    peer = peer_on(tmp_path)
    handle = peer.open_group(identity, group)
    assert {held.record.id for held in peer.records(handle)} == written
    assert {peer.get_record(handle, record).record.data for record in written} == {
        f"p{writer}-{index}".encode() for writer in range(WRITERS) for index in range(RECORDS_EACH)
    }
    sound(open_store(tmp_path))
    print(
        f"{WRITERS} processes x {RECORDS_EACH} records in {elapsed:.1f} s: {conflicts} calls made again"
    )


def _in_threads(writer: Callable[[int], None]) -> None:
    """Run ``writer(0)`` ... ``writer(WRITERS - 1)`` in threads of their own, to the end."""
    threads = [threading.Thread(target=writer, args=(index,)) for index in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_threads_with_a_peer_each_on_one_store_object_lose_none(tmp_path: Path) -> None:
    identity, group = one_group(tmp_path)
    store = open_store(tmp_path)
    written: list[uuid.UUID] = []
    errors: Counter[str] = Counter()
    other: list[BaseException] = []
    peers: list[Peer] = []
    start = threading.Barrier(WRITERS)

    def writer(index: int) -> None:
        peer = Peer(store, clock=lambda: T0)
        peers.append(peer)
        handle = peer.open_group(identity, group)
        start.wait()
        try:
            for record in range(RECORDS_EACH):
                try:
                    written.append(peer.add_record(handle, KIND, T0 + timedelta(days=1), data=f"t{index}-{record}".encode()))
                except PeerError as error:
                    errors[error.name] += 1
        except BaseException as error:  # anything but a PeerError is a finding
            other.append(error)

    _in_threads(writer)
    assert not other, other
    assert not errors, errors
    assert len(set(written)) == WRITERS * RECORDS_EACH
    peer = Peer(store, clock=lambda: T0)
    assert {held.record.id for held in peer.records(peer.open_group(identity, group))} == set(written)
    sound(open_store(tmp_path))
    print(f"{WRITERS} threads x {RECORDS_EACH} records: {sum(peer.races_lost for peer in peers)} calls made again")


def test_threads_sharing_one_peer_leave_a_store_that_verifies(tmp_path: Path) -> None:
    identity, group = one_group(tmp_path)
    peer = peer_on(tmp_path)
    handle = peer.open_group(identity, group)
    start = threading.Barrier(WRITERS)
    other: list[BaseException] = []

    def writer(index: int) -> None:
        start.wait()
        for record in range(10):
            try:
                peer.add_record(handle, KIND, T0 + timedelta(days=1), data=f"s{index}-{record}".encode())
            except PeerError:
                pass
            except Exception as error:  # anything but a PeerError is a finding
                other.append(error)

    _in_threads(writer)
    sound(open_store(tmp_path))
    assert not other, other


# No rule bypassed by a race ------------------------------------------------------------------


TRIALS: Final = 3


def test_deleting_an_identity_while_another_process_makes_it_a_group(tmp_path: Path) -> None:
    """Serially one of the two must fail: delete first, and create_group gives
    ERROR_DELETE_PENDING; create first, and delete_identity gives PEER_E_GROUPS_EXIST."""
    for trial in range(TRIALS):
        directory = tmp_path / str(trial)
        peer = peer_on(directory)
        identity = peer.create_identity("doomed")
        results = race(directory, [
            ("call", {"call": "delete_identity", "identity": identity}),
            ("call", {"call": "create_group", "identity": identity}),
        ])
        _, errors = tally(results)
        assert set(errors) <= {"ERROR_DELETE_PENDING", "PEER_E_GROUPS_EXIST"}, errors
        sound(open_store(directory))
        assert sum(len(result["succeeded"]) for result in results) == 1, results


def test_two_processes_joining_with_one_invitation(tmp_path: Path) -> None:
    """Both may succeed (a second join replaces a pending one), but the identity has the
    group once and one present replica."""
    for trial in range(TRIALS):
        directory = tmp_path / str(trial)
        peer = peer_on(directory)
        creator, joiner = peer.create_identity("creator"), peer.create_identity("joiner")
        handle = peer.create_group(creator, "club")
        invitation = peer.create_invitation(handle, peer.identity_xml(joiner))
        results = race(directory, [("call", {"call": "join", "identity": joiner, "invitation": invitation})] * 2)
        _, errors = tally(results)
        assert not errors, errors
        sound(open_store(directory))


def test_processes_updating_one_record_lose_no_update(tmp_path: Path) -> None:
    """Each update that returned success made the record one version higher, so the last
    version is one more than the updates that succeeded, and its data is one of theirs. (An
    update decided on a stale read may be refused: its expiration is then lower than the
    record's.)"""
    identity, group = one_group(tmp_path)
    peer = peer_on(tmp_path)
    handle = peer.open_group(identity, group)
    record = peer.add_record(handle, KIND, T0 + timedelta(days=1), data=b"first")
    results = race(tmp_path, [
        ("update", {"open": [[identity, group]], "record": str(record), "count": 8, "tag": f"u{index}"})
        for index in range(WRITERS)
    ])
    _, errors = tally(results)
    assert set(errors) <= {"PEER_E_INVALID_RECORD_EXPIRATION"}, errors
    sound(open_store(tmp_path))
    fresh = peer_on(tmp_path)
    held = fresh.get_record(fresh.open_group(identity, group), record)
    updated = [data for result in results for data in result["succeeded"]]
    assert held.record.data.decode() in updated
    assert held.record.version == 1 + len(updated), f"{len(updated)} updates succeeded, the record is at version {held.record.version}"


def _admins(directory: Path) -> tuple[str, str, str, str]:
    """A store with a group's creator and two administrators it invited, neither in the
    other's chain, each with its replica, all synchronized: (creator, first, second, group)."""
    peer = peer_on(directory, "s")
    creator, first, second = (peer.create_identity(name, name.title()) for name in ("creator", "first", "second"))
    handle = peer.create_group(creator, "admins")
    peer.connect(handle)
    for admin in (first, second):
        peer.connect(peer.join(admin, peer.create_invitation(handle, peer.identity_xml(admin), roles=[ROLE_ADMIN])))
    network.synchronize({"s": peer})
    group = peer.group_properties(handle).group_peer_name
    for admin in (first, second):
        credential = sync_port(peer).sync_replica((admin, group)).state.group.credential_of(admin, T0)
        assert credential is not None and credential.roles == (ROLE_ADMIN,)
    return creator, first, second, group


def issued_only_with_the_right(store: PeerStore, identity: str, group: str) -> int:
    """Walk a replica's log: every credential its own identity issued here was issued while
    the replica knew that identity to hold a role that may give it (a demoted administrator
    issues nothing once its own replica has the demotion). The number of such issues."""
    state, issued = new_replica(group), 0
    for event in store.replica_events(identity, group):
        if isinstance(event, (ReplicaCreated, ReplicaJoined)):
            state = new_replica(group)
        if isinstance(event, EnvelopeAccepted) and event.source == "local" and isinstance(event.envelope.payload, CredentialIssued):
            held = state.group.credential_of(identity, event.envelope.at)
            assert held is not None and may_issue(held.roles, event.envelope.payload.credential.roles), (
                f"{identity} issued {event.envelope.payload.credential.roles} holding {held.roles if held else None}"
            )
            issued += 1
        state = evolve_replica(state, event)
    return issued


LATER: Final = 3600
"""The demotions come an hour after the group was made, so each is the latest credential of
its subject (with one fixed clock for all, "latest" would fall to the tie-break)."""
DEMOTION_DELAYS: Final = ((0.0, 0.0), (0.0, 0.05), (0.05, 0.0), (0.0, 1.0))
"""How long each process waits before its call: at once, or one a little later, while the
other's sync carries its demotion into the late one's replica, or well after it."""


def test_two_administrators_demoting_each_other_at_once(tmp_path: Path) -> None:
    """Two processes of one peer: each administrator gives the other a member credential
    (PeerGroupIssueCredentials, stored in the group log), then synchronizes both replicas.
    Whatever the interleaving, each call succeeds or is refused for want of the right, no
    replica lets its identity issue a credential after it learned its demotion, the store
    verifies, every log replays, and both replicas converge."""
    outcomes: Counter[str] = Counter()
    for trial, delays in enumerate(DEMOTION_DELAYS):
        directory = tmp_path / str(trial)
        _, first, second, group = _admins(directory)
        both = [[first, group], [second, group]]
        results = race(directory, [
            ("call", {
                "call": "issue_credentials", "open": both, "identity": issuer, "group": group, "subject": subject,
                "roles": ["PEER_GROUP_ROLE_MEMBER"], "sync": True, "address": "s", "delay": delay, "at": LATER,
            })
            for (issuer, subject), delay in zip(((first, second), (second, first)), delays)
        ])
        _, errors = tally(results)
        assert set(errors) <= {"PEER_E_NOT_AUTHORIZED", "PEER_E_INVALID_CREDENTIAL"}, errors
        assert sum(len(result["succeeded"]) for result in results) >= 1
        outcomes.update(errors)
        outcomes["succeeded"] += sum(len(result["succeeded"]) for result in results)
        peer = peer_on(directory, "s", T0 + timedelta(seconds=LATER))
        for identity in (first, second):
            peer.connect(peer.open_group(identity, group))
        network.synchronize({"s": peer})
        store = open_store(directory)
        sound(store)
        for identity in (first, second):
            issued_only_with_the_right(store, identity, group)
        digests = {views.group_digest(store.replica_log(identity, group).state.group) for identity in (first, second)}
        assert len(digests) == 1, "the two replicas did not converge"
    print(f"{len(DEMOTION_DELAYS)} trials of two demotions at once: {dict(outcomes)}")


# The lost race, deterministic ----------------------------------------------------------------


def two_processes(directory: Path) -> tuple[Peer, Callable[[], Peer]]:
    """A peer process, and a way to start a second one on the same store later."""
    return peer_on(directory), lambda: peer_on(directory)


def meanwhile(peer: Peer, commit: Callable[[], object]) -> Peer:
    """``peer``, whose next call loses the race: just before it takes the store's turn for
    its first write, another process commits ``commit``."""
    store = peer._runtime.store
    take = store.turn

    def turn() -> Any:
        del store.turn  # once
        commit()
        return take()

    setattr(store, "turn", turn)
    return peer


def _a_group_open_in_two_processes(
    directory: Path, prepare: Callable[[Peer, str], Any] = lambda peer, handle: None,
) -> tuple[Peer, str, Peer, str, Any]:
    """alice's group in a first process, ``prepare``d there, then opened by a second that has
    read the store as it stood then: each process with its handle, and what ``prepare`` gave."""
    first, later = two_processes(directory)
    identity = first.create_identity("alice")
    handle = first.create_group(identity, "club")
    prepared = prepare(first, handle)
    second = later()
    stale = second.open_group(*_replica_of(first, handle))
    second.group_status(stale)  # has read the replica
    return first, handle, second, stale, prepared


def _replica_of(peer: Peer, handle: str) -> tuple[str, str]:
    return peer._runtime.sessions.handle(handle).replica


def _with_a_record(peer: Peer, handle: str) -> uuid.UUID:
    return peer.add_record(handle, KIND, T0 + timedelta(days=5), data=b"v1")


def test_a_process_reads_what_another_committed_since(tmp_path: Path) -> None:
    first, handle, second, stale, record = _a_group_open_in_two_processes(tmp_path, _with_a_record)
    added = first.add_record(handle, KIND, T0 + timedelta(days=5), data=b"later")
    first.update_record(handle, record, KIND, 0, T0 + timedelta(days=9), data=b"v2")
    assert {held.record.id for held in second.records(stale)} == {record, added}
    assert second.get_record(stale, record).record.data == b"v2"
    first.create_identity("bob")
    assert len(second.identities()) == 2
    assert second.races_lost == 0


def test_a_call_made_again_holds_the_turn_and_makes_every_check_again(tmp_path: Path) -> None:
    first, handle, second, stale, record = _a_group_open_in_two_processes(tmp_path, _with_a_record)
    first_commits = lambda: first.update_record(handle, record, KIND, 0, T0 + timedelta(days=10), data=b"first")
    with pytest.raises(PeerError) as refused:  # serially: the expiration may not be lowered
        meanwhile(second, first_commits).update_record(stale, record, KIND, 0, T0 + timedelta(days=6), data=b"second")
    assert refused.value.name == "PEER_E_INVALID_RECORD_EXPIRATION"
    assert second.races_lost == 1
    assert second.get_record(stale, record).record.data == b"first"


@pytest.mark.parametrize("lost", [False, True], ids=["after", "lost race"])
def test_a_stale_process_cannot_delete_an_identity_that_now_has_a_group(tmp_path: Path, lost: bool) -> None:
    first, later = two_processes(tmp_path)
    identity = first.create_identity("alice")
    second = later()  # has read the store
    commit = lambda: first.create_group(identity, "chess")
    if not lost:
        commit()
    with pytest.raises(PeerError) as refused:
        (meanwhile(second, commit) if lost else second).delete_identity(identity)
    assert refused.value.name == "PEER_E_GROUPS_EXIST"
    assert second.races_lost == lost


@pytest.mark.parametrize("lost", [False, True], ids=["after", "lost race"])
def test_a_stale_process_cannot_make_a_group_for_an_identity_deleted_meanwhile(tmp_path: Path, lost: bool) -> None:
    first, later = two_processes(tmp_path)
    identity = first.create_identity("alice")
    second = later()
    commit = lambda: first.delete_identity(identity)
    if not lost:
        commit()
    with pytest.raises(PeerError) as refused:
        (meanwhile(second, commit) if lost else second).create_group(identity, "chess")
    assert refused.value.name == "ERROR_DELETE_PENDING"
    assert second.races_lost == lost


@pytest.mark.parametrize("lost", [False, True], ids=["after", "lost race"])
def test_a_stale_process_joining_again_does_not_list_the_group_twice(tmp_path: Path, lost: bool) -> None:
    first, later = two_processes(tmp_path)
    creator, joiner = first.create_identity("creator"), first.create_identity("joiner")
    handle = first.create_group(creator, "club")
    invitation = first.create_invitation(handle, first.identity_xml(joiner))
    second = later()
    commit = lambda: first.join(joiner, invitation)
    if not lost:
        commit()
    (meanwhile(second, commit) if lost else second).join(joiner, invitation)
    assert len(peer_on(tmp_path).groups(joiner)) == 1
    assert second.races_lost == lost


@pytest.mark.parametrize("lost", [False, True], ids=["after", "lost race"])
def test_a_stale_process_cannot_update_a_record_deleted_meanwhile(tmp_path: Path, lost: bool) -> None:
    first, handle, second, stale, record = _a_group_open_in_two_processes(tmp_path, _with_a_record)
    commit = lambda: first.delete_record(handle, record)
    if not lost:
        commit()
    with pytest.raises(PeerError) as refused:
        (meanwhile(second, commit) if lost else second).update_record(
            stale, record, KIND, 0, T0 + timedelta(days=6), data=b"after the delete",
        )
    assert refused.value.name == "PEER_E_RECORD_NOT_FOUND"
    assert second.races_lost == lost


@pytest.mark.parametrize("lost", [False, True], ids=["after", "lost race"])
def test_a_stale_property_change_keeps_the_change_made_meanwhile(tmp_path: Path, lost: bool) -> None:
    first, handle, second, stale, _ = _a_group_open_in_two_processes(tmp_path)
    commit = lambda: first.set_group_properties(handle, friendly_name="Chess club")
    if not lost:
        commit()
    (meanwhile(second, commit) if lost else second).set_group_properties(stale, comment="Tuesdays")
    fresh = peer_on(tmp_path)
    properties = fresh.group_properties(fresh.open_group(*_replica_of(first, handle)))
    assert (properties.friendly_name, properties.comment) == ("Chess club", "Tuesdays")
    assert second.races_lost == lost


@pytest.mark.parametrize("lost", [False, True], ids=["after", "lost race"])
def test_a_stale_administrator_demoted_meanwhile_is_not_authorized(tmp_path: Path, lost: bool) -> None:
    creator, _, demoted, group = _admins(tmp_path)
    later = T0 + timedelta(seconds=LATER)
    stale_process = peer_on(tmp_path, "s", later)
    stale = stale_process.open_group(demoted, group)
    stale_process.group_status(stale)  # has read the administrator's replica
    peer = peer_on(tmp_path, "s", later)
    handle, other = peer.open_group(creator, group), peer.open_group(demoted, group)
    key = sync_port(peer).sync_replica((creator, group)).state.group.latest_credential(demoted)
    assert key is not None
    outsider = peer.create_identity("outsider")

    def demote() -> None:
        peer.issue_credentials(handle, demoted, CredentialRequest(key.public_key, (ROLE_MEMBER,)), 1)
        peer.connect(handle)
        peer.connect(other)
        network.synchronize({"s": peer})  # the demotion reaches the second administrator's replica

    if not lost:
        demote()
    with pytest.raises(PeerError) as refused:
        (meanwhile(stale_process, demote) if lost else stale_process).create_invitation(
            stale, peer.identity_xml(outsider), roles=[ROLE_ADMIN],
        )
    assert refused.value.name == "PEER_E_NOT_AUTHORIZED"
    assert stale_process.races_lost == lost
