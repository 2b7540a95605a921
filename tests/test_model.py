"""A model-based test: Hypothesis drives three peers through identities, groups, invitations
of both kinds, joins, connects, syncs, promotions, records, closes, restarts, identity
deletions and the clock, and checks every call's HRESULT against a small reference model
written here, apart from the implementation. After every step: synchronized replicas that
met share one state digest; replaying every log from its store gives the live state; no
replica wrote before it was ready; no chain passes 24; every group's creator is an
administrator.

The model knows a group as facts (a credential in force, a record version), and each
replica as the facts it has seen; a sync shares every fact among the replicas that meet.
``PEERSTATE_MODEL_EXAMPLES`` runs it longer than CI does. A failure is written as the
Hypothesis falsifying example; ``scenarios/regressions/`` holds the scenario files made
from the ones found.
"""

from __future__ import annotations

import os
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, precondition, rule

from peerstate.peer import sync_port
from peerstate import Peer, PeerSettings, network, open_store, views, winapi
from peerstate.domain.group_events import CredentialTaken, EnvelopeAccepted, ReplicaCreated, ReplicaSynchronized
from peerstate.scenario import load_scenario, replay
from peerstate.scenario.values import encode, format_time
from peerstate.names import ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER
from peerstate.storage.peer_store import PeerStore

from tests.conftest import T0

PEERS = ("p0", "p1", "p2")
KIND = UUID("11111111-2222-3333-4444-555555555555")
PASSWORD = "model password 1"
ROLES = (ROLE_ADMIN, ROLE_INVITING_MEMBER, ROLE_MEMBER)
GRANTS = {ROLE_ADMIN: set(ROLES), ROLE_INVITING_MEMBER: {ROLE_INVITING_MEMBER, ROLE_MEMBER}, ROLE_MEMBER: set()}


@dataclass
class Credential:
    """A credential in force for ``subject`` from fact ``number`` on."""

    subject: str
    role: UUID
    issuer: str | None


@dataclass
class Version:
    """One version of a record."""

    record: UUID
    version: int
    creator: str
    modifier: str
    deleted: bool
    created: datetime
    modified: datetime
    expiration: datetime

    def precedence(self) -> tuple[int, bool, str, datetime]:
        return (self.version, self.modified != self.created, self.modifier, self.modified)


@dataclass
class Replica:
    peer: str
    identity: str
    group: str
    synchronized: bool
    joining: Credential | None = None
    """An invitation's credential waiting for the first sync; ``password`` for a password join."""
    password: bool = False
    known: set[int] = field(default_factory=set)


@dataclass
class Group:
    name: str
    creator: str
    password: bool


@dataclass
class Handle:
    peer: str
    handle: str
    identity: str
    group: str
    open: bool = True
    connected: bool = False


class Model:
    """What the calls should return, from facts alone."""

    def __init__(self) -> None:
        self.facts: list[Credential | Version] = []
        self.replicas: dict[tuple[str, str, str], Replica] = {}
        self.groups: dict[str, Group] = {}
        self.identities: dict[str, str] = {}
        """Live identities, by name, with their peer."""

    def fact(self, replica: Replica, fact: Credential | Version) -> None:
        self.facts.append(fact)
        replica.known.add(len(self.facts) - 1)

    def credential(self, replica: Replica, identity: str) -> Credential | None:
        """The identity's credential in force as ``replica`` knows: the latest it has seen."""
        held = [fact for n in sorted(replica.known) if isinstance(fact := self.facts[n], Credential) and fact.subject == identity]
        return held[-1] if held else None

    def role(self, replica: Replica, identity: str) -> UUID | None:
        credential = self.credential(replica, identity)
        return credential.role if credential else None

    def chain(self, replica: Replica, identity: str) -> list[str]:
        """``identity`` and its issuers up to the creator, as ``replica`` knows them."""
        chain = [identity]
        while (credential := self.credential(replica, chain[-1])) is not None and credential.issuer not in (None, *chain):
            chain.append(credential.issuer)  # type: ignore[arg-type]  # not None: the condition says so
        return chain

    def live(self, replica: Replica, now: datetime) -> dict[UUID, Version]:
        winners: dict[UUID, Version] = {}
        for n in replica.known:
            fact = self.facts[n]
            if isinstance(fact, Version) and (fact.record not in winners or fact.precedence() > winners[fact.record].precedence()):
                winners[fact.record] = fact
        return {record: version for record, version in winners.items() if not version.deleted and now < version.expiration}

    def sync(self, handles: list[Handle]) -> None:
        """Every replica with a connected handle meets every listening one until nothing changes."""
        connected = {(h.peer, h.identity, h.group) for h in handles if h.open and h.connected}
        changed = True
        while changed:
            changed = False
            for group in self.groups:
                met = [self.replicas[key] for key in sorted(connected) if key[2] == group]
                listening = [r for r in met if r.synchronized]
                if not listening:
                    continue
                shared = set().union(*(r.known for r in listening))
                for replica in met:
                    if replica.synchronized:
                        continue
                    if replica.password:
                        issuers = [r for r in listening if (self.role(r, r.identity) or ROLE_MEMBER) in (ROLE_ADMIN, ROLE_INVITING_MEMBER)]
                        if not issuers:
                            continue
                        replica.known |= shared
                        if self.credential(issuers[0], replica.identity) is None:  # one in force already: none more
                            self.fact(replica, Credential(replica.identity, ROLE_MEMBER, issuers[0].identity))
                    else:
                        assert replica.joining is not None
                        replica.known |= shared
                        self.fact(replica, replica.joining)
                    replica.synchronized, replica.joining, replica.password = True, None, False
                    changed = True
                listening = [r for r in met if r.synchronized]
                shared = set().union(*(r.known for r in listening))
                for replica in listening:
                    if replica.known != shared:
                        replica.known = set(shared)
                        changed = True


class Trail:
    """The run so far as a scenario file, so that a shrunk failure replays with
    ``peerstate replay``: every call as a step, every value a call returned saved under a
    variable, and every later use of that value written as the variable."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []
        self.values: dict[str, str] = {}

    def save(self, value: Any, variable: str) -> None:
        if isinstance(value, (str, UUID)):
            self.values[str(value)] = f"${variable}"

    def refer(self, tree: Any) -> Any:
        if isinstance(tree, str):
            return self.values.get(tree, tree)
        if isinstance(tree, list):
            return [self.refer(item) for item in tree]
        if isinstance(tree, dict):
            return {key: self.refer(item) for key, item in tree.items()}
        return tree

    def scenario(self, reason: str) -> dict[str, Any]:
        return {
            "format": "peerstate-scenario/1", "name": "a model-based test failure, shrunk",
            "description": f"Written by tests/test_model.py: {reason}", "clock": format_time(T0), "steps": self.steps,
        }


class PeerMachine(RuleBasedStateMachine):
    handles = Bundle("handles")
    identities = Bundle("identities")
    """The identities made along the way, which may be deleted."""
    members = Bundle("members")
    """One identity per peer made at the start, never deleted: the ones that join and act."""
    records = Bundle("records")

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.stores: dict[str, PeerStore] = {name: open_store(None) for name in PEERS}
        self.peers: dict[str, Peer] = {name: self._start(name) for name in PEERS}
        self.model = Model()
        self.opened: list[Handle] = []
        self.trail = Trail()
        self.first = [self.create_identity(peer) for peer in PEERS]

    def _start(self, name: str) -> Peer:
        return Peer(self.stores[name], clock=lambda: self.now, settings=PeerSettings(address=name))

    def _tick(self, seconds: int = 1) -> None:
        self.now += timedelta(seconds=seconds)
        self.trail.steps.append({"sim": "advance_clock", "seconds": seconds})

    def _do(self, peer: str, function: str, args: dict[str, Any], expected: str, out: str | None = None) -> Any:
        """Make a p2p.h call; its HRESULT must be the model's. Its out-parameter, if any."""
        result = winapi.FUNCTIONS[function](self.peers[peer], **args)
        step: dict[str, Any] = {"peer": peer, "call": function, "args": self.trail.refer(encode(args)), "expect": expected}
        value = None
        if out is not None and result.out:
            variable = f"v{len(self.trail.steps)}"
            step["out"] = {out: variable}
            value = result.out[out]
            self.trail.save(value, variable)
        self.trail.steps.append(step)
        assert result.hresult.name == expected, f"{function}: expected {expected}, got {result.hresult.name}: {result.message}"
        return value

    def teardown(self) -> None:
        global LAST_TRAIL
        LAST_TRAIL = self.trail

    def _replica(self, handle: Handle) -> Replica:
        return self.model.replicas[(handle.peer, handle.identity, handle.group)]

    # Identities and groups ---------------------------------------------------------------

    @initialize(target=members)
    def one_identity_per_peer(self) -> object:
        return multiple(*self.first)

    @initialize(target=handles, password=st.booleans())
    def a_connected_group(self, password: bool) -> Handle:
        handle = cast(Handle, self.create_group(self.first[0], password))  # a rule's own result, called directly
        self.connect(handle)
        return handle

    @precondition(lambda self: len(self.model.identities) < 6)
    @rule(target=identities, peer=st.sampled_from(PEERS))
    def create_identity(self, peer: str) -> str:
        self._tick()
        name: str = self._do(peer, "PeerIdentityCreate", {"pwzClassifier": f"i{len(self.model.identities)}"}, "S_OK", "ppwzIdentity")
        self.model.identities[name] = peer
        return name

    @precondition(lambda self: len(self.model.groups) < 3)
    @rule(target=handles, identity=identities | members, password=st.booleans())
    def create_group(self, identity: str, password: bool) -> Handle:
        self._tick()
        peer = self.model.identities.get(identity)
        if peer is None:
            return Handle("p0", "none", identity, "none", open=False)
        properties: dict[str, Any] = {"pwzCreatorPeerName": identity, "pwzClassifier": "club"}
        if password:
            properties |= {"dwAuthenticationSchemes": 2, "pwzGroupPassword": PASSWORD, "groupPasswordRole": ROLE_MEMBER}
        handle = self._do(peer, "PeerGroupCreate", {"pProperties": properties}, "S_OK", "phGroup")
        group = self.peers[peer].group_properties(handle).group_peer_name
        variable = f"g{len(self.trail.steps)}"
        self.trail.steps.append({"peer": peer, "call": "PeerGroupGetProperties", "args": {"hGroup": self.trail.refer(handle)}, "out": {"ppProperties": variable}})
        self.trail.values[group] = f"${variable}.pwzGroupPeerName"
        self.model.groups[group] = Group(group, identity, password)
        replica = self.model.replicas[(peer, identity, group)] = Replica(peer, identity, group, True)
        self.model.fact(replica, Credential(identity, ROLE_ADMIN, None))
        opened = Handle(peer, handle, identity, group)
        self.opened.append(opened)
        return opened

    @rule(identity=identities)
    def delete_identity(self, identity: str) -> None:
        self._tick()
        peer = self.model.identities.get(identity)
        if peer is None:
            return
        has_groups = any(key[0] == peer and key[1] == identity for key in self.model.replicas)
        self._do(peer, "PeerIdentityDelete", {"pwzIdentity": identity}, "PEER_E_GROUPS_EXIST" if has_groups else "S_OK")
        if not has_groups:
            del self.model.identities[identity]

    # Handles -----------------------------------------------------------------------------

    @rule(handle=handles)
    def connect(self, handle: Handle) -> None:
        self._tick()
        self._do(handle.peer, "PeerGroupConnect", {"hGroup": handle.handle}, "S_OK" if handle.open else "PEER_E_INVALID_GROUP")
        handle.connected = handle.connected or handle.open

    @rule(handle=handles)
    def close(self, handle: Handle) -> None:
        self._tick()
        self._do(handle.peer, "PeerGroupClose", {"hGroup": handle.handle}, "S_OK" if handle.open else "PEER_E_INVALID_GROUP")
        handle.open = False

    @rule(target=handles, handle=handles)
    def reopen(self, handle: Handle) -> Handle:
        """``PeerGroupOpen`` of a replica a handle once named (after a close or a restart)."""
        self._tick()
        if handle.handle == "none" or handle.identity not in self.model.identities:
            return handle
        args = {"pwzIdentity": handle.identity, "pwzGroupPeerName": handle.group}
        opened = Handle(handle.peer, self._do(handle.peer, "PeerGroupOpen", args, "S_OK", "phGroup"), handle.identity, handle.group)
        self.opened.append(opened)
        return opened

    @rule(peer=st.sampled_from(PEERS))
    def restart(self, peer: str) -> None:
        self._tick()
        self.peers[peer].close()
        self.peers[peer] = self._start(peer)
        self.trail.steps.append({"sim": "restart", "peer": peer})
        for handle in self.opened:
            if handle.peer == peer:
                handle.open = False

    @rule(seconds=st.integers(1, 7200))
    def advance_clock(self, seconds: int) -> None:
        self._tick(seconds)

    # Invitations, joins, promotions -------------------------------------------------------

    def _issuing(self, handle: Handle, subject: str, role: UUID) -> str:
        """What an issuing call by ``handle``'s identity for ``subject`` with ``role`` returns."""
        if not handle.open:
            return "PEER_E_INVALID_GROUP"
        replica = self._replica(handle)
        if not replica.synchronized:
            return "PEER_E_GROUP_NOT_READY"
        caller_role = self.model.role(replica, handle.identity)
        if caller_role is None or role not in GRANTS[caller_role]:
            return "PEER_E_NOT_AUTHORIZED"
        if subject in self.model.chain(replica, handle.identity):
            return "PEER_E_CIRCULAR_CHAIN_DETECTED"
        return "S_OK"

    @rule(target=handles, handle=handles, subject=members | identities, role=st.sampled_from(ROLES))
    def invite(self, handle: Handle, subject: str, role: UUID) -> Handle:
        """``PeerGroupCreateInvitation``, then the subject's ``PeerGroupJoin``."""
        self._tick()
        subject_peer = self.model.identities.get(subject)
        if subject_peer is None or handle.handle == "none":
            return handle
        expected = self._issuing(handle, subject, role)
        xml = self._do(subject_peer, "PeerIdentityGetXML", {"pwzIdentity": subject}, "S_OK", "ppwzIdentityXML")
        args = {"hGroup": handle.handle, "pwzIdentityInfo": xml, "pRoles": [role]}
        invitation = self._do(handle.peer, "PeerGroupCreateInvitation", args, expected, "ppwzInvitation")
        if invitation is None:
            return handle
        joined = self._do(subject_peer, "PeerGroupJoin", {"pwzIdentity": subject, "pwzInvitation": invitation}, "S_OK", "phGroup")
        key = (subject_peer, subject, handle.group)
        credential = Credential(subject, role, handle.identity)
        existing = self.model.replicas.get(key)
        if existing is not None and existing.synchronized:
            self.model.fact(existing, credential)  # a member takes the new credential up at once
        else:
            self.model.replicas[key] = Replica(subject_peer, subject, handle.group, False, credential)
        opened = Handle(subject_peer, joined, subject, handle.group)
        self.opened.append(opened)
        return opened

    @rule(target=handles, handle=handles, subject=members | identities)
    def password_invite(self, handle: Handle, subject: str) -> Handle:
        """``PeerGroupCreatePasswordInvitation``, then the subject's ``PeerGroupPasswordJoin``."""
        self._tick()
        subject_peer = self.model.identities.get(subject)
        if subject_peer is None or handle.handle == "none":
            return handle
        if not handle.open:
            expected = "PEER_E_INVALID_GROUP"
        elif not self._replica(handle).synchronized:
            expected = "PEER_E_GROUP_NOT_READY"
        elif not self.model.groups[handle.group].password:
            expected = "E_INVALIDARG"
        else:
            role = self.model.role(self._replica(handle), handle.identity)
            expected = "S_OK" if role in (ROLE_ADMIN, ROLE_INVITING_MEMBER) else "PEER_E_NOT_AUTHORIZED"
        invitation = self._do(handle.peer, "PeerGroupCreatePasswordInvitation", {"hGroup": handle.handle}, expected, "ppwzInvitation")
        if invitation is None:
            return handle
        key = (subject_peer, subject, handle.group)
        existing = self.model.replicas.get(key)
        member = existing is not None and existing.synchronized
        args = {"pwzIdentity": subject, "pwzInvitation": invitation, "pwzPassword": PASSWORD}
        joined = self._do(subject_peer, "PeerGroupPasswordJoin", args, "PEER_S_ALREADY_A_MEMBER" if member else "S_OK", "phGroup")
        if not member:
            self.model.replicas[key] = Replica(subject_peer, subject, handle.group, False, password=True)
        opened = Handle(subject_peer, joined, subject, handle.group)
        self.opened.append(opened)
        return opened

    @rule(handle=handles, subject=members | identities)
    def promote(self, handle: Handle, subject: str) -> None:
        """``PeerGroupIssueCredentials`` with ``PEER_GROUP_STORE_CREDENTIALS``: ``subject``
        becomes an administrator wherever the issue travels."""
        self._tick()
        subject_peer = self.model.identities.get(subject)
        if subject_peer is None or handle.handle == "none":
            return
        expected = self._issuing(handle, subject, ROLE_ADMIN)
        xml = self._do(subject_peer, "PeerIdentityGetXML", {"pwzIdentity": subject}, "S_OK", "ppwzIdentityXML")
        args = {
            "hGroup": handle.handle, "pwzSubjectIdentity": subject, "pCredentialInfo": {"pPublicKey": xml, "pRoles": [ROLE_ADMIN]},
            "dwFlags": 1,
        }
        if self._do(handle.peer, "PeerGroupIssueCredentials", args, expected, "ppwzInvitation") is not None:
            self.model.fact(self._replica(handle), Credential(subject, ROLE_ADMIN, handle.identity))

    @rule()
    def sync(self) -> None:
        self._tick()
        network.synchronize(self.peers)
        self.trail.steps.append({"sim": "sync"})
        self.model.sync(self.opened)
        for key, replica in self.model.replicas.items():
            live = sync_port(self.peers[key[0]]).sync_replica((key[1], key[2])).state.synchronized
            assert live == replica.synchronized, f"{key}: synchronized {live}, the model says {replica.synchronized}"
        connected = {(h.peer, h.identity, h.group) for h in self.opened if h.open and h.connected}
        for group in self.model.groups:
            digests = {
                views.group_digest(sync_port(self.peers[key[0]]).sync_replica((key[1], key[2])).state.group)
                for key in connected if key[2] == group and self.model.replicas[key].synchronized
            }
            assert len(digests) <= 1, f"the replicas of {group} that met differ"

    # Records -----------------------------------------------------------------------------

    def _record_call(self, handle: Handle) -> str | None:
        if not handle.open:
            return "PEER_E_INVALID_GROUP"
        if not self._replica(handle).synchronized:
            return "PEER_E_GROUP_NOT_READY"
        return None

    @rule(target=records, handle=handles, lifetime=st.integers(600, 7200))
    def add_record(self, handle: Handle, lifetime: int) -> UUID:
        self._tick()
        if handle.handle == "none":
            return UUID(int=0)
        expected = self._record_call(handle) or "S_OK"
        until = self.now + timedelta(seconds=lifetime)
        args = {"hGroup": handle.handle, "pRecord": {"type": KIND, "ftExpiration": until}}
        record_id = self._do(handle.peer, "PeerGroupAddRecord", args, expected, "pRecordId")
        if record_id is None:
            return UUID(int=0)
        self.model.fact(self._replica(handle), Version(record_id, 1, handle.identity, handle.identity, False, self.now, self.now, until))
        return cast(UUID, record_id)

    @rule(handle=handles, record=records, delete=st.booleans())
    def change_record(self, handle: Handle, record: UUID, delete: bool) -> None:
        """``PeerGroupUpdateRecord`` (extending the expiration) or ``PeerGroupDeleteRecord``."""
        self._tick()
        if handle.handle == "none":
            return
        expected = self._record_call(handle)
        current = None
        if expected is None:
            replica = self._replica(handle)
            current = self.model.live(replica, self.now).get(record)
            if current is None:
                expected = "PEER_E_RECORD_NOT_FOUND"
            elif current.creator != handle.identity and (delete is False or self.model.role(replica, handle.identity) != ROLE_ADMIN):
                expected = "PEER_E_NOT_AUTHORIZED"
            else:
                expected = "S_OK"
        until = (current.expiration if current else self.now) + timedelta(seconds=60)
        if delete:
            self._do(handle.peer, "PeerGroupDeleteRecord", {"hGroup": handle.handle, "pRecordId": str(record)}, expected)
        else:
            record_args = {"id": str(record), "type": KIND, "ftExpiration": until}
            self._do(handle.peer, "PeerGroupUpdateRecord", {"hGroup": handle.handle, "pRecord": record_args}, expected)
        if expected == "S_OK" and current is not None:
            self.model.fact(self._replica(handle), Version(
                record, current.version + 1, current.creator, handle.identity, delete, current.created, self.now,
                current.expiration if delete else until,
            ))

    # After every step --------------------------------------------------------------------

    @invariant()
    def every_log_replays_to_the_live_state(self) -> None:
        for name, peer in self.peers.items():
            for key in self.model.replicas:
                if key[0] == name:
                    assert self.stores[name].replica_log(key[1], key[2]).state == sync_port(peer).sync_replica((key[1], key[2])).state

    @invariant()
    def no_replica_wrote_before_it_was_ready(self) -> None:
        for name, store in self.stores.items():
            for key in self.model.replicas:
                if key[0] != name:
                    continue
                ready = False
                for event in store.replica_events(key[1], key[2]):
                    ready = ready or isinstance(event, (ReplicaCreated, ReplicaSynchronized))
                    if isinstance(event, EnvelopeAccepted) and event.source == "local":
                        assert ready or isinstance(event.envelope.payload, CredentialTaken), f"{key} wrote before it was ready"

    @invariant()
    def chains_stay_short_and_creators_stay_administrators(self) -> None:
        for (peer, identity, group), replica in self.model.replicas.items():
            state = sync_port(self.peers[peer]).sync_replica((identity, group)).state.group
            assert all(credential.chain_length <= 24 for credential in state.credentials.values())
            if replica.synchronized:
                creator = self.model.groups[group].creator
                held = state.credential_of(creator, self.now)
                assert held is not None and ROLE_ADMIN in held.roles


LAST_TRAIL: Trail | None = None
"""The trail of the last run: after a failure, the shrunk one's."""
REGRESSIONS = Path(__file__).resolve().parents[1] / "scenarios" / "regressions"


def write_regression(trail: Trail, reason: str, directory: Path = REGRESSIONS) -> Path:
    """The failing run as a scenario file named after its content."""
    text = json.dumps(trail.scenario(reason), indent=1)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"model-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    path.write_text(text + "\n")
    return path


class TestPeerMachine(PeerMachine.TestCase):  # type: ignore[valid-type,misc]  # Hypothesis makes the class at run time
    settings = settings(
        max_examples=int(os.environ.get("PEERSTATE_MODEL_EXAMPLES", "40")),
        stateful_step_count=int(os.environ.get("PEERSTATE_MODEL_STEPS", "40")),
        deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )

    def runTest(self) -> None:
        try:
            super().runTest()
        except Exception as failure:
            if LAST_TRAIL is not None:
                print(f"written as {write_regression(LAST_TRAIL, str(failure).splitlines()[0])}")
            raise



def test_a_run_written_as_a_scenario_replays_step_for_step(tmp_path: Path) -> None:
    """What a shrunk failure would be written as replays on the scenario runner exactly as it
    ran: the same calls, the same HRESULTs."""
    machine = PeerMachine()
    group = cast(Handle, machine.a_connected_group(True))
    bob = cast(Handle, machine.invite(group, machine.first[1], ROLE_INVITING_MEMBER))
    machine.connect(bob)
    machine.sync()
    carol = cast(Handle, machine.password_invite(bob, machine.first[2]))
    machine.connect(carol)
    machine.sync()
    record = cast(UUID, machine.add_record(carol, 900))
    machine.change_record(bob, record, True)
    machine.promote(group, machine.first[1])
    machine.restart("p2")
    machine.advance_clock(1000)
    machine.change_record(cast(Handle, machine.reopen(carol)), record, False)
    machine.sync()
    machine.teardown()
    path = write_regression(machine.trail, "a test of the writer", tmp_path)
    results = replay(load_scenario(path))
    assert [result.difference for result in results if not result.passed] == []
    assert len(results) == len(machine.trail.steps) > 40
