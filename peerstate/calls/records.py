"""The record calls: add, update, delete, get, enumerate and search the records of the group
database.

Each record operation is one ``RecordPublished`` envelope in the group log, signed by its
author and admitted by the same rules a received one meets. Checks come in the order of
``docs/scenario-format.md`` §4.1: the handle, the arguments (malformed ones ``E_INVALIDARG``;
attributes against their schema ``PEER_E_INVALID_ATTRIBUTES``; size
``PEER_E_MAX_RECORD_SIZE_EXCEEDED``), readiness, a deleted caller, then what needs the
record itself (``PEER_E_RECORD_NOT_FOUND``, an update's unchanged type and flags),
authorization, a version left for the record to take (``PEER_E_INVALID_RECORD`` at the
last a ``DWORD`` holds), the expiration against peer time and the caller's credential, and
last the keys. Every call on a replica first reports the records that expired since it last looked.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from peerstate.calls import arguments, envelopes, events
from peerstate.calls.runtime import GroupDecision, Runtime
from peerstate.calls.sessions import GroupHandle
from peerstate.documents import record_attributes, record_search
from peerstate.domain import record_rules, rules
from peerstate.domain.group_events import Credential, EnvelopeAccepted, Record, RecordPublished
from peerstate.bounds import MAX_RECORD_SIZE
from peerstate.domain.records import DELETED, LiveRecords, RecordVersion, creator_tag
from peerstate.storage.logs import ReplicaLog


def _flags(value: object) -> int:
    """``dwFlags`` of a record: only ``PEER_RECORD_FLAG_AUTOREFRESH`` is the caller's to set
    (``PEER_E_INVALID_RECORD`` for the infrastructure's DELETED, ``E_INVALIDARG`` for the rest)."""
    bits = arguments.argument_is_dword(value, "dwFlags")
    arguments.record_flags_not_deleted(bits)
    arguments.record_flags_known(bits)
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
    kind = arguments.argument_is_guid(record_type, "type")
    bits = _flags(flags)
    until = arguments.argument_is_time(expiration, "ftExpiration")
    text = arguments.argument_is_text(attributes, "pwzAttributes", required=False, max_chars=MAX_RECORD_SIZE) or ""
    record_attributes.read_attributes(text)
    payload = arguments.argument_is_bytes(data, "data")
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


def _ready_records(runtime: Runtime, handle: object) -> tuple[GroupHandle, ReplicaLog, LiveRecords]:
    """The handle, its ready replica, and the records it shows now, after reporting what
    changed since the last look."""
    opened, log = runtime.open(handle)
    rules.replica_is_ready(log.state)
    events.report_records(runtime, opened.replica)
    return opened, log, events.live_records(runtime, opened.replica)


def _write_record(runtime: Runtime, opened: GroupHandle, record: Record, credential: Credential) -> None:
    """Publish a record version as the handle's identity, under ``credential``, and tell
    registrations."""
    record_rules.record_within_credential(record, credential)
    identity = rules.identity_is_live(runtime.state, opened.replica[0])
    before = runtime.replica(*opened.replica).state.group
    now = runtime.clock()

    def decide(log: ReplicaLog | None) -> GroupDecision[list[EnvelopeAccepted]]:
        assert log is not None
        return [], [], [envelopes.publish(runtime, log, identity, RecordPublished(record), now)]

    events.notify_changes(runtime, opened.replica, before, runtime.execute_group(opened.replica, decide))


def _writer(runtime: Runtime, opened: GroupHandle, log: ReplicaLog) -> tuple[str, Credential, datetime]:
    """The caller, checked as a writer of the group database: not deleted, holding a
    credential now; that credential, and the peer time now."""
    caller = opened.replica[0]
    rules.identity_not_retired(log.state.group, caller)
    return caller, rules.caller_holds_credential(log.state.group, caller, runtime.clock()), events.peer_now(runtime, opened.replica)


def add_record(
    runtime: Runtime, handle: object, record_type: object, expiration: object, attributes: object, data: object,
    flags: object,
) -> UUID:
    """Publish a new record of ``record_type`` expiring at ``expiration`` (peer time) to
    every member; its id is bound to its creator, the caller."""
    runtime.open(handle)
    fields = draft(record_type, flags, expiration, attributes, data)
    opened, log, _ = _ready_records(runtime, handle)
    caller, credential, now = _writer(runtime, opened, log)
    record_rules.record_type_not_reserved(fields.type)
    record_rules.expiration_ahead(fields.expiration, now)
    record = new_record(caller, fields, now)
    _write_record(runtime, opened, record, credential)
    return record.id


def update_record(
    runtime: Runtime, handle: object, record_id: object, record_type: object, flags: object, expiration: object,
    attributes: object, data: object,
) -> None:
    """Replace a record's attributes, data and expiration (which may only move later), as
    its creator; its type and flags are named unchanged."""
    runtime.open(handle)
    wanted = arguments.argument_is_guid(record_id, "id")
    fields = draft(record_type, flags, expiration, attributes, data)
    opened, log, live = _ready_records(runtime, handle)
    caller, credential, now = _writer(runtime, opened, log)
    held = record_rules.record_is_live(live, wanted)
    record_rules.record_kind_unchanged(held, fields.type, fields.flags)
    record_rules.caller_created_record(held, caller)
    record_rules.record_version_has_room(held)
    record_rules.expiration_not_lowered(held, fields.expiration)
    record_rules.expiration_ahead(fields.expiration, now)
    _write_record(runtime, opened, next_version(
        held, caller, now, attributes=fields.attributes, data=fields.data, expiration=fields.expiration,
    ), credential)


def delete_record(runtime: Runtime, handle: object, record_id: object) -> None:
    """Mark a record deleted, as its creator or an administrator: a tombstone without data
    that every replica keeps until the record would have expired."""
    runtime.open(handle)
    wanted = arguments.argument_is_guid(record_id, "pRecordId")
    opened, log, live = _ready_records(runtime, handle)
    caller, credential, now = _writer(runtime, opened, log)
    held = record_rules.record_is_live(live, wanted)
    record_rules.caller_may_delete_record(held, caller, credential)
    record_rules.record_version_has_room(held)
    _write_record(runtime, opened, next_version(
        held, caller, now, flags=held.record.flags | DELETED, data=b"",
        expiration=min(held.record.expiration, credential.not_after),
    ), credential)


def next_version(held: RecordVersion, author: str, now: datetime, **changes: Any) -> Record:
    """The record's next version by ``author`` at ``now`` (never before the last
    modification, though averaging may set peer time back a little)."""
    record = held.record
    return attrs.evolve(
        record, version=record.version + 1, modified_by=author, modified=max(now, record.modified), **changes,
    )


def get_record(runtime: Runtime, handle: object, record_id: object) -> RecordVersion:
    runtime.open(handle)
    wanted = arguments.argument_is_guid(record_id, "pRecordId")
    _, _, live = _ready_records(runtime, handle)
    return record_rules.record_is_live(live, wanted)


def records(runtime: Runtime, handle: object, record_type: object) -> list[RecordVersion]:
    """The records shown now, of ``record_type`` (None: of every type)."""
    runtime.open(handle)
    kind = None if record_type is None else arguments.argument_is_guid(record_type, "pRecordType")
    _, _, live = _ready_records(runtime, handle)
    return _in_order(held for held in live.values() if kind is None or held.record.type == kind)


def search_records(runtime: Runtime, handle: object, criteria: object) -> list[RecordVersion]:
    """The records shown now whose attributes (their own and the built-in ones) match the
    ``<peersearch>`` query."""
    runtime.open(handle)
    query = record_search.read_search(arguments.argument_is_text(criteria, "pwzCriteria"))
    _, _, live = _ready_records(runtime, handle)
    return _in_order(
        held for held in live.values()
        if record_search.matches(query, (
            *record_attributes.read_attributes(held.record.attributes), *built_in_attributes(held.record),
        ))
    )
