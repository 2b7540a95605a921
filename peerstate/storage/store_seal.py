"""A store's seal: what lets an open with the passphrase notice rows edited, added or removed
by someone without it, at a cost that does not grow with the logs.

Every log's rows are hash-chained (``logs.chain_link``) and every commit adds an entry to
the commit ledger, but hashes are no secret: whoever can write the rows can recompute
them. A sealed store's ledger entries (``CommitLedger.Sealed``) carry a MAC, under a key
derived from the passphrase (``crypto.store_seal_key``), of the entry's place, link and
the heads it names, and of the head (last version and link) of every log after that
commit; and each replica-log
snapshot has a MAC of its row, kept in the store's values. An open with the passphrase
checks the last entry's MAC against every log's last row, then each log it reads: its
snapshot's MAC, and the chain of the rows since, which must end at the sealed head. It
reads no more than an open without the check: the last row of each log, the snapshot and
the rows since.

What a seal cannot tell is in ``docs/security.md``: a store put back whole to an older
copy, or its newest commits removed whole, is a store as it once was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, cast
from uuid import UUID

from peerstate import crypto, wire
from peerstate.registry import Refusal, rule
from peerstate.storage.logs import CommitLedger, LogHead, chain_link

LOGS: Final = "logs"
"""The store's value that lists its logs (``local_values``): the heads a seal covers. A log
taken off the list, or added to it, changes what the seal is checked against."""


def snapshot_value_name(log_id: UUID, version: int) -> str:
    """The store's value that keeps the MAC of a log's snapshot of ``version``."""
    return f"snapshot seal {log_id} {version}"


def entry_seal(key: bytes, version: int, link: bytes, written: tuple[LogHead, ...], heads: Mapping[UUID, LogHead]) -> bytes:
    """The MAC of the ledger entry at ``version`` with ``link`` naming the heads it
    ``written``, when every log stands at ``heads``. Its input is packed, not encoded by
    ``wire``: every commit computes one, and each field has one length or says its own."""
    return crypto.store_seal(key, b"".join((
        b"peerstate ledger entry\0", version.to_bytes(8, "big"), _sized(link),
        _packed(written), _packed(heads[log] for log in sorted(heads)),
    )))


def _sized(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _packed(heads: Iterable[LogHead]) -> bytes:
    """Heads as one byte string: each log's id, version and link, the list's length first."""
    parts = [head.log.bytes + head.version.to_bytes(8, "big") + _sized(head.link) for head in heads]
    return len(parts).to_bytes(4, "big") + b"".join(parts)


def snapshot_seal(key: bytes, log_id: UUID, version: int, row: bytes) -> bytes:
    """The MAC of the snapshot row ``row`` of a log at ``version``: a GMAC, since a row can
    be megabytes and an open checks it (``crypto.bulk_seal``; a SHA-256 of the row cost a
    fifth of the open)."""
    return crypto.bulk_seal(key, _snapshot_input(log_id, version, row))


def snapshot_seal_holds(key: bytes, log_id: UUID, version: int, row: bytes, kept: bytes) -> bool:
    """Whether ``kept`` is the ``snapshot_seal`` of that row."""
    return crypto.bulk_seal_holds(key, kept, _snapshot_input(log_id, version, row))


def _snapshot_input(log_id: UUID, version: int, row: bytes) -> bytes:
    return b"".join((b"peerstate snapshot\0", log_id.bytes, version.to_bytes(8, "big"), row))


@rule("PEER_E_INVALID_DATABASE")
def store_is_as_sealed(problem: str | None) -> None:
    """A store opened with its passphrase is served only as its seal says it was last
    written (``PEER_E_INVALID_DATABASE``): a row edited, added or removed since by someone
    without the passphrase, in a log, a snapshot or the commit ledger, is found at the open
    (``storage.store_seal``)."""
    if problem is not None:
        raise Refusal(f"the store was changed outside peerstate since it was last written: {problem}")


class StoreSeal:
    """The seal of one open store: its key, and the head of every log as of the ledger's
    entry ``at``. A commit is sealed with the heads it leaves (``entry``); commits of other
    writers are taken in from their ledger entries (``take_in``), which name the heads
    they wrote."""

    def __init__(self, key: bytes, heads: Mapping[UUID, LogHead], at: int) -> None:
        self.key = key
        self.heads: dict[UUID, LogHead] = dict(heads)
        self.at = at

    def entry(self, version: int, timestamp: datetime, written: tuple[LogHead, ...], previous: bytes) -> tuple[CommitLedger.Sealed, dict[UUID, LogHead]]:
        """The sealed ledger entry of a commit at ``version`` that writes ``written``, after
        ``previous``; and the heads it leaves, which ``committed`` takes once it is stored."""
        link = chain_link(previous, version, timestamp, written)
        after = {**self.heads, **{head.log: head for head in written}}
        entry = cast(Any, CommitLedger.Sealed)(  # built directly: the ledger has no aggregate object
            originator_id=CommitLedger.ID, originator_version=version, timestamp=timestamp, payload=written,
            link=link, seal=entry_seal(self.key, version, link, written, after),
        )
        return entry, after

    def committed(self, version: int, after: dict[UUID, LogHead]) -> None:
        self.heads, self.at = after, version

    def take_in(self, entry: CommitLedger.Recorded) -> None:
        """Another writer's commit, as its ledger entry names it."""
        if entry.originator_version > self.at:
            self.heads.update((head.log, head) for head in entry.payload)
            self.at = entry.originator_version

    def new_logs(self, written: tuple[LogHead, ...]) -> list[UUID]:
        """The logs ``written`` starts, which the store's list of logs must name first."""
        return [head.log for head in written if head.log not in self.heads]

    def logs(self, added: list[UUID]) -> bytes:
        """The store's list of logs (``LOGS``) with ``added``, as its value keeps it."""
        return wire.canonical(tuple(sorted({*map(str, self.heads), *map(str, added)})))
