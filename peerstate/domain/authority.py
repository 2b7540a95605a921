"""A demotion wins over what it did not see: which envelopes have no effect for a
credential of their author's delivered concurrently with them (``ActionsVoided``).

An envelope's author may cite an old context on purpose, to act under a credential that a
demotion it knew of superseded: ``rules.credential_in_force_in_context`` judges only what
the envelope says it had seen. So the demotion's own context decides (Keybase's rule, and
what Matrix's soft failure reaches): an envelope that needs a role a credential of its
author's does not give, where neither had seen the other, has no effect. It stays in its
author's chain, so what follows it still follows; what the demoter had seen stands. The
price: an honest action concurrent with a demotion (a partitioned administrator's) is
voided too, and only the demoted member's ever are.
"""

from __future__ import annotations

from collections.abc import Iterable

from peerstate.domain.context import in_context
from peerstate.domain.group_events import DELIVERED_BY_LOG, Credential, CredentialIssued, Envelope
from peerstate.domain.group_state import GroupState, Place
from peerstate.domain.rank import issues_within_rank
from peerstate.domain.rules import payload_is_permitted
from peerstate.errors import PeerError


def voiding_credential(group: GroupState, envelope: Envelope) -> bytes | None:
    """The credential of the envelope's author (by fingerprint), delivered concurrently with
    it, under which what it does would not be permitted; None when there is none, and for
    an envelope whose credential it delivers itself (a founding, a chain taken up). A
    credential issued by an envelope without effect counts too (``voided_deliveries``)."""
    if envelope.credential not in group.places:
        return None
    for credential in issued_to(group, envelope.author):
        if credential.fingerprint != envelope.credential and voids(group, credential, envelope):
            return credential.fingerprint
    return None


def issued_to(group: GroupState, identity: str) -> tuple[Credential, ...]:
    """Every credential delivered to ``identity``, whether its delivery took effect or was
    itself voided (``voided_deliveries``): what may void what it does."""
    delivered = tuple(group.credentials[fingerprint] for fingerprint in group.delivered_to.get(identity, ()))
    return (*delivered, *group.voided_deliveries.get(identity, ()))


def voided_by(group: GroupState, credential: Credential, accepted: Iterable[tuple[Envelope, bytes]]) -> tuple[bytes, ...]:
    """The ids of the envelopes among ``accepted`` (each with its id) that ``credential``,
    just delivered (whether or not its delivery took effect), voids: its subject's, not
    voided yet, concurrent with a delivery of it, and not permitted under it."""
    return tuple(
        envelope_id for envelope, envelope_id in accepted
        if envelope.author == credential.subject and envelope_id not in group.voided and envelope.credential != credential.fingerprint
        and envelope.credential in group.places and voids(group, credential, envelope)
    )


def delivered_by(envelope: Envelope) -> Credential | None:
    """The credential that ``envelope`` issues to another and stores in the log, if any:
    what may void what its subject did concurrently. One a member takes up itself never
    does: its own chain had seen all it did before."""
    payload = envelope.payload
    if isinstance(payload, CredentialIssued) and payload.delivery in DELIVERED_BY_LOG:
        return payload.credential
    return None


def unseen_by(group: GroupState, credential: Credential) -> bool:
    """Whether a delivery of ``credential`` may not have seen all its subject's chain, so
    that some of its subject's envelopes may be concurrent with it: what spares a look at
    the accepted envelopes for every credential delivered (most see all of their subject's
    chain, or there is none)."""
    head = group.heads.get(credential.subject)
    places = group.places.get(credential.fingerprint, ())
    return head is not None and not all(_saw(place, credential.subject, head.seq) for place in places)


def voids(group: GroupState, credential: Credential, envelope: Envelope) -> bool:
    """Whether ``credential`` was delivered concurrently with ``envelope``, by an issuer no
    farther from the root than the credential ``envelope`` names (``issues_within_rank``),
    and what ``envelope`` does is not permitted under it. Rank makes two administrators who
    demote each other at once end alike in any order: the nearer one's demotion stands."""
    named = group.credentials.get(envelope.credential)
    if named is not None and not issues_within_rank(credential, named):
        return False
    if not any(_concurrent(place, envelope) for place in group.places.get(credential.fingerprint, ())):
        return False
    try:
        payload_is_permitted(group, envelope, credential)
    except PeerError:
        return True
    return False


def _concurrent(place: Place, envelope: Envelope) -> bool:
    """Whether a delivery and an envelope had not seen each other. Both written before
    contexts: never, as peerstate judged them then."""
    if place.context is None and envelope.context is None:
        return False
    return not in_context(envelope, place.author, place.seq) and not _saw(place, envelope.author, envelope.seq)


def _saw(place: Place, author: str, seq: int) -> bool:
    """Whether a delivery had seen ``author``'s envelope at ``seq``."""
    if place.author == author:
        return place.seq > seq
    return any(seen.author == author and seen.seq >= seq for seen in place.context or ())
