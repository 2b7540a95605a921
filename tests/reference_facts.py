"""The facts of the Windows APIs that tests check peerstate against, read from
``tests/facts/windows-p2p.json``.

That file was copied once from the research notes on ``p2p.h`` and names a source for every
item; it is never generated from ``peerstate/errors.py`` or ``peerstate/constants.py``, so a
test that compares the code with it can fail. The repository carries it so that a clone with
nothing beside it can run its own tests.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

FACTS = Path(__file__).resolve().parent / "facts" / "windows-p2p.json"


@cache
def _facts() -> dict[str, Any]:
    facts: dict[str, Any] = json.loads(FACTS.read_text(encoding="utf-8"))
    return facts


def items(kind: str) -> list[dict[str, Any]]:
    """Every item of one list of the file (``hresults``, ``constants``, ``roles``, ``functions``)."""
    found: list[dict[str, Any]] = _facts()[kind]
    return found


def sources() -> dict[str, str]:
    """Short source name (``[SDKH]``, ``[API:x]``, ...) -> what that source is."""
    named: dict[str, str] = _facts()["sources"]
    return named


def cited(source: str) -> list[str]:
    """The short names an item's ``source`` cites, as ``sources`` lists them (``[API:peergroupjoin]``
    is an ``[API:x]``, ``[PPSEC 2.2.5.3]`` a ``[PPSEC §n]``)."""
    names = re.findall(r"\[([A-Z0-9-]+)(:[^\]]*)?\]|(winerror\.h)", source)
    return [header or (f"[{name}:x]" if detail else f"[{name}]") for name, detail, header in names]


def hresults() -> dict[str, int]:
    """HRESULT name -> its value, as the header defines it."""
    return {item["name"]: int(item["value"], 16) for item in items("hresults")}


def group_constants() -> dict[str, int]:
    """Enum and flag name -> value, for the constants of groups (not graphs, not pre-release)."""
    return {item["name"]: item["value"] for item in items("constants") if "not_a_group_constant" not in item}


def functions() -> list[str]:
    """Every function of the Grouping and Identity Manager APIs, in the notes' order."""
    return [item["name"] for item in items("functions")]


def roles() -> dict[str, str]:
    """Role name -> its GUID, lower case, without braces."""
    return {item["name"]: item["guid"] for item in items("roles")}
