"""When a refused envelope cuts its sender off: one rule, for every transport.

A sender is an authenticated member, and what it sends is either its own or relayed: an
honest member forwards what its replica accepted. So a refusal says something about the
sender only when no honest replica could have accepted the envelope, whatever it knew: a
signature that does not verify, a field malformed or too large, a certificate that does
not say what its fields say, attributes off the schema, an envelope no conversation of
this group carries. Those cut the sender off: the conversation ends there, the rest of its
batch unjudged. A refusal for what this replica lacks or holds (a gap in the author's
chain, a credential or a founding it has not seen yet, a permission its state decides)
may come from an honest relay that knows more or less than this replica: it never cuts
anyone off.

A refusal that does not cut the sender off may still be final. An envelope waits instead
(``waits``) when the data it lacks may yet come: a founding not seen, a credential not
seen, a gap before it in its author's chain, a place its context cites not seen; or when
it is dated past this replica's peer time, until that time comes. Every other refusal is
final, those of
``NEEDS_CONTEXT`` included: a second founding, a credential seen but not the author's or not
valid at the envelope's time, a place in the chain already taken (a replay or a fork) stay
so whatever comes later; ``caller_is_creator`` and ``fixed_properties_unchanged`` read
the creator and the fixed properties, which the founding sets once and no envelope
changes, and an envelope reaches them only after the founding; ``chain_not_circular``
reads an issuer's chain through credentials that are only ever added, so a subject found
in it stays there.

The envelope rules are sorted into the two sets by what their verdict reads: the envelope
alone, with the author's credential that its fingerprint names (so every replica that
judges it at all judges it alike), or the receiver's group state. A test holds every rule
that can refuse an envelope to exactly one of them.
"""

from __future__ import annotations

from typing import Final

from peerstate.domain.group_events import CredentialTaken, Envelope, GroupCreated
from peerstate.domain.group_state import GroupState
from peerstate.errors import PeerError

CUTS_OFF: Final = frozenset({
    "envelope_is_for_group",  # an envelope of another group, in this group's conversation
    "signature_verifies",
    "genesis_names_its_creator",  # a founding that contradicts itself
    "credential_within_issuer",  # a credential beyond what the author's own credential gives
    "chain_has_room",
    "may_grant_roles",
    "taken_chain_is_whole",  # the chain taken up is carried whole in the envelope
    "record_type_not_reserved",
    "record_is_well_formed",
    "record_fits",
    "modifier_may_touch",  # the record against its author's credential: alike everywhere
    "record_within_credential",
    "root_is_the_groups",
    "credential_matches_certificate",
    "retirement_is_signed_by_identity",
    "attributes_are_well_formed",
    "envelope_within_bounds",  # a field past its bound (peerstate.bounds): no peer's decoder takes it
    "peer_name_is_well_formed",  # a name, a text or a property no call writes, as the API checks it
    "classifier_is_valid",
    "friendly_name_is_valid",
    "text_is_printable",
    "properties_in_range",
    "password_settings_complete",
    "verifier_cost_is_bounded",
    "verifier_is_one_scheme",
    "context_is_well_formed",  # a context out of order, repeated, or citing its own chain
})
"""The rules whose refusal cuts the sender off: their verdict reads only the envelope and the
author's credential it names, so no replica that could judge the envelope accepted it, and
no honest member relays it."""

NEEDS_CONTEXT: Final = frozenset({
    "genesis_comes_first",  # a founding missing here, or a second one
    "author_holds_credential",  # a credential, or an author, this replica does not know (yet)
    "author_chain_continues",  # a gap, a reordering or a fork: which one depends on the heads here
    "author_has_not_forked",  # a fork this replica knows of, and a relay may not yet
    "caller_is_creator",  # read against the group's properties as this replica holds them
    "fixed_properties_unchanged",
    "chain_not_circular",  # read along the credentials this replica holds
    "envelope_time_reached",  # read against this replica's peer time
    "context_is_here",  # a place cited that this replica has not seen yet
    "credential_in_force_in_context",  # read along the credentials' deliveries held here
    "presence_within_credential",  # a relay of software written before it may honestly send one
    "envelope_time_follows_context",  # read against the chain and the credentials held here
    "issuer_within_rank",  # read along the subject's credentials held here; older software issues past it
})
"""The rules whose refusal never cuts anyone off: their verdict reads this replica's group
state, so an honest relay that knows more, or less, may send what they refuse."""


def cuts_off(refusal: PeerError) -> bool:
    """Whether ``refusal``, of an envelope a sender sent, cuts that sender off. Every rule
    that judges envelopes is in one of the two sets; a refusal under any other name (or none)
    is a rule added without deciding this, an ``AssertionError``."""
    if refusal.rule in CUTS_OFF:
        return True
    if refusal.rule in NEEDS_CONTEXT:
        return False
    raise AssertionError(f"no one decided whether a refusal by {refusal.rule} cuts its sender off: {refusal}")


WAITS_FOR_DATA: Final = frozenset({"genesis_comes_first", "author_holds_credential", "author_chain_continues", "context_is_here"})
"""The rules of ``NEEDS_CONTEXT`` whose refusal may be undone by data still to come; which
of their refusals are (``waits``)."""

WAITS_FOR_TIME: Final = "envelope_time_reached"
"""The rule of ``NEEDS_CONTEXT`` whose refusal time undoes: every one of its refusals waits.
Not data a neighbour holds, so what waits for it does not keep a joiner from being
synchronized (``offered_data_is_whole``)."""


def waits(rule: str, group: GroupState, envelope: Envelope) -> bool:
    """Whether ``envelope``, which ``rule`` refused on ``group``, waits for data this
    replica lacks rather than being refused for good: the founding, before it is here; a
    credential the envelope names and does not carry, before it is here; the envelopes
    before it in its author's chain, while there is a gap. A refusal of these rules for
    anything else (a second founding, a credential held but not the author's or not valid
    then, a place in the chain already taken) is final. An envelope dated past the
    receiver's peer time waits for its time."""
    if rule in (WAITS_FOR_TIME, "context_is_here"):  # every refusal of these waits: for its time, for a place cited
        return True
    if rule not in WAITS_FOR_DATA:
        return False
    if rule == "genesis_comes_first":
        return not group.founded
    if rule == "author_holds_credential":
        payload = envelope.payload
        carried = isinstance(payload, GroupCreated) or (  # a founding carries its credential, or has none
            isinstance(payload, CredentialTaken) and bool(payload.chain) and payload.chain[-1].fingerprint == envelope.credential
        )
        return not carried and envelope.credential not in group.credentials
    head = group.heads.get(envelope.author)
    return envelope.seq > (head.seq if head is not None else 0) + 1


def wakes(waiting: Envelope, accepted: Envelope, before: GroupState, after: GroupState) -> bool:
    """Whether accepting ``accepted``, which took the group from ``before`` to ``after``,
    could change the verdict on ``waiting``: it founded the group, it is the envelope before
    ``waiting`` in its author's chain, it brought the credential ``waiting`` names, or it is
    a place ``waiting``'s context cites. Each waiting envelope is so judged again at most
    three times and once per place it cites, however many are accepted."""
    return (
        (not before.founded and after.founded)
        or (waiting.author == accepted.author and waiting.seq == accepted.seq + 1)
        or (waiting.credential in after.credentials and waiting.credential not in before.credentials)
        or any(seen.author == accepted.author and seen.seq == accepted.seq for seen in waiting.context or ())
    )
