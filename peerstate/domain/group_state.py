"""``GroupState``: what the accepted envelopes of one group say, and the fold that builds it.

The state is a function of the *set* of accepted envelopes, not of the order they arrived
in: properties change only under the creator's own chain (one author, so one order), and
everything else is keyed by what it is about (a credential by its fingerprint, a
publication by its author (whose own chain orders them), a retirement by its identity), so applying two authors'
envelopes in either order gives the same state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TypeVar

import attrs

from peerstate.domain.group_events import (
    Credential,
    CredentialIssued,
    Envelope,
    GroupCreated,
    GroupProperties,
    IdentityRetired,
    MembershipPublished,
    PropertiesChanged,
)

_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


@attrs.frozen
class AuthorHead:
    """Where an author's chain stands: its last sequence number and that envelope's id."""

    seq: int
    last: bytes


@attrs.frozen
class Member:
    """An identity that published its membership."""

    identity: str
    friendly_name: str
    credential: bytes


@attrs.frozen
class GroupState:
    """One group as a replica's accepted envelopes describe it. Mappings are never mutated."""

    group_peer_name: str
    root: bytes | None = None
    root_key: bytes | None = None
    properties: GroupProperties | None = None
    credentials: Mapping[bytes, Credential] = attrs.field(factory=dict)
    heads: Mapping[str, AuthorHead] = attrs.field(factory=dict)
    members: Mapping[str, Member] = attrs.field(factory=dict)
    retired: Mapping[str, datetime] = attrs.field(factory=dict)

    @property
    def founded(self) -> bool:
        """Whether the genesis envelope is here: before it, the replica knows only a name."""
        return self.properties is not None

    def credential_of(self, identity: str, at: datetime) -> Credential | None:
        """The identity's credential in force at ``at``: of those valid then, the one that
        lasts longest (ties: the larger fingerprint), so every replica picks the same one."""
        valid = [
            credential for credential in self.credentials.values()
            if credential.subject == identity and credential.not_before <= at <= credential.not_after
        ]
        return max(valid, key=lambda c: (c.not_after, c.fingerprint), default=None)


def _put(mapping: Mapping[_Key, _Value], key: _Key, value: _Value) -> dict[_Key, _Value]:
    changed = dict(mapping)
    changed[key] = value
    return changed


def apply_envelope(state: GroupState, envelope: Envelope, envelope_id: bytes) -> GroupState:
    """The state after an accepted envelope. Admission has already judged it: this only folds."""
    state = attrs.evolve(state, heads=_put(state.heads, envelope.author, AuthorHead(envelope.seq, envelope_id)))
    match envelope.payload:
        case GroupCreated(properties, root, root_key, creator):
            return attrs.evolve(
                state, root=root, root_key=root_key, properties=properties,
                credentials=_put(state.credentials, creator.fingerprint, creator),
            )
        case PropertiesChanged(properties):
            return attrs.evolve(state, properties=properties)
        case CredentialIssued(credential, _):
            return attrs.evolve(state, credentials=_put(state.credentials, credential.fingerprint, credential))
        case MembershipPublished(friendly_name):
            member = Member(envelope.author, friendly_name, envelope.credential)
            return attrs.evolve(state, members=_put(state.members, envelope.author, member))
        case IdentityRetired(peer_name, _, _):
            earliest = min(envelope.at, state.retired.get(peer_name, envelope.at))
            return attrs.evolve(state, retired=_put(state.retired, peer_name, earliest))
