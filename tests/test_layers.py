"""The pure domain stays pure: ``docs/architecture.md``'s layering (README's Layout until it exists), checked on the source, not trusted."""

from __future__ import annotations

import ast
from pathlib import Path

import peerstate

DOMAIN = Path(peerstate.__file__).parent / "domain"
ALLOWED = {"peerstate.errors", "peerstate.names", "peerstate.constants", "peerstate.registry", "peerstate.bounds"}
"""Outside ``domain/``, only plain values: HRESULTs, names, the header's enums and the bounds."""
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


LAYERS: tuple[frozenset[str], ...] = tuple(frozenset(layer.split()) for layer in (
    "errors names constants bulk registry bounds",
    "domain",
    "wire",
    "crypto",
    "documents",
    "storage",
    "sync",
    "calls",
    "peer",
    "winapi network",
    "audit history views changes",
    "scenario cli pytest_plugin bench __init__ __main__",
))
"""``docs/architecture.md``'s layers, lowest first: a module imports only from its own layer
and the ones below it, so that data flows one way and ``sync`` reaches a peer only through
``SyncPort``."""


def _layer(module: str) -> int:
    """The place in ``LAYERS`` of ``peerstate.X...`` (a module or a package)."""
    name = module.split(".")[1] if "." in module else "__init__"
    return next(index for index, layer in enumerate(LAYERS) if name in layer)


def _peerstate_imports(path: Path) -> set[str]:
    """The peerstate modules a source imports, ``from peerstate import x`` as ``peerstate.x``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "peerstate":
            found.update(f"peerstate.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("peerstate."):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("peerstate."))
    return found


def test_every_module_imports_only_from_its_layer_and_below() -> None:
    package = Path(peerstate.__file__).parent
    upward = []
    for source in sorted(package.rglob("*.py")):
        parts = source.relative_to(package).with_suffix("").parts
        own = _layer("peerstate." + parts[0])
        for module in sorted(_peerstate_imports(source)):
            if _layer(module) > own:
                upward.append(f"{source.relative_to(package)} imports {module}")
    assert not upward, upward


def test_the_layer_check_sees_an_upward_import(tmp_path: Path) -> None:
    source = tmp_path / "x.py"
    source.write_text("from peerstate.calls import groups\nfrom peerstate import wire, peer\nimport peerstate.sync.port\n")
    assert _peerstate_imports(source) == {"peerstate.calls", "peerstate.wire", "peerstate.peer", "peerstate.sync.port"}
    assert _layer("peerstate.calls") > _layer("peerstate.sync") > _layer("peerstate.storage") > _layer("peerstate.domain")
