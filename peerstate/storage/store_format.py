"""How a store's rows are written, and read back.

An event row holds the event's fields as ``wire``'s canonical trees (bytes as base64, times
as ISO-8601, attrs values tagged with their class name), keys sorted so that a row has one
spelling whichever way its trees were made, and is read back by the decoders the event
class's field types give. The trees of envelopes are the ones their ids and
signatures were computed from, so writing a received envelope costs no second walk over
it, and reading needs no type tags beyond the ones a union needs.

A snapshot holds a log's attributes, whose types (persistent maps, sets, lists of events)
no field type names: it goes through a transcoder that tags every non-JSON value with its
type (``SnapshotTranscoder``), save a group's records, most of a large group's snapshot,
which are listed as their versions' trees (``RecordsAsVersions``). Snapshots are read once
per open, events once per event.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final
from uuid import UUID

import attrs
import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoder, Transcoding, TranscodingNotRegisteredError
from eventsourcing.utils import get_topic
from immutables import Map

from peerstate import wire
from peerstate.domain.group_state import GroupState, Place
from peerstate.domain.records import RecordVersion
from peerstate.domain.group_events import EnvelopeHeld, ForkDetected
from peerstate.domain.replica import Guesses, ReplicaState, SenderRefusals
from peerstate.domain.values import evolved

_TUPLE: Final = "tuple"
_PLAIN: Final = frozenset({str, int, float, bool, type(None)})
_CONTAINERS: Final = frozenset({dict, list})
_COLUMNS: Final = frozenset({"originator_id", "originator_version"})
"""Fields an event row keeps in columns of its own, not in its state."""


@attrs.frozen
class _RowType:
    """An event class as its rows hold it: its topic, and the decoder of its stored fields."""

    cls: type
    topic: str
    names: tuple[str, ...]
    decode: Callable[[Any], dict[str, Any]]
    """The stored fields' values from a row's tree, or ``WireError``."""


def _row_type(cls: type) -> _RowType:
    hints = typing.get_type_hints(cls)
    names = tuple(field.name for field in dataclasses.fields(cls) if field.name not in _COLUMNS)
    topic = get_topic(cls)
    return _RowType(cls, topic, names, wire.fields_decoder(tuple((name, hints[name]) for name in names), f"{topic} row"))


class RowMapper(Mapper[UUID]):
    """eventsourcing's mapper, writing the events of ``typed`` classes as canonical trees
    typed by their fields (anything else, snapshots, through the transcoder)."""

    def __init__(self, transcoder: Transcoder, typed: Iterable[type]) -> None:
        super().__init__(transcoder)
        rows = [_row_type(cls) for cls in typed]
        self._by_class = {row.cls: row for row in rows}
        self._by_topic = {row.topic: row for row in rows}

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        row = self._by_class.get(type(domain_event))
        if row is None:
            return super().to_stored_event(domain_event)
        state = orjson.dumps(
            {name: wire.plain(getattr(domain_event, name)) for name in row.names}, option=orjson.OPT_SORT_KEYS,
        )
        return StoredEvent(
            originator_id=domain_event.originator_id, originator_version=domain_event.originator_version,
            topic=row.topic, state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        """The event a row holds; ``ValueError`` (``WireError``) for a row that is not one."""
        row = self._by_topic.get(stored_event.topic)
        if row is None:
            return super().to_domain_event(stored_event)
        state = row.decode(orjson.loads(stored_event.state))
        originator_id = stored_event.originator_id
        state["originator_id"] = originator_id if type(originator_id) is UUID else UUID(str(originator_id))
        state["originator_version"] = stored_event.originator_version
        event: Any = object.__new__(row.cls)
        object.__setattr__(event, "__dict__", state)
        return event


class BytesAsBase64(Transcoding):
    """Bytes as ``wire`` writes them; read back strictly, as from a peer: text that is not
    exactly that is an edited row, not another spelling of the same bytes."""

    type = bytes
    name = "b64"

    def encode(self, obj: bytes) -> str:
        text: str = wire.plain(obj)
        return text

    def decode(self, data: str) -> bytes:
        raw: bytes = wire.decode_tree(data, bytes, canonical=True)
        return raw


class MapAsPairs(Transcoding):
    """A persistent map (``GroupState``'s) as its key-value pairs, in key order: its keys are
    bytes and GUIDs, which JSON objects cannot hold, and its own order follows their hashes,
    which for bytes and strings differ from one process to the next. Snapshots written
    before listed the pairs in that order (``maps_in_key_order`` reads them as one)."""

    type = Map
    name = "map"

    def encode(self, obj: Map[Any, Any]) -> list[list[Any]]:
        return [[key, value] for key, value in sorted(obj.items(), key=_by_key)]

    def decode(self, data: list[list[Any]]) -> Map[Any, Any]:
        return Map((key, value) for key, value in data)


def _by_key(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def maps_in_key_order(tree: Any) -> Any:
    """A snapshot's JSON tree with every map's pairs sorted by their keys' JSON: the one
    spelling of a snapshot whichever order its maps were written in. A pair edited, added
    or removed still shows."""
    if type(tree) is list:
        return [maps_in_key_order(item) for item in tree]
    if type(tree) is not dict:
        return tree
    if tree.get("_type_") == MapAsPairs.name and type(tree.get("_data_")) is list:
        pairs = [maps_in_key_order(pair) for pair in tree["_data_"]]
        return {**tree, "_data_": sorted(pairs, key=lambda pair: orjson.dumps(pair[:1], option=orjson.OPT_SORT_KEYS))}
    return {key: maps_in_key_order(value) for key, value in tree.items()}


class SetAsList(Transcoding):
    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


class TimedeltaAsMicroseconds(Transcoding):
    type = timedelta
    name = "timedelta"

    def encode(self, obj: timedelta) -> int:
        return obj // timedelta(microseconds=1)

    def decode(self, data: int) -> timedelta:
        return timedelta(microseconds=data)


_WRITTEN: Final = object()
"""What no field's value is: a field that ``AttrsAsDict`` always writes."""


class AttrsAsDict(Transcoding):
    """An attrs class that ``wire`` cannot encode (its fields hold maps), by its field
    names; its fields are transcoded in turn.

    A field added after snapshots holding the class were written is ``unwritten`` in them:
    such a snapshot is read with the field's value there, an object of its own that the
    snapshot's open tells apart (``ReplicaLog.Snapshot.mutate``), and written again
    without the field, as it was written, so that the audit finds it exactly as stored."""

    def __init__(self, cls: type, unwritten: Mapping[str, Any] = MappingProxyType({})) -> None:
        self.type = cls
        self.name = cls.__qualname__
        self._unwritten = unwritten

    def encode(self, obj: Any) -> dict[str, Any]:
        return {
            field.name: value for field in attrs.fields(self.type)
            if (value := getattr(obj, field.name)) is not self._unwritten.get(field.name, _WRITTEN)
        }

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**{**self._unwritten, **data})


NO_MEMBER_DATA: Final[Map[str, datetime]] = Map()
"""The member data of a group state read from a snapshot written before the state kept it
(``GroupState.member_data``): not known, which is not the same as none, and told apart from
any other map by being this very object. A log is not opened from such a snapshot but
replayed from its events (``PeerStore``), since only they say what the member data is."""

NO_SENDER_REFUSALS: Final[Mapping[str, SenderRefusals]] = MappingProxyType({})
"""The refusals per sender of a replica state read from a snapshot written before the state
counted them (``ReplicaState.sender_refusals``). No event that such a snapshot folds
counted any, so the log opened from it counts none: an empty map, not this object."""


NO_FORKED: Final[Map[str, int]] = Map()
"""The forked authors of a group state read from a snapshot written before the state kept
them (``GroupState.forked``): none, as no fork had a verdict then; this very object, so
that the snapshot is written again without the field, as it was written."""


NO_PLACES: Final[Map[bytes, tuple[Place, ...]]] = Map()
"""The credentials' deliveries of a group state read from a snapshot written before the
state kept them (``GroupState.places``, ``GroupState.delivered_to``): the open makes them
from ``delivered``, which held the latest delivery of each (``places_of_delivered``), as
the fold of those events does."""


def places_of_delivered(group: GroupState) -> GroupState:
    """``group``, read from a snapshot without ``places``, with them made from its
    ``delivered``: every delivery then was written before envelopes cited a context, and of
    those the state keeps the latest, which ``delivered`` holds."""
    places = Map((fingerprint, (Place(at, author, seq, None),)) for fingerprint, (at, author, seq) in group.delivered.items())
    delivered_to: dict[str, tuple[bytes, ...]] = {}
    for fingerprint in sorted(group.delivered):
        subject = group.credentials[fingerprint].subject
        delivered_to[subject] = (*delivered_to.get(subject, ()), fingerprint)
    return evolved(group, places=places, delivered_to=Map(delivered_to))


NO_VOIDED: Final[Map[bytes, bytes]] = Map()
"""The envelopes without effect of a group state read from a snapshot written before the
state kept them (``GroupState.voided``, ``voided_deliveries``): none, as no demotion voided
any then; written back without the field, as it was written."""


class GroupStateFields(AttrsAsDict):
    """``GroupState`` by its field names; a snapshot without member data is read with
    ``NO_MEMBER_DATA``, and written again without it, as it was written; one without forked
    authors, with ``NO_FORKED``; one without the credentials' deliveries, ``NO_PLACES``;
    one without envelopes voided, ``NO_VOIDED``."""

    def __init__(self) -> None:
        super().__init__(GroupState, {
            "member_data": NO_MEMBER_DATA, "forked": NO_FORKED, "places": NO_PLACES, "delivered_to": NO_PLACES, "voided": NO_VOIDED,
            "voided_deliveries": NO_VOIDED,
        })


NO_HELD: Final[tuple[EnvelopeHeld, ...]] = ()
"""The envelopes waiting in a replica state read from a snapshot written before a replica
held any (``ReplicaState.held``): none, as in a state where none waits, which is written
without the field too; so a snapshot of either time reads and writes back alike."""

NO_FORKS: Final[tuple[ForkDetected, ...]] = ()
"""The fork evidence in a replica state read from a snapshot written before a replica kept
any (``ReplicaState.forks``): none, written back without the field, as ``NO_HELD``."""


NO_WRONG_PASSWORDS_FROM: Final[Mapping[str, Guesses]] = MappingProxyType({})
"""The wrong passwords per address of a replica state read from a snapshot written before
the state counted them (``ReplicaState.wrong_passwords_from``): no event that such a
snapshot folds named an address, so none, written back without the field."""


class ReplicaStateFields(AttrsAsDict):
    """``ReplicaState`` by its field names; a snapshot without refusals per sender is read
    with ``NO_SENDER_REFUSALS``, and written again without them, as it was written; one
    without envelopes waiting, with ``NO_HELD``; one without fork evidence, ``NO_FORKS``;
    one without wrong passwords per address, ``NO_WRONG_PASSWORDS_FROM``."""

    def __init__(self) -> None:
        super().__init__(ReplicaState, {
            "sender_refusals": NO_SENDER_REFUSALS, "held": NO_HELD, "forks": NO_FORKS, "wrong_passwords_from": NO_WRONG_PASSWORDS_FROM,
        })


class GroupStateAsFields(GroupStateFields):
    """``GroupState`` by its field names, its records as ``RecordsAsVersions`` writes them.
    Snapshots written before held the records as a map's tagged pairs (``MapAsPairs``);
    each form is tagged, so both read back as the same map."""

    def encode(self, obj: GroupState) -> dict[str, Any]:
        return {**super().encode(obj), "records": HeldRecords(obj.records)}


@attrs.frozen
class HeldRecords:
    """A group state's records on their way into a snapshot: a type of their own, so that
    their transcoding is chosen for them and for no other map."""

    versions: Map[UUID, RecordVersion]


class RecordsAsVersions(Transcoding):
    """A group's records as the list of their winning versions' ``wire`` trees. Each
    version names its record's id, so the map's keys are not written, and the list is
    plain JSON, which the transcoder neither walks nor untags: a large group's snapshot is
    mostly its records, and written so they are read and written a quarter faster."""

    plain_json: Final = True
    type = HeldRecords
    name = "records"

    def encode(self, obj: HeldRecords) -> list[Any]:
        return [wire.plain(version) for version in obj.versions.values()]

    def decode(self, data: list[Any]) -> Map[UUID, RecordVersion]:
        versions: tuple[RecordVersion, ...] = wire.decode_tree(data, tuple[RecordVersion, ...])
        return Map((version.record.id, version) for version in versions)


class WireValue(Transcoding):
    """An attrs class that ``wire`` encodes, as its canonical tree: the records and
    credentials a state holds were encoded so when their envelopes were, and the trees are
    kept (``wire.plain``), so a snapshot of a large group costs little more than its JSON."""

    plain_json: Final = True
    """The encoding is plain JSON already: the transcoder neither walks it nor untags it."""

    def __init__(self, cls: type) -> None:
        self.type = cls
        self.name = cls.__qualname__

    def encode(self, obj: Any) -> Any:
        return wire.plain(obj)

    def decode(self, data: Any) -> Any:
        return wire.decode_tree(data, self.type)


class SnapshotTranscoder(JSONTranscoder):
    """eventsourcing's JSON transcoder on orjson, keeping tuples as tuples: what snapshots are
    written with.

    It subclasses ``JSONTranscoder`` to reuse its registry, so the application's own UUID
    and datetime transcodings still apply.
    """

    def encode(self, obj: Any) -> bytes:
        """Keys sorted, as in event rows: the wire trees inside may come in either order."""
        return orjson.dumps(self._tagged(obj), option=orjson.OPT_SORT_KEYS)

    def decode(self, data: bytes) -> Any:
        tree = orjson.loads(data)
        return self._untagged(tree) if type(tree) in _CONTAINERS else tree

    def _tagged(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _PLAIN:
            return obj
        if kind is dict:
            return {key: value if type(value) in _PLAIN else self._tagged(value) for key, value in obj.items()}
        if kind is list:
            return [value if type(value) in _PLAIN else self._tagged(value) for value in obj]
        if kind is tuple:
            return {"_type_": _TUPLE, "_data_": [value if type(value) in _PLAIN else self._tagged(value) for value in obj]}
        transcoding = self.types.get(kind)
        if transcoding is None:
            raise TranscodingNotRegisteredError(f"no transcoding registered for {kind.__qualname__}")
        encoded = transcoding.encode(obj)
        if type(encoded) not in _PLAIN and not getattr(transcoding, "plain_json", False):
            encoded = self._tagged(encoded)
        return {"_type_": transcoding.name, "_data_": encoded}

    def _untagged(self, obj: Any) -> Any:
        """The value a tree of plain JSON values stands for. Called only on containers:
        strings, numbers, booleans and null stand for themselves (the calls saved are most
        of a log's decoding time)."""
        if type(obj) is list:
            return [value if type(value) not in _CONTAINERS else self._untagged(value) for value in obj]
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            data = obj["_data_"]
            if obj["_type_"] == _TUPLE:
                return tuple(self._untagged(data))
            transcoding = self.names[obj["_type_"]]
            if type(data) in _CONTAINERS and not getattr(transcoding, "plain_json", False):
                data = self._untagged(data)
            return transcoding.decode(data)
        return {key: value if type(value) not in _CONTAINERS else self._untagged(value) for key, value in obj.items()}
