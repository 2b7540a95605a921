"""The state that a peer's logs fold into, and the fold itself.

``evolve(state, event)`` is the only way state changes: the same events in the same order
give the same state, whether they were just decided or read back from a store.
"""

from __future__ import annotations

from datetime import datetime
from collections.abc import Mapping

import attrs

from peerstate.domain.events import (
    FriendlyNameChanged,
    GroupAttached,
    GroupDetached,
    IdentityCreated,
    IdentityDeleted,
    IdentityEvent,
    IdentityExported,
    IdentityOrigin,
    KeyStoreProtected,
)
from peerstate.domain.values import evolved


@attrs.frozen
class IdentityRecord:
    """One identity as this peer knows it; ``deleted_at`` set makes it a tombstone."""

    peer_name: str
    classifier: str
    friendly_name: str
    certificate: bytes
    private_key: bytes
    sealed: bool
    origin: IdentityOrigin
    created_at: datetime
    exports: int = 0
    deleted_at: datetime | None = None
    groups: tuple[str, ...] = ()
    """The group peer names the identity has replicas of here, oldest first."""

    @property
    def live(self) -> bool:
        return self.deleted_at is None


@attrs.frozen
class IdentityStoreState:
    """Every identity the peer ever held (tombstones included) and how its keys are kept."""

    identities: Mapping[str, IdentityRecord] = attrs.field(factory=dict)
    """Never mutated: ``evolve`` makes a new mapping, so old states stay valid."""
    protection: KeyStoreProtected | None = None

    def live(self, peer_name: str) -> IdentityRecord | None:
        record = self.identities.get(peer_name)
        return record if record is not None and record.live else None

    @property
    def default(self) -> IdentityRecord | None:
        """The live identity made as the default, if there is one."""
        for record in self.identities.values():
            if record.live and record.origin == "default":
                return record
        return None


def _arrived(state: IdentityStoreState, record: IdentityRecord) -> IdentityStoreState:
    identities = dict(state.identities)
    identities.pop(record.peer_name, None)  # a revived name moves to the end, as enumeration shows it
    identities[record.peer_name] = record
    return evolved(state, identities=identities)


def _replace(state: IdentityStoreState, record: IdentityRecord) -> IdentityStoreState:
    """``record`` in place of its old self, keeping the enumeration order."""
    identities = dict(state.identities)
    identities[record.peer_name] = record
    return evolved(state, identities=identities)


def evolve(state: IdentityStoreState, event: IdentityEvent) -> IdentityStoreState:
    """The state after ``event``."""
    match event:
        case KeyStoreProtected():
            return evolved(state, protection=event)
        case IdentityCreated():
            return _arrived(state, IdentityRecord(
                event.peer_name, event.classifier, event.friendly_name, event.certificate,
                event.private_key, event.sealed, event.origin, event.at,
            ))
        case FriendlyNameChanged():
            record = state.identities[event.peer_name]
            return _replace(state, evolved(record, friendly_name=event.friendly_name, certificate=event.certificate))
        case IdentityExported():
            record = state.identities[event.peer_name]
            return _replace(state, evolved(record, exports=record.exports + 1))
        case IdentityDeleted():
            record = state.identities[event.peer_name]
            return _replace(state, evolved(record, deleted_at=event.at))
        case GroupAttached():
            record = state.identities[event.peer_name]
            return _replace(state, evolved(record, groups=(*record.groups, event.group)))
        case GroupDetached():
            record = state.identities[event.peer_name]
            groups = tuple(group for group in record.groups if group != event.group)
            return _replace(state, evolved(record, groups=groups))
