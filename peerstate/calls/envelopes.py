"""Writing envelopes: what a call publishes in a group log, signed by its author and admitted
by the same rules as an envelope received from another peer; and the credentials and chains
they carry, as the log keeps them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from peerstate.calls.runtime import Runtime
from peerstate.sync.port import ReplicaKey
from peerstate.crypto import credentials
from peerstate.domain import rules
from peerstate.domain.context import context_for
from peerstate.domain.group_events import Credential, CredentialTaken, Envelope, EnvelopeAccepted, SharedEvent
from peerstate.domain.group_state import GroupState
from peerstate.domain.state import IdentityRecord
from peerstate.storage.logs import ReplicaLog
from peerstate.sync import admission


def write(
    runtime: Runtime, log: ReplicaLog, author: IdentityRecord, credential: bytes, payload: SharedEvent, now: datetime,
) -> EnvelopeAccepted:
    """A new envelope by ``author``, citing what it has seen (``domain.context``), signed and
    admitted by the same rules as a received one."""
    group = log.state.group
    head = group.heads.get(author.peer_name)
    envelope = Envelope(
        log.group, author.peer_name, credential, (head.seq if head else 0) + 1,
        head.last if head else b"", now, payload, b"", context_for(group, author.peer_name, payload),
    )
    envelope = attrs.evolve(
        envelope, signature=credentials.sign(runtime.identity_key(author), admission.signed_part(envelope))
    )
    try:
        admission.admit(group, envelope)
    except admission.Refused as refusal:
        raise refusal.error from None
    return EnvelopeAccepted(envelope, admission.envelope_id(envelope), "local", now)


def publish(runtime: Runtime, log: ReplicaLog, author: IdentityRecord, payload: SharedEvent, now: datetime) -> EnvelopeAccepted:
    """Write an envelope under the author's credential in force (for a credential taken up,
    that credential itself) and record it on ``log`` at once, so that the next envelope of
    the same decision follows it."""
    if isinstance(payload, CredentialTaken):
        fingerprint = payload.chain[-1].fingerprint
    else:
        fingerprint = rules.caller_holds_credential(log.state.group, author.peer_name, now).fingerprint
    accepted = write(runtime, log, author, fingerprint, payload, now)
    log.record(accepted)
    return accepted


def as_credential(der: bytes, issuer: Credential | None) -> Credential:
    """A certificate as the log keeps it: its fields, its issuer and its place in the chain."""
    parsed = credentials.read_membership(der)
    return Credential(
        parsed.fingerprint, der, parsed.subject, parsed.subject_friendly_name, parsed.public_key,
        parsed.roles, parsed.not_before, parsed.not_after,
        issuer.fingerprint if issuer else None, issuer.chain_length + 1 if issuer else 1,
    )


def links(chain: Sequence[bytes]) -> tuple[Credential, ...]:
    """The GMCs of a chain (the group root's certificate first) as the log keeps them."""
    found: list[Credential] = []
    for der in chain[1:]:
        found.append(as_credential(der, found[-1] if found else None))
    return tuple(found)


def chain(group: GroupState, credential: Credential) -> tuple[bytes, ...]:
    """The root certificate and the credential's chain up to it, root side first."""
    assert group.root is not None  # a credential exists only in a founded group
    return (group.root, *(link.der for link in group.chain_of(credential)))


def accepted(runtime: Runtime, key: ReplicaKey) -> list[Envelope]:
    """The replica's accepted envelopes, read from the store once if it was opened from a
    snapshot (which leaves them out)."""
    log = runtime.replica(*key)
    if log.accepted is None:
        log.accepted = runtime.store.accepted_envelopes(log)
    return log.accepted
