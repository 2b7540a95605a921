"""The pure domain stays pure: ``docs/architecture.md``'s layering (README's Layout until it exists), checked on the source, not trusted."""

from __future__ import annotations

import ast
from pathlib import Path

import peerstate

DOMAIN = Path(peerstate.__file__).parent / "domain"
ALLOWED = {"peerstate.errors", "peerstate.names", "peerstate.constants"}
"""Outside ``domain/``, only plain values: HRESULTs, names and the header's enums."""
IMPURE = {"os", "io", "time", "random", "secrets", "socket", "sqlite3", "eventsourcing", "cryptography", "pathlib"}
"""No I/O, no clock, no randomness, no storage and no crypto of its own."""


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module)
    return found


def test_the_domain_imports_only_the_domain_and_plain_values() -> None:
    sources = sorted(DOMAIN.glob("*.py"))
    assert len(sources) >= 5
    for source in sources:
        for module in _imports(source):
            if module.startswith("peerstate."):
                assert module.startswith("peerstate.domain") or module in ALLOWED, f"{source.name} imports {module}"
            assert module.split(".")[0] not in IMPURE, f"{source.name} imports {module}"


def test_the_check_sees_an_import_it_forbids(tmp_path: Path) -> None:
    impure = tmp_path / "impure.py"
    impure.write_text("import os\nfrom peerstate.storage.peer_store import PeerStore\nfrom .x import y\n")
    assert _imports(impure) == {"os", "peerstate.storage.peer_store"}
