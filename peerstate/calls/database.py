"""The group database as a file (``PeerGroupExportDatabase``, ``PeerGroupImportDatabase``):
every envelope of a replica, signed by the member that exported it.
"""

from __future__ import annotations

from collections.abc import Iterable

from peerstate.calls import arguments, envelopes, events
from peerstate.calls.runtime import GroupDecision, Runtime
from peerstate.crypto import credentials
from peerstate.documents import database_files
from peerstate.domain import database_rules, rules
from peerstate.domain.group_events import Envelope, EnvelopeAccepted
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.errors import PeerError
from peerstate.storage.logs import ReplicaLog
from peerstate.sync import admission


def export_database(runtime: Runtime, handle: object, path: object) -> None:
    """Write every envelope of the replica to the file at ``path`` (absolute; an existing
    file is replaced), signed by this replica's member."""
    opened, log = runtime.open(handle)
    where = arguments.argument_is_filled(path, "pwzFilePath")
    target = database_files.resolve(where, runtime.settings.file_root)
    rules.replica_is_ready(log.state)
    identity = rules.identity_is_live(runtime.state, opened.replica[0])
    rules.caller_holds_credential(log.state.group, identity.peer_name, runtime.clock())
    snapshot = database_files.DatabaseSnapshot(
        database_files.FORMAT, log.group, identity.peer_name, runtime.clock(),
        tuple(envelopes.accepted(runtime, opened.replica)), b"",
    )
    signature = credentials.sign(runtime.identity_key(identity), database_files.signed_part(snapshot))
    database_files.write(target, database_files.encode(database_files.DatabaseSnapshot(
        snapshot.format, snapshot.group, snapshot.exporter, snapshot.at, snapshot.envelopes, signature,
    )), where, make_directories=runtime.settings.file_root is not None)


def import_database(runtime: Runtime, handle: object, path: object) -> None:
    """Bring the envelopes of an exported file into the replica, after Open or Join and
    before Connect (``PEER_E_GROUP_IN_USE`` after). The file is taken whole or not at all:
    every envelope must pass admission and the exporter's signature must hold
    (``PEER_E_INVALID_DATABASE``). A joiner still synchronizes before it is ready."""
    opened, log = runtime.open(handle)
    where = arguments.argument_is_filled(path, "pwzFilePath")
    target = database_files.resolve(where, runtime.settings.file_root)
    database_rules.database_imported_before_connect(runtime.sessions.connected(opened.replica))
    snapshot = database_files.decode(database_files.read(target, where))
    database_rules.database_is_for_group(snapshot.group, log.group)
    exported = _admitted(GroupState(log.group), snapshot.envelopes, skip=frozenset())[0]
    exporter = exported.credential_of(snapshot.exporter, snapshot.at)
    database_rules.database_signed_by_exporter(exporter is not None and credentials.signature_matches(
        exporter.public_key, database_files.signed_part(snapshot), snapshot.signature,
    ))
    before = log.state.group
    now = runtime.clock()

    def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
        assert log is not None
        _, accepted = _admitted(log.state.group, snapshot.envelopes, skip=frozenset(log.known))
        written = [EnvelopeAccepted(envelope, envelope_id, snapshot.exporter, now) for envelope, envelope_id in accepted]
        return list(written), [], written

    events.notify_changes(runtime, opened.replica, before, runtime.execute_group(opened.replica, decide))


def _admitted(
    group: GroupState, batch: Iterable[Envelope], skip: frozenset[bytes],
) -> tuple[GroupState, list[tuple[Envelope, bytes]]]:
    """``group`` after the envelopes of ``batch`` not in ``skip``, each admitted on the state
    the last one left; the first refusal refuses them all (``PEER_E_INVALID_DATABASE``)."""
    accepted = []
    for envelope in batch:
        envelope_id = admission.envelope_id(envelope)
        if envelope_id in skip:
            continue
        database_rules.database_envelope_admitted(envelope, _refusal(group, envelope))
        group = apply_envelope(group, envelope, envelope_id)
        skip = skip | {envelope_id}
        accepted.append((envelope, envelope_id))
    return group, accepted


def _refusal(group: GroupState, envelope: Envelope) -> PeerError | None:
    """Admission's refusal of ``envelope`` on ``group``, None when it admits it."""
    try:
        admission.admit(group, envelope)
    except admission.Refused as refused:
        return refused.error
    return None
