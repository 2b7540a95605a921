"""The group database as a file (``PeerGroupExportDatabase``, ``PeerGroupImportDatabase``):
every envelope of a replica, signed by the member that exported it.
"""

from __future__ import annotations

from peerstate.calls import arguments, envelopes, events
from peerstate.calls.judging import Judging
from peerstate.calls.runtime import GroupDecision, Runtime
from peerstate.crypto import credentials
from peerstate.documents import database_files
from peerstate.domain import database_rules, rules
from peerstate.domain.group_events import EnvelopeAccepted
from peerstate.storage.logs import ReplicaLog
from peerstate.sync.port import Neighbor


def export_database(runtime: Runtime, handle: object, path: object) -> None:
    """Write every envelope of the replica to the file at ``path`` (absolute; an existing
    file is replaced), signed by this replica's member: the accepted ones in the order they
    were accepted, then the second branch of each fork it knows, the evidence that gives an
    importer the verdict (the first is among the accepted)."""
    opened, log = runtime.open(handle)
    where = arguments.argument_is_filled(path, "pwzFilePath")
    target = database_files.resolve(where, runtime.settings.file_root)
    rules.replica_is_ready(log.state)
    identity = rules.identity_is_live(runtime.state, opened.replica[0])
    rules.caller_holds_credential(log.state.group, identity.peer_name, runtime.clock())
    snapshot = database_files.DatabaseSnapshot(
        database_files.FORMAT, log.group, identity.peer_name, runtime.clock(),
        (*envelopes.accepted(runtime, opened.replica), *(fork.second for fork in log.state.forks)), b"",
    )
    signature = credentials.sign(runtime.identity_key(identity), database_files.signed_part(snapshot))
    database_files.write(target, database_files.encode(database_files.DatabaseSnapshot(
        snapshot.format, snapshot.group, snapshot.exporter, snapshot.at, snapshot.envelopes, signature,
    )), where, make_directories=runtime.settings.file_root is not None)


def import_database(runtime: Runtime, handle: object, path: object) -> None:
    """Bring the envelopes of an exported file into the replica, after Open or Join and
    before Connect (``PEER_E_GROUP_IN_USE`` after), judged as a sync judges a batch from
    the exporter: a fork's evidence at the file's end gives its verdict here too. The file
    is taken whole or not at all (``PEER_E_INVALID_DATABASE``): every envelope must be taken,
    or be refused for the verdict on a fork this replica knows, and the exporter's signature
    must hold. A joiner still synchronizes before it is ready."""
    opened, log = runtime.open(handle)
    where = arguments.argument_is_filled(path, "pwzFilePath")
    target = database_files.resolve(where, runtime.settings.file_root)
    database_rules.database_imported_before_connect(runtime.sessions.connected(opened.replica))
    snapshot = database_files.decode(database_files.read(target, where))
    database_rules.database_is_for_group(snapshot.group, log.group)
    before = log.state.group
    now = runtime.clock()

    def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
        assert log is not None
        judged = Judging(log, Neighbor(where, snapshot.exporter), now, events.peer_now(runtime, opened.replica), runtime.store.accepted_envelopes)
        judged.judge(snapshot.envelopes)
        for envelope, rule in judged.not_taken:
            database_rules.database_envelope_taken(envelope, rule)
        exporter = log.state.group.credential_of(snapshot.exporter, snapshot.at)
        database_rules.database_signed_by_exporter(exporter is not None and credentials.signature_matches(
            exporter.public_key, database_files.signed_part(snapshot), snapshot.signature,
        ))
        return judged.counted(), [], judged.accepted

    events.notify_changes(runtime, opened.replica, before, runtime.execute_group(opened.replica, decide))
