"""The record calls of a peer: the group database's records, its search, its export and
import; and the autorefresh that sync runs.

Each record operation is one ``RecordPublished`` envelope in the group log, signed by its
author and admitted by the same rules a received one meets. Checks come in the order of
``docs/scenario-format.md`` §4.1: the handle, the arguments (malformed ones ``E_INVALIDARG``;
attributes against their schema ``PEER_E_INVALID_ATTRIBUTES``; size
``PEER_E_MAX_RECORD_SIZE_EXCEEDED``), readiness, a deleted caller, then what needs the
record itself (``PEER_E_RECORD_NOT_FOUND``, an update's unchanged type and flags),
authorization, the expiration against peer time and the caller's credential, and last the
keys. Every call on a replica first reports the records that expired since it last looked.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import attrs

from peerstate.sync import admission
from peerstate.calls import arguments
from peerstate.crypto import credentials
from peerstate.documents import database_files, record_attributes, record_search
from peerstate.constants import PeerRecordFlags
from peerstate.calls.runtime import GroupDecision
from peerstate.domain import record_rules, rules
from peerstate.domain.group_events import Credential, Envelope, EnvelopeAccepted, Record, RecordPublished
from peerstate.domain.group_state import GroupState, apply_envelope
from peerstate.domain.records import DELETED, MAX_RECORD_SIZE, LiveRecords, RecordVersion, creator_tag, refresh_due, refreshed_expiration
from peerstate.domain.replica import ReplicaState
from peerstate.errors import InvalidArgument, peer_error
from peerstate.calls.groups import GroupCalls
from peerstate.calls.sessions import GroupHandle, ReplicaKey
from peerstate.storage.store import ReplicaLog

SETTABLE_FLAGS: Final = int(PeerRecordFlags.PEER_RECORD_FLAG_AUTOREFRESH)


def _data(value: object) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, bytes):
        raise InvalidArgument(f"data must be bytes, not {type(value).__name__}")
    return value


def _flags(value: object) -> int:
    """``dwFlags`` of a record: only ``PEER_RECORD_FLAG_AUTOREFRESH`` is the caller's to set
    (``PEER_E_INVALID_RECORD`` for the infrastructure's DELETED, ``E_INVALIDARG`` for the rest)."""
    bits = arguments.dword(value, "dwFlags")
    if bits & DELETED:
        raise peer_error("PEER_E_INVALID_RECORD", "PEER_RECORD_FLAG_DELETED is set by PeerGroupDeleteRecord, never by the caller")
    if bits & ~SETTABLE_FLAGS:
        raise InvalidArgument(f"dwFlags {bits:#x} has bits no PEER_RECORD_FLAGS names")
    return bits


@attrs.frozen
class Draft:
    """What a caller gives of a record version: the fields ``PEER_RECORD`` lets it set."""

    type: UUID
    flags: int
    expiration: datetime
    attributes: str
    data: bytes


def draft(record_type: object, flags: object, expiration: object, attributes: object, data: object) -> Draft:
    """The caller's fields, each checked: attributes against their schema, the whole within
    the size limit."""
    kind = arguments.guid(record_type, "type")
    bits = _flags(flags)
    until = arguments.moment(expiration, "ftExpiration")
    text = arguments.text(attributes, "pwzAttributes", required=False, max_chars=MAX_RECORD_SIZE) or ""
    record_attributes.read_attributes(text)
    payload = _data(data)
    record_rules.record_fits(text, payload)
    return Draft(kind, bits, until, text, payload)


def new_record(creator: str, fields: Draft, now: datetime) -> Record:
    """A record's first version, by its creator: a fresh id bound to the creator
    (``creator_tag``), created and modified now."""
    tag = creator_tag(creator)
    return Record(
        UUID(bytes=secrets.token_bytes(16 - len(tag)) + tag), fields.type, 1, fields.flags, creator, creator,
        fields.attributes, fields.data, now, now, fields.expiration,
    )


def built_in_attributes(record: Record) -> tuple[record_attributes.Attribute, ...]:
    """The attributes every record has, under the names the infrastructure reserves."""
    Attribute = record_attributes.Attribute
    return (
        Attribute("peercreatorid", "string", record.creator),
        Attribute("peerlastmodifiedby", "string", record.modified_by),
        Attribute("peerrecordid", "string", str(record.id)),
        Attribute("peerrecordtype", "string", str(record.type)),
        Attribute("peercreationtime", "date", record.created),
        Attribute("peerlastmodificationtime", "date", record.modified),
    )


def _in_order(records: Iterable[RecordVersion]) -> list[RecordVersion]:
    """Enumerations list records oldest first, so a listing reads the same on every replica."""
    return sorted(records, key=lambda held: (held.record.created, str(held.record.id)))


class RecordCalls(GroupCalls):
    """The record half of ``Peer``."""

    def _ready_records(self, handle: object) -> tuple[GroupHandle, ReplicaLog, LiveRecords]:
        """The handle, its ready replica, and the records it shows now, after reporting
        what changed since the last look."""
        opened, log = self._open(handle)
        rules.replica_is_ready(log.state)
        self._report_records(opened.replica)
        return opened, log, self._live_records(opened.replica)

    def _write_record(self, opened: GroupHandle, record: Record, credential: Credential) -> None:
        """Publish a record version as the handle's identity, under ``credential``, and tell
        registrations."""
        record_rules.record_within_credential(record, credential)
        identity = rules.identity_is_live(self._state, opened.replica[0])
        before = self._replica(*opened.replica).state.group
        now = self._clock()

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            return [], [], [self._publish(log, identity, RecordPublished(record), now)]

        self._notify_changes(opened.replica, before, self._execute_group(opened.replica, decide))

    def _writer(self, opened: GroupHandle, log: ReplicaLog) -> tuple[str, Credential, datetime]:
        """The caller, checked as a writer of the group database: not deleted, holding a
        credential now; that credential, and the peer time now."""
        caller = opened.replica[0]
        rules.identity_not_retired(log.state.group, caller)
        return caller, rules.caller_holds_credential(log.state.group, caller, self._clock()), self._peer_now(opened.replica)

    def add_record(
        self, handle: object, record_type: object, expiration: object, *, attributes: object = None,
        data: object = None, flags: object = 0,
    ) -> UUID:
        """Publish a new record of ``record_type`` expiring at ``expiration`` (peer time)
        to every member; its id is bound to its creator, the caller."""
        self._open(handle)
        fields = draft(record_type, flags, expiration, attributes, data)
        opened, log, _ = self._ready_records(handle)
        caller, credential, now = self._writer(opened, log)
        record_rules.record_type_not_reserved(fields.type)
        record_rules.expiration_ahead(fields.expiration, now)
        record = new_record(caller, fields, now)
        self._write_record(opened, record, credential)
        return record.id

    def update_record(
        self, handle: object, record_id: object, record_type: object, flags: object, expiration: object, *,
        attributes: object = None, data: object = None,
    ) -> None:
        """Replace a record's attributes, data and expiration (which may only move later),
        as its creator; its type and flags are named unchanged."""
        self._open(handle)
        wanted = arguments.guid(record_id, "id")
        fields = draft(record_type, flags, expiration, attributes, data)
        opened, log, live = self._ready_records(handle)
        caller, credential, now = self._writer(opened, log)
        held = record_rules.record_is_live(live, wanted)
        record_rules.record_kind_unchanged(held, fields.type, fields.flags)
        record_rules.caller_created_record(held, caller)
        record_rules.expiration_not_lowered(held, fields.expiration)
        record_rules.expiration_ahead(fields.expiration, now)
        self._write_record(opened, self._next_version(
            held, caller, now, attributes=fields.attributes, data=fields.data, expiration=fields.expiration,
        ), credential)

    def delete_record(self, handle: object, record_id: object) -> None:
        """Mark a record deleted, as its creator or an administrator: a tombstone without
        data that every replica keeps until the record would have expired."""
        self._open(handle)
        wanted = arguments.guid(record_id, "pRecordId")
        opened, log, live = self._ready_records(handle)
        caller, credential, now = self._writer(opened, log)
        held = record_rules.record_is_live(live, wanted)
        record_rules.caller_may_delete_record(held, caller, credential)
        self._write_record(opened, self._next_version(
            held, caller, now, flags=held.record.flags | DELETED, data=b"",
            expiration=min(held.record.expiration, credential.not_after),
        ), credential)

    @staticmethod
    def _next_version(held: RecordVersion, author: str, now: datetime, **changes: Any) -> Record:
        """The record's next version by ``author`` at ``now`` (never before the last
        modification, though averaging may set peer time back a little)."""
        record = held.record
        return attrs.evolve(
            record, version=record.version + 1, modified_by=author, modified=max(now, record.modified), **changes,
        )

    def get_record(self, handle: object, record_id: object) -> RecordVersion:
        self._open(handle)
        wanted = arguments.guid(record_id, "pRecordId")
        _, _, live = self._ready_records(handle)
        return record_rules.record_is_live(live, wanted)

    def records(self, handle: object, record_type: object = None) -> list[RecordVersion]:
        """The records shown now, of ``record_type`` (None: of every type)."""
        self._open(handle)
        kind = None if record_type is None else arguments.guid(record_type, "pRecordType")
        _, _, live = self._ready_records(handle)
        return _in_order(held for held in live.values() if kind is None or held.record.type == kind)

    def search_records(self, handle: object, criteria: object) -> list[RecordVersion]:
        """The records shown now whose attributes (their own and the built-in ones) match
        the ``<peersearch>`` query."""
        self._open(handle)
        query = record_search.read_search(arguments.text(criteria, "pwzCriteria"))
        _, _, live = self._ready_records(handle)
        return _in_order(
            held for held in live.values()
            if record_search.matches(query, (
                *record_attributes.read_attributes(held.record.attributes), *built_in_attributes(held.record),
            ))
        )

    # The database as a file ------------------------------------------------------------------

    def export_database(self, handle: object, path: object) -> None:
        """Write every envelope of the replica to the file at ``path`` (absolute; an
        existing file is replaced), signed by this replica's member."""
        opened, log = self._open(handle)
        where = arguments.filled(path, "pwzFilePath")
        target = database_files.resolve(where, self._settings.file_root)
        rules.replica_is_ready(log.state)
        identity = rules.identity_is_live(self._state, opened.replica[0])
        rules.caller_holds_credential(log.state.group, identity.peer_name, self._clock())
        snapshot = database_files.DatabaseSnapshot(
            database_files.FORMAT, log.group, identity.peer_name, self._clock(), tuple(self._accepted(opened.replica)), b"",
        )
        signature = credentials.sign(self._identity_key(identity), database_files.signed_part(snapshot))
        database_files.write(target, database_files.encode(database_files.DatabaseSnapshot(
            snapshot.format, snapshot.group, snapshot.exporter, snapshot.at, snapshot.envelopes, signature,
        )), where, make_directories=self._settings.file_root is not None)

    def import_database(self, handle: object, path: object) -> None:
        """Bring the envelopes of an exported file into the replica, after Open or Join and
        before Connect (``PEER_E_GROUP_IN_USE`` after). The file is taken whole or not at
        all: every envelope must pass admission and the exporter's signature must hold
        (``PEER_E_INVALID_DATABASE``). A joiner still synchronizes before it is ready."""
        opened, log = self._open(handle)
        where = arguments.filled(path, "pwzFilePath")
        target = database_files.resolve(where, self._settings.file_root)
        if self._sessions.connected(opened.replica):
            raise peer_error("PEER_E_GROUP_IN_USE", "the group is connected: import its database before PeerGroupConnect")
        snapshot = database_files.decode(database_files.read(target, where))
        if snapshot.group != log.group:
            raise peer_error("PEER_E_INVALID_DATABASE", f"the file holds the database of {snapshot.group!r}, not of {log.group!r}")
        exported = self._admitted(GroupState(log.group), snapshot.envelopes, skip=frozenset())[0]
        exporter = exported.credential_of(snapshot.exporter, snapshot.at)
        if exporter is None or not credentials.signature_matches(
            exporter.public_key, database_files.signed_part(snapshot), snapshot.signature,
        ):
            raise peer_error("PEER_E_INVALID_DATABASE", "the file is not as its exporter signed it")
        before = log.state.group
        now = self._clock()

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            _, accepted = self._admitted(log.state.group, snapshot.envelopes, skip=frozenset(log.known))
            events = [EnvelopeAccepted(envelope, envelope_id, snapshot.exporter, now) for envelope, envelope_id in accepted]
            return list(events), [], events

        self._notify_changes(opened.replica, before, self._execute_group(opened.replica, decide))

    @staticmethod
    def _admitted(
        group: GroupState, envelopes: Iterable[Envelope], skip: frozenset[bytes],
    ) -> tuple[GroupState, list[tuple[Envelope, bytes]]]:
        """``group`` after the envelopes not in ``skip``, each admitted on the state the last
        one left; the first refusal refuses them all (``PEER_E_INVALID_DATABASE``)."""
        accepted = []
        for envelope in envelopes:
            envelope_id = admission.envelope_id(envelope)
            if envelope_id in skip:
                continue
            try:
                admission.admit(group, envelope)
            except admission.Refused as refusal:
                raise peer_error(
                    "PEER_E_INVALID_DATABASE", f"envelope {envelope.seq} of {envelope.author!r} fails {refusal.rule}: {refusal.error.message}",
                ) from None
            group = apply_envelope(group, envelope, envelope_id)
            skip = skip | {envelope_id}
            accepted.append((envelope, envelope_id))
        return group, accepted

    # The port that sync uses -----------------------------------------------------------------

    def sync_refresh_records(self, key: ReplicaKey) -> None:
        """Republish this member's autorefresh records that are about to expire, each with
        a new expiration its lifetime ahead (cut to the member's credential), as Windows
        does while the group is open; expired records are not brought back."""
        self._report_records(key)
        state: ReplicaState = self._replica(*key).state
        if not state.synchronized or not self.sync_listening(key):
            return
        now, clock = self._peer_now(key), self._clock()
        credential = state.group.credential_of(key[0], clock)
        if credential is None:
            return
        refreshed = []
        for held in self._live_records(key).values():
            until = min(refreshed_expiration(held.record, now), credential.not_after)
            if refresh_due(held, key[0], now) and until > held.record.expiration:
                refreshed.append(self._next_version(held, key[0], now, expiration=until))
        if not refreshed:
            return
        identity = rules.identity_is_live(self._state, key[0])
        before = state.group

        def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
            assert log is not None
            return [], [], [self._publish(log, identity, RecordPublished(record), clock) for record in refreshed]

        self._notify_changes(key, before, self._execute_group(key, decide))
