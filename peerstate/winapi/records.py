"""The record functions over ``Peer``: add, update, delete, get, enumerate, search, and
the group database as a file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from uuid import UUID

from peerstate.constants import PeerRecordFlags
from peerstate.domain.records import RecordVersion
from peerstate.peer import check_handle, Peer
from peerstate.winapi.arguments import record_data_is_text, structure_given, text_is_base64
from peerstate.winapi.registry import p2p


_RECORD_FIELDS: Final = frozenset({
    "type", "id", "dwVersion", "dwFlags", "pwzCreatorId", "pwzModifiedById", "pwzAttributes",
    "ftCreation", "ftExpiration", "ftLastModified", "securityData", "data",
})
"""``PEER_RECORD`` without ``dwSize``. A call reads the fields it takes and ignores the
ones the infrastructure sets, as the pages say, so a record read back can be passed again."""


def _record_in(pRecord: object) -> Mapping[str, Any]:
    return structure_given(pRecord, "pRecord", "PEER_RECORD", _RECORD_FIELDS)


def _payload(value: object) -> bytes | None:
    """``PEER_DATA``: base64 text in a scenario, bytes from Python; NULL is no data."""
    if value is None or isinstance(value, bytes):
        return value
    return text_is_base64(record_data_is_text(value), "data")


def _record_out(held: RecordVersion) -> dict[str, Any]:
    record = held.record
    return {
        "type": record.type, "id": record.id, "dwVersion": record.version, "dwFlags": PeerRecordFlags(record.flags),
        "pwzCreatorId": record.creator, "pwzModifiedById": record.modified_by,
        "pwzAttributes": record.attributes or None, "ftCreation": record.created,
        "ftExpiration": record.expiration, "ftLastModified": record.modified,
        "securityData": held.security, "data": record.data,
    }


@p2p("pRecordId")
def PeerGroupAddRecord(peer: Peer, hGroup: str | None = None, pRecord: Mapping[str, Any] | None = None) -> UUID:
    check_handle(peer, hGroup)
    record = _record_in(pRecord)
    return peer.add_record(
        hGroup, record.get("type"), record.get("ftExpiration"), attributes=record.get("pwzAttributes"),
        data=_payload(record.get("data")), flags=record.get("dwFlags", 0),
    )


@p2p()
def PeerGroupUpdateRecord(peer: Peer, hGroup: str | None = None, pRecord: Mapping[str, Any] | None = None) -> None:
    check_handle(peer, hGroup)
    record = _record_in(pRecord)
    peer.update_record(
        hGroup, record.get("id"), record.get("type"), record.get("dwFlags", 0), record.get("ftExpiration"),
        attributes=record.get("pwzAttributes"), data=_payload(record.get("data")),
    )


@p2p()
def PeerGroupDeleteRecord(peer: Peer, hGroup: str | None = None, pRecordId: str | None = None) -> None:
    peer.delete_record(hGroup, pRecordId)


@p2p("ppRecord")
def PeerGroupGetRecord(peer: Peer, hGroup: str | None = None, pRecordId: str | None = None) -> dict[str, Any]:
    return _record_out(peer.get_record(hGroup, pRecordId))


@p2p("phPeerEnum")
def PeerGroupEnumRecords(peer: Peer, hGroup: str | None = None, pRecordType: str | None = None) -> list[dict[str, Any]]:
    return [_record_out(held) for held in peer.records(hGroup, pRecordType)]


@p2p("phPeerEnum")
def PeerGroupSearchRecords(peer: Peer, hGroup: str | None = None, pwzCriteria: str | None = None) -> list[dict[str, Any]]:
    return [_record_out(held) for held in peer.search_records(hGroup, pwzCriteria)]


@p2p()
def PeerGroupExportDatabase(peer: Peer, hGroup: str | None = None, pwzFilePath: str | None = None) -> None:
    peer.export_database(hGroup, pwzFilePath)


@p2p()
def PeerGroupImportDatabase(peer: Peer, hGroup: str | None = None, pwzFilePath: str | None = None) -> None:
    peer.import_database(hGroup, pwzFilePath)
