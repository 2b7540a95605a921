"""Rank: a credential's distance from the group root, its chain length (the creator's is 1).

Of two administrators who demote each other at once, each demotion voids the other, so
without rank a rogue one keeps its own demotion void for ever by demoting its demoter each
time. Rank breaks the tie: only an issuer no farther from the root than its subject demotes
it (``rules.issuer_within_rank``) or voids what it did concurrently (``domain.authority``),
and of concurrent credentials the one issued nearest the root is in force
(``GroupState.latest_credential``). The creator is in every chain, so no one can issue it
anything (``rules.chain_not_circular``): it cannot be demoted.
"""

from __future__ import annotations

from peerstate.domain.group_events import Credential


def issues_within_rank(issued: Credential, held: Credential) -> bool:
    """Whether ``issued``'s issuer is no farther from the group root than ``held`` (one
    credential of its subject's) is: the issuer's chain, one link shorter than
    ``issued``'s, no longer than ``held``'s."""
    return issued.chain_length - 1 <= held.chain_length
