"""Where a problem is in a scenario file: the key path every error names.

A file author fixes a file by the key path (``steps[3].args.pwzClassifier``), so every check
of a file, from JSON syntax to variables, reports one, and the same path shape names the
place where a replayed value differs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TypeAlias

KeyPath: TypeAlias = tuple[str | int, ...]
"""Keys and list indexes from the top of a document down to one value."""

_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def format_path(path: KeyPath) -> str:
    """``steps[3].args.pwzClassifier``; a key that is not a plain name is quoted in brackets."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text or "(top level)"


class KeyPathError(ValueError):
    """A value that cannot be used, and the key path where it stands (relative to what the
    raising function was given; ``under`` puts it below an enclosing path)."""

    def __init__(self, path: KeyPath, message: str) -> None:
        super().__init__(f"{format_path(path)}: {message}")
        self.path = path
        self.message = message

    def under(self, prefix: KeyPath) -> KeyPathError:
        return KeyPathError((*prefix, *self.path), self.message)


class ScenarioFileError(KeyPathError):
    """A scenario file is invalid: none of its steps may run (exit status 2)."""

    def __init__(self, file: Path, path: KeyPath, message: str) -> None:
        super().__init__(path, message)
        self.file = file

    def __str__(self) -> str:
        return f"{self.file}: {format_path(self.path)}: {self.message}"
