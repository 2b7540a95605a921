"""The context an envelope cites: what its author had seen of the chains that bear on its
authority (``Envelope.context``).

Which credential an author holds, and whether a demotion came before or after what it did,
is a question of what each side had seen, not of the times they chose to write. So each
envelope cites, for every author whose credential events bear on it, how far it had seen
that author's chain: the issuers of its author's delivered credentials, and for a
credential it issues, the issuers of its subject's and the subject's own chain. Credential
events are few and written by few, so the context stays small however large the group.
An envelope written before envelopes cited anything (``context`` None) is judged in the
context of its own chain alone.
"""

from __future__ import annotations

from datetime import datetime

from peerstate.bounds import MAX_CONTEXT
from peerstate.domain.group_events import Credential, CredentialIssued, Envelope, Seen, SharedEvent
from peerstate.domain.group_state import GroupState


def context_for(group: GroupState, author: str, payload: SharedEvent) -> tuple[Seen, ...]:
    """What an envelope ``author`` writes now with ``payload`` cites, as far as ``group``
    holds each chain: the issuers of the credentials delivered to ``author`` and, for a
    credential it issues, to its subject, and that subject's own chain; never ``author``'s
    own, which ``prev`` cites. Past ``MAX_CONTEXT``, the issuers that delivered last."""
    subjects = {author, payload.credential.subject} if isinstance(payload, CredentialIssued) else {author}
    issued_last: dict[str, datetime] = {}
    for subject in subjects:
        for fingerprint in group.delivered_to.get(subject, ()):
            for place in group.places[fingerprint]:
                if place.author != author:
                    issued_last[place.author] = max(place.at, issued_last.get(place.author, place.at))
    places = {subject: head.seq for subject in subjects - {author} if (head := group.heads.get(subject)) is not None}
    for issuer in sorted(issued_last, key=lambda issuer: (issued_last[issuer], issuer), reverse=True):
        if len(places) == MAX_CONTEXT:
            break
        places.setdefault(issuer, group.heads[issuer].seq)
    return tuple(Seen(cited, seq) for cited, seq in sorted(places.items()))


def in_context(envelope: Envelope, author: str, seq: int) -> bool:
    """Whether the envelope ``author`` wrote at ``seq`` is in ``envelope``'s context: before
    it in its own chain, or in a chain it cites as far as it cites it."""
    if author == envelope.author:
        return seq < envelope.seq
    return any(seen.author == author and seen.seq >= seq for seen in envelope.context or ())


def credential_in_context(group: GroupState, envelope: Envelope, identity: str) -> Credential | None:
    """``identity``'s credential in force as ``envelope``'s author had seen them: of its
    credentials delivered in the envelope's context, the one none of the others supersedes
    (``GroupState.in_force``); None when it had seen none."""
    seen = tuple(
        fingerprint for fingerprint in group.delivered_to.get(identity, ())
        if any(in_context(envelope, place.author, place.seq) for place in group.places[fingerprint])
    )
    return group.in_force(seen)
