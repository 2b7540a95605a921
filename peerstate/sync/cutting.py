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

The envelope rules are sorted into the two sets by what their verdict reads: the envelope
alone, with the author's credential that its fingerprint names (so every replica that
judges it at all judges it alike), or the receiver's group state. A test holds every rule
that can refuse an envelope to exactly one of them.
"""

from __future__ import annotations

from typing import Final

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
})
"""The rules whose refusal cuts the sender off: their verdict reads only the envelope and the
author's credential it names, so no replica that could judge the envelope accepted it, and
no honest member relays it."""

NEEDS_CONTEXT: Final = frozenset({
    "genesis_comes_first",  # a founding missing here, or a second one
    "author_holds_credential",  # a credential, or an author, this replica does not know (yet)
    "author_chain_continues",  # a gap, a reordering or a fork: which one depends on the heads here
    "caller_is_creator",  # read against the group's properties as this replica holds them
    "fixed_properties_unchanged",
    "chain_not_circular",  # read along the credentials this replica holds
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
