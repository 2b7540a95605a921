"""Every check a command must pass, one function per rule, named after what it checks.

A rule either returns what the command needs next or raises the ``PeerError`` that Windows
documents for that case; it never changes anything, so a refused command leaves no trace.
"""

from __future__ import annotations

from collections.abc import Collection

from peerstate.domain.state import IdentityRecord, IdentityStoreState
from peerstate.errors import AlreadyExists, NotFound, peer_error


def identity_is_live(state: IdentityStoreState, peer_name: str) -> IdentityRecord:
    """The identity must be on this peer and not deleted (``PEER_E_NOT_FOUND``)."""
    record = state.identities.get(peer_name)
    if record is None:
        raise NotFound(f"there is no identity {peer_name!r} on this peer")
    if not record.live:
        raise NotFound(f"the identity {peer_name!r} was deleted from this peer")
    return record


def identity_is_new(state: IdentityStoreState, peer_name: str) -> None:
    """A created or imported identity must not already be live here (``PEER_E_ALREADY_EXISTS``)."""
    if state.live(peer_name) is not None:
        raise AlreadyExists(f"the identity {peer_name!r} is already on this peer")


def identity_has_no_groups(peer_name: str, groups: Collection[str]) -> None:
    """An identity that still has groups on this peer cannot be deleted (``PEER_E_GROUPS_EXIST``)."""
    if groups:
        raise peer_error(
            "PEER_E_GROUPS_EXIST",
            f"the identity {peer_name!r} still has {len(groups)} group(s) here: "
            f"delete {', '.join(sorted(groups))} first",
        )

