"""Every bound on what another peer or a store file can make this one hold or do: sizes,
counts and ranges, each a named constant, in one table (``docs/security.md`` gives each its
reason, and a test checks that the two agree).

A bound is checked where the bytes arrive, before they are parsed or stored, so that what a
hostile peer sends costs this one at most what the table allows.
"""

from __future__ import annotations

from typing import Final

MAX_HANDSHAKE_BYTES: Final = 128 * 1024
"""A message before the connector has proven its key (hello, challenge, proof, refusal): an
IDC and a chain of at most ``MAX_CHAIN_LENGTH`` GMCs, with room to spare."""

MAX_BATCH_BYTES: Final = 1024 * 1024
"""What one batch of envelopes carries, unless a single envelope is larger."""

MAX_FRAME_BYTES: Final = 2 * 1024 * 1024
"""A message once the connector is authenticated: the largest legal envelope (a record of
``MAX_RECORD_SIZE`` is about 1.4 MB once encoded) with a margin."""

MAX_BATCH_ENVELOPES: Final = 2048
"""Envelopes in one batch: an honest batch of ``MAX_BATCH_BYTES`` holds fewer, since the
smallest envelope carries a signature and its author's names."""

MAX_KEPT_REFUSALS: Final = 16
"""Refused envelopes kept whole per sender (the identity it authenticated as) on one replica,
for the audit; past them a sender's refusals are only counted, a small event per batch. At
most this many of the largest envelopes (``MAX_FRAME_BYTES``) per member, whatever it sends."""

MAX_CUT_OFFS: Final = 8
"""Times a sender (the identity it authenticated as) may be cut off by one replica
(``sync.cutting``) before that replica refuses its hellos: each cut-off is a refusal no
honest member causes, and each reconnection costs the replica a count in its log."""
