"""The rules of the group database, one registered rule each (``peerstate.registry``), named
after what it checks.

Two kinds. The publication rules judge a ``RecordPublished`` envelope, written here or
received, from the envelope and its author's credential alone, so every replica gives the
same verdict whatever else it has seen (MS-PPSEC 3.1.7.2). The command rules judge a call
against what this replica shows now; ordering rules that depend on an earlier version
(a version one higher, an expiration never lowered) can only be kept there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from peerstate.bounds import MAX_DWORD, MAX_RECORD_SIZE
from peerstate.domain.group_events import Credential, Envelope, Record
from peerstate.domain.records import (
    AUTOREFRESH,
    DELETED,
    RESERVED_RECORD_TYPES,
    RecordVersion,
    creator_tag,
    record_size,
)
from peerstate.names import ROLE_ADMIN
from peerstate.registry import Refusal, rule

# Publication: every record envelope passes these ------------------------------------------


@rule("PEER_E_NOT_AUTHORIZED")
def record_type_not_reserved(record_type: UUID) -> None:
    """The infrastructure's own record types are not the application's
    (``PEER_E_NOT_AUTHORIZED``)."""
    if record_type in RESERVED_RECORD_TYPES:
        raise Refusal(f"the record type {record_type} is reserved by the peer infrastructure")


@rule("PEER_E_MAX_RECORD_SIZE_EXCEEDED")
def record_fits(attributes: str, data: bytes) -> None:
    """Data plus twice the attributes' length stays within the Max Record Size
    (``PEER_E_MAX_RECORD_SIZE_EXCEEDED``)."""
    size = record_size(attributes, data)
    if size > MAX_RECORD_SIZE:
        raise Refusal(
            f"the record counts {size} bytes (data plus two per attribute character); the limit is {MAX_RECORD_SIZE}"
        )


@rule("PEER_E_INVALID_RECORD")
def record_is_well_formed(envelope: Envelope, record: Record) -> None:
    """A version names its author as modifier and its creator in its id, its first version
    is its creator's, a deletion carries no data, and its times run creation, modification,
    expiration (``PEER_E_INVALID_RECORD``)."""
    problem = None
    if record.modified_by != envelope.author:
        problem = "the record's modifier is not the envelope's author"
    elif record.id.bytes[-len(creator_tag(record.creator)):] != creator_tag(record.creator):
        problem = "the record id is not bound to its creator"
    elif record.version < 1 or record.flags & ~(AUTOREFRESH | DELETED):
        problem = "the record's version or flags are out of range"
    elif record.version == 1 and (record.modified_by != record.creator or record.modified != record.created):
        problem = "a record's first version is its creator's, modified when created"
    elif record.flags & DELETED and record.data:
        problem = "a deleted record carries no data"
    elif not record.created <= record.modified < record.expiration:
        problem = "the record's times do not run creation, modification, expiration"
    if problem is not None:
        raise Refusal(problem)


@rule("PEER_E_INVALID_RECORD_EXPIRATION")
def record_within_credential(record: Record, credential: Credential) -> None:
    """A record lives inside its last toucher's credential: modified while it was valid,
    expiring before it ends (``PEER_E_INVALID_RECORD_EXPIRATION``)."""
    if not credential.not_before <= record.modified or record.expiration > credential.not_after:
        raise Refusal(
            f"the record expires {record.expiration.isoformat()}, after its author's credential "
            f"ends {credential.not_after.isoformat()}"
        )


@rule("PEER_E_NOT_AUTHORIZED")
def modifier_may_touch(record: Record, credential: Credential) -> None:
    """Only a record's creator or an administrator writes a version of it
    (``PEER_E_NOT_AUTHORIZED``)."""
    if record.modified_by != record.creator and ROLE_ADMIN not in credential.roles:
        raise Refusal(f"only {record.creator!r}, who created the record, or an administrator may change it")


def record_publication_permitted(envelope: Envelope, record: Record, credential: Credential) -> None:
    """Every publication rule, in the order a call meets them."""
    record_type_not_reserved(record.type)
    record_is_well_formed(envelope, record)
    record_fits(record.attributes, record.data)
    modifier_may_touch(record, credential)
    record_within_credential(record, credential)


# Commands: what a record call checks against this replica ---------------------------------


@rule("PEER_E_RECORD_NOT_FOUND")
def record_is_live(live: Mapping[UUID, RecordVersion], record_id: UUID) -> RecordVersion:
    """The record must be in the database, not deleted and not expired
    (``PEER_E_RECORD_NOT_FOUND``)."""
    held = live.get(record_id)
    if held is None:
        raise Refusal(f"there is no record {record_id} (or it was deleted, or it expired)")
    return held


@rule("PEER_E_NOT_AUTHORIZED")
def caller_created_record(held: RecordVersion, caller: str) -> None:
    """Only a record's creator updates it (``PEER_E_NOT_AUTHORIZED``)."""
    if held.record.creator != caller:
        raise Refusal(f"only {held.record.creator!r}, who created the record, may update it")


@rule("PEER_E_NOT_AUTHORIZED")
def caller_may_delete_record(held: RecordVersion, caller: str, credential: Credential) -> None:
    """A record's creator or any administrator deletes it (``PEER_E_NOT_AUTHORIZED``)."""
    if held.record.creator != caller and ROLE_ADMIN not in credential.roles:
        raise Refusal(f"only {held.record.creator!r}, who created the record, or an administrator may delete it")


@rule("PEER_E_INVALID_RECORD")
def record_version_has_room(held: RecordVersion) -> None:
    """A record takes another version (an update, a deletion) only below the last a
    ``DWORD`` holds, ``dwVersion``'s type (``PEER_E_INVALID_RECORD``): the version written
    past it no peer would accept, nor a store read back once past 64 bits."""
    if held.record.version >= MAX_DWORD:
        raise Refusal(
            f"the record {held.record.id} is at version {held.record.version}, the last a DWORD holds: it takes no "
            f"other version, and expires {held.record.expiration.isoformat()}"
        )


@rule("E_INVALIDARG")
def record_kind_unchanged(held: RecordVersion, record_type: UUID, flags: int) -> None:
    """An update names the record's type and flags as they are (``E_INVALIDARG``)."""
    if (record_type, flags) != (held.record.type, held.record.flags):
        raise Refusal("an update must give the record's type and dwFlags unchanged")


@rule("PEER_E_INVALID_RECORD_EXPIRATION")
def expiration_ahead(expiration: datetime, now: datetime) -> None:
    """A record's expiration lies after now, in peer time (``PEER_E_INVALID_RECORD_EXPIRATION``)."""
    if expiration <= now:
        raise Refusal(
            f"ftExpiration {expiration.isoformat()} is not after the group's peer time {now.isoformat()}"
        )


@rule("PEER_E_INVALID_RECORD_EXPIRATION")
def expiration_not_lowered(held: RecordVersion, expiration: datetime) -> None:
    """An update may extend a record's life, never shorten it (``PEER_E_INVALID_RECORD_EXPIRATION``)."""
    if expiration < held.record.expiration:
        raise Refusal(
            f"ftExpiration {expiration.isoformat()} is before the record's {held.record.expiration.isoformat()}: "
            "an update may only extend it"
        )
