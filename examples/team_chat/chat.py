"""What the service does, over peerstate's public API: teams are groups, invitations are
credential invitations, chat messages are records of the group database, and every
user's peer meets the others at ``sync``. Nothing here prints; ``app`` does.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final
from uuid import UUID

from peerstate import Peer, PeerError, open_store
from peerstate.audit import stores_under, verify_store
from peerstate.history import Entry, history
from peerstate.network import synchronize
from peerstate.views import MemberLine, member_lines, replica_as_of

from examples.team_chat.users import AppError, User, open_team, open_user, team_group, user_names, users_dir

CHAT_MESSAGE: Final = UUID("7c3e0f5a-2b1d-4e59-9a64-1f0c5d8e2a17")
"""The record type of a chat message: any GUID the app owns and no other app uses."""
MESSAGE_LIFETIME: Final = timedelta(days=30)
"""Records expire; a chat keeps a month of history."""
ADMIN: Final = "PEER_GROUP_ROLE_ADMIN"
MEMBER: Final = "PEER_GROUP_ROLE_MEMBER"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def create_team(user: User, team: str) -> str:
    """Make the team with ``user`` as its creator and administrator; its group peer name.
    The team name is the group's classifier too, so peerstate checks it
    (``PEER_E_INVALID_CLASSIFIER``)."""
    if any(pair.friendly_name == team for pair in user.peer.groups(user.identity)):
        raise AppError(f"{user.name} already has a team called {team!r}")
    user.peer.create_group(user.identity, team, friendly_name=team)
    return team_group(user, team)


def invite(user: User, team: str, invitee_card: str, *, admin: bool) -> str:
    """A credential invitation for the identity whose public card is ``invitee_card``.
    peerstate decides who may invite: a member gives ``PEER_E_NOT_AUTHORIZED``."""
    return user.peer.create_invitation(open_team(user, team), invitee_card, roles=[ADMIN if admin else MEMBER])


def join(user: User, invitation: str) -> str:
    """Take the invitation up; the user becomes a member at the next sync. The team's name."""
    user.peer.join(user.identity, invitation)
    return user.peer.parse_invitation(invitation).group_friendly_name


def sync_all(data: Path) -> list[tuple[str, str, str]]:
    """Let every user's peer meet the others, in this process, until nothing changes; then
    (user, team, state) for each of their teams."""
    with ExitStack() as opened:
        users = [opened.enter_context(open_user(data, name)) for name in user_names(data)]
        peers: dict[str, Peer] = {}
        for user in users:
            for pair in user.peer.groups(user.identity):
                user.peer.connect(user.peer.open_group(user.identity, pair.peer_name))
            peers[user.name] = user.peer
        synchronize(peers)
        return [
            (user.name, pair.friendly_name, _team_state(user, pair.friendly_name))
            for user in users for pair in user.peer.groups(user.identity)
        ]


def _team_state(user: User, team: str) -> str:
    try:
        return f"{len(members(user, team))} member(s), {len(messages(user, team))} message(s)"
    except PeerError as error:  # a join nobody could answer yet: PEER_E_GROUP_NOT_READY
        return f"not ready: {error.name}"


def post(user: User, team: str, text: str) -> None:
    """Publish a message to every member. Expirations are in the group's peer time."""
    handle = open_team(user, team)
    now = user.peer.universal_to_peer_time(handle, utc_now())
    user.peer.add_record(handle, CHAT_MESSAGE, now + MESSAGE_LIFETIME, data=text.encode())


@dataclass(frozen=True)
class Message:
    at: datetime
    author: str
    text: str


def messages(user: User, team: str) -> list[Message]:
    """The team's live messages, oldest first, each author by the name the team knows."""
    handle = open_team(user, team)
    held = user.peer.records(handle, CHAT_MESSAGE)  # PEER_E_GROUP_NOT_READY before the first sync
    names = {line.identity: line.friendly_name for line in members(user, team)}
    return [
        Message(version.record.created, names.get(version.record.creator, version.record.creator),
                version.record.data.decode(errors="replace"))
        for version in held
    ]


def members(user: User, team: str) -> list[MemberLine]:
    """Everyone the user's replica knows acted in the team, with roles and standing now, by
    name (peerstate lists them by peer name, whose authority is a hash: no order for people)."""
    group = team_group(user, team)
    state, _ = replica_as_of(group, user.store.replica_events(user.identity, group))
    return sorted(member_lines(state.group, utc_now()), key=lambda line: (line.friendly_name, line.identity))


@dataclass(frozen=True)
class Audit:
    """What ``audit`` found (one line per finding), and the history of each group."""

    stores: int
    findings: list[str]
    histories: dict[str, tuple[str, list[Entry]]]


def audit(data: Path) -> Audit:
    """Verify every store under ``data``; when all hold, tell each team's history from the
    replica that holds the most of it. A store that fails verification tells no history:
    its rows are not what peerstate wrote, so nothing they say can be trusted."""
    stores = list(stores_under(users_dir(data))) if users_dir(data).is_dir() else []
    findings: list[str] = []
    histories: dict[str, tuple[str, list[Entry]]] = {}
    for path in stores:
        store = open_store(path)
        try:
            verification = verify_store(store)
            findings.extend(f"{Path(path).name}: {finding}" for finding in verification.findings)
            if verification.findings:
                continue
            for identity, group in store.replica_keys():
                entries = [entry for entry in history(identity, group, store.replica_events(identity, group)) if entry.author]
                if len(entries) > len(histories.get(group, ("", []))[1]):
                    histories[group] = (Path(path).name, entries)
        finally:
            store.close()
    return Audit(len(stores), findings, {} if findings else histories)
