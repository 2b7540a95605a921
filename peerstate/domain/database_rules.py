"""The rules of a group database imported from a file (``PeerGroupImportDatabase``), one
registered rule each (``peerstate.registry``), named after what it checks.

The file is taken whole or not at all: it must be the replica's group's, signed by its
exporter, and every envelope in it must be taken. The signature and admission are
crypto's and sync's; these rules judge what they found.
"""

from __future__ import annotations

from peerstate.domain.group_events import Envelope
from peerstate.registry import Refusal, rule


@rule("PEER_E_GROUP_IN_USE")
def database_imported_before_connect(connected: bool) -> None:
    """A database is imported into a replica before it connects (``PEER_E_GROUP_IN_USE``)."""
    if connected:
        raise Refusal("the group is connected: import its database before PeerGroupConnect")


@rule("PEER_E_INVALID_DATABASE")
def database_is_for_group(file_group: str, group: str) -> None:
    """The file holds the database of the replica's group (``PEER_E_INVALID_DATABASE``)."""
    if file_group != group:
        raise Refusal(f"the file holds the database of {file_group!r}, not of {group!r}")


@rule("PEER_E_INVALID_DATABASE")
def database_envelope_taken(envelope: Envelope, rule: str) -> None:
    """Every envelope of the file is taken, judged on the state the ones before it left
    (``PEER_E_INVALID_DATABASE``): one that ``rule`` refused, or makes wait, refuses the
    file, unless the rule is a fork's verdict (``author_has_not_forked``), which a file
    exported before its exporter met the fork's evidence honestly holds."""
    if rule != "author_has_not_forked":
        raise Refusal(f"envelope {envelope.seq} of {envelope.author!r} is not taken: {rule}")


@rule("PEER_E_INVALID_DATABASE")
def database_signed_by_exporter(signed: bool) -> None:
    """The file is as its exporter signed it, under a credential the file's own envelopes
    give it (``PEER_E_INVALID_DATABASE``)."""
    if not signed:
        raise Refusal("the file is not as its exporter signed it")
