"""The command line: ``python -m examples.team_chat --data DIR COMMAND ...``.

Every command opens the stores it needs, makes its calls and closes them, as separate
processes of a real service would; peerstate keeps everything else in the stores. A
refused call prints one line with its HRESULT name and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from peerstate import PeerError

from examples.team_chat import chat
from examples.team_chat.users import AppError, open_user, users_dir

ROLE_WORDS = {chat.ADMIN: "admin", chat.MEMBER: "member", "PEER_GROUP_ROLE_INVITING_MEMBER": "inviting member"}


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _create_team(args: argparse.Namespace) -> int:
    with open_user(args.data, args.user, create=True) as user:
        group = chat.create_team(user, args.team)
    print(f"{args.user} created team {args.team} ({group}) as its administrator")
    return 0


def _invite(args: argparse.Namespace) -> int:
    # In this demo every machine's store is at hand, so the invitee's public identity card
    # is read from it (made on first use); really, the invitee would send it.
    with open_user(args.data, args.invitee, create=True) as invitee:
        card = invitee.peer.identity_xml(invitee.identity)
    with open_user(args.data, args.user) as user:
        invitation = chat.invite(user, args.team, card, admin=args.admin)
    out: Path = args.out or args.data / "invitations" / f"{args.team}-{args.invitee}.xml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(invitation, encoding="utf-8")
    print(f"{args.user} invited {args.invitee} to {args.team} as {'admin' if args.admin else 'member'}: {out}")
    return 0


def _join(args: argparse.Namespace) -> int:
    invitation = args.invitation.read_text(encoding="utf-8")
    with open_user(args.data, args.user, create=True) as user:
        team = chat.join(user, invitation)
    print(f"{args.user} joined {team}; a sync makes it a member")
    return 0


def _sync(args: argparse.Namespace) -> int:
    for name, team, state in chat.sync_all(args.data):
        print(f"{name}: {team}: {state}")
    return 0


def _post(args: argparse.Namespace) -> int:
    with open_user(args.data, args.user) as user:
        chat.post(user, args.team, args.text)
    print(f"{args.user} posted to {args.team}")
    return 0


def _messages(args: argparse.Namespace) -> int:
    with open_user(args.data, args.user) as user:
        for message in chat.messages(user, args.team):
            print(f"[{_when(message.at)}] {message.author}: {message.text}")
    return 0


def _members(args: argparse.Namespace) -> int:
    with open_user(args.data, args.user) as user:
        lines = chat.members(user, args.team)
    for line in lines:
        roles = ", ".join(ROLE_WORDS.get(role, role) for role in line.roles) or "no role"
        standing = [word for word, holds in (("present", line.present), ("expired", not line.in_force), ("deleted", line.deleted)) if holds]
        print(f"{line.friendly_name:<12} {roles:<8} {' '.join(standing)}".rstrip())
    if not lines:
        print(f"{args.user} knows no members of {args.team} yet: run sync")
    return 0


def _audit(args: argparse.Namespace) -> int:
    report = chat.audit(args.data)
    if not report.stores:
        print(f"error: no store under {users_dir(args.data)}", file=sys.stderr)
        return 2
    for finding in report.findings:
        print(f"FINDING {finding}")
    print(f"{report.stores} store(s) verified: {len(report.findings)} finding(s)")
    for group, (teller, entries) in sorted(report.histories.items()):
        print(f"== {group}, as {teller}'s replica tells it")
        for entry in entries:
            refused = f"  REFUSED {entry.refused}" if entry.refused else ""
            print(f"{_when(entry.at)}  {entry.author} #{entry.seq}  {entry.event}: {entry.effect}{refused}")
    return 1 if report.findings else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m examples.team_chat", description="A team chat on peerstate.")
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help="where every user's store lives")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], summary: str, *arguments: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=summary)
        for argument in arguments:
            sub.add_argument(argument)
        sub.set_defaults(run=run)
        return sub

    command("create-team", _create_team, "make a team; its creator is its administrator", "user", "team")
    invite = command("invite", _invite, "write a credential invitation for INVITEE", "user", "team", "invitee")
    invite.add_argument("--admin", action="store_true", help="invite as an administrator")
    invite.add_argument("--out", type=Path, metavar="FILE", help="default: DIR/invitations/TEAM-INVITEE.xml")
    command("join", _join, "take an invitation up", "user").add_argument("invitation", type=Path)
    command("sync", _sync, "let every user's peer meet the others")
    command("post", _post, "post a message to a team", "user", "team", "text")
    command("messages", _messages, "a team's messages, oldest first", "user", "team")
    command("members", _members, "a team's members and their roles", "user", "team")
    command("audit", _audit, "verify every store, then tell who did what")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status: 0 done, 1 refused or a finding, 2 bad usage."""
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except PeerError as error:  # "PEER_E_NOT_AUTHORIZED (0x80632020): why"
        print(f"error: {error}", file=sys.stderr)
    except (AppError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
    return 1
