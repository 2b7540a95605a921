"""The members of a group as a replica lists them (``PeerGroupEnumMembers``)."""

from __future__ import annotations

import attrs

from peerstate.calls import arguments, envelopes, events
from peerstate.calls.runtime import Runtime
from peerstate.constants import PeerMemberFlags
from peerstate.domain.group_events import Credential


@attrs.frozen
class MemberView:
    """One ``PEER_MEMBER``: a member as this replica sees it. ``issuer_name`` and
    ``issuer_friendly_name`` are the credential's issuer's (the group's, for the creator's
    credential, which the group root issued)."""

    identity: str
    present: bool
    address: str | None
    credential: Credential | None
    issuer_name: str
    issuer_friendly_name: str


def members(runtime: Runtime, handle: object, flags: object, identity: str | None) -> list[MemberView]:
    """The members this replica knows from the published member data, those whose data has
    not lapsed (``GroupState.listed``), after this replica's own identity, which always
    comes first; with ``PEER_MEMBER_PRESENT`` only those present (their presence not
    expired; this one while it listens); with ``identity``, that member only. Identities the
    group log says were deleted are no longer listed."""
    opened, log = runtime.open(handle)
    bits = arguments.argument_is_dword(flags, "dwFlags")
    arguments.flags_zero_or(bits, "dwFlags", PeerMemberFlags.PEER_MEMBER_PRESENT)
    wanted = arguments.argument_is_text(identity, "pwzIdentity", required=False)
    own = opened.replica[0]
    group = log.state.group
    now = runtime.clock()
    others = sorted(group.listed(now) - {own})
    views = []
    for name in [own, *others]:
        member = group.members.get(name)
        present = events.listening(runtime, opened.replica) if name == own else member is not None and member.present(now)
        if (wanted is not None and name != wanted) or (bits and not present):
            continue
        address = runtime.settings.address if name == own else member.presence.address if member and member.presence else None
        credential = group.latest_credential(name)
        if name == own and credential is None and log.state.chain:
            credential = envelopes.links(log.state.chain)[-1]
        issuer = group.credentials.get(credential.issuer) if credential and credential.issuer else None
        properties = group.properties
        views.append(MemberView(
            name, present, address if present else None, credential,
            issuer.subject if issuer else group.group_peer_name,
            issuer.subject_friendly_name if issuer else properties.friendly_name if properties else log.state.friendly_name,
        ))
    return views
