"""Where each user's peer lives, and how a user and a team are found in it.

The data directory stands for one machine per user: ``DATA/users/<user>/`` is that user's
peerstate store (one SQLite file). A user's identity is made the first time the user is
needed, with the user's name as its friendly name. A team is a group the identity created or
joined, found by its friendly name, because group peer names (``<40 hex digits>.<team>``)
are not something people type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from peerstate import Peer, PeerSettings, PeerStore, open_store
from peerstate.audit import stores_under

USER_NAME: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""User names become directory names and friendly names: keep them plain."""
IDENTITY_CLASSIFIER: Final = "teamchat"


class AppError(Exception):
    """A mistake in the command itself (an unknown user or team), as opposed to a
    ``peerstate.PeerError``, which a peerstate call raised with its HRESULT."""


@dataclass(frozen=True)
class User:
    """A user's peer, opened for one command: its store and the user's identity in it."""

    name: str
    peer: Peer
    store: PeerStore
    identity: str


def users_dir(data: Path) -> Path:
    return data / "users"


def user_names(data: Path) -> list[str]:
    """Every user with a store under ``data``, found as ``peerstate verify`` finds stores."""
    root = users_dir(data)
    return sorted(Path(found).name for found in stores_under(root)) if root.is_dir() else []


@contextmanager
def open_user(data: Path, name: str, *, create: bool = False) -> Iterator[User]:
    """Open ``name``'s peer for the length of a command; with ``create``, make the user's
    store and identity when they do not exist yet (their first use of the app)."""
    if not USER_NAME.fullmatch(name):
        raise AppError(f"{name!r} is not a user name (letters, digits, '-' and '_')")
    where = users_dir(data) / name
    if not create and not where.is_dir():
        raise AppError(f"no user {name!r} in {data}")
    store = open_store(where)
    try:
        # The address is how other peers reach this one: each simulated machine has its own.
        peer = Peer(store, settings=PeerSettings(address=name))
        try:
            yield User(name, peer, store, _identity(peer, name, create))
        finally:
            peer.close()  # drops this process's handles; the store keeps everything else
    finally:
        store.close()


def _identity(peer: Peer, name: str, create: bool) -> str:
    for pair in peer.identities():
        if pair.friendly_name == name:
            return pair.peer_name
    if not create:
        raise AppError(f"user {name!r} has no identity yet")
    return peer.create_identity(IDENTITY_CLASSIFIER, name)


def team_group(user: User, team: str) -> str:
    """The group peer name of the team called ``team`` among the user's groups."""
    found = [pair.peer_name for pair in user.peer.groups(user.identity) if pair.friendly_name == team]
    if not found:
        raise AppError(f"{user.name} is in no team called {team!r}")
    if len(found) > 1:
        raise AppError(f"{user.name} is in {len(found)} teams called {team!r}")
    return found[0]


def open_team(user: User, team: str) -> str:
    """A handle to the user's replica of the team; it lasts until the peer is closed."""
    return user.peer.open_group(user.identity, team_group(user, team))
