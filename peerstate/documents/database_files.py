"""The file of ``PeerGroupExportDatabase`` and ``PeerGroupImportDatabase``: a replica's
group data, whole, signed by the member who exported it.

The group data is the set of signed envelopes, so the file carries exactly those, in the
order the replica accepted them (each one's dependencies first). Each envelope proves
itself; the exporter's signature over the whole proves that nothing was taken out or
added, so an importer can refuse an altered file whole. Writing goes through a temporary
file and a rename, so a failed export leaves no half-written file behind.
"""

from __future__ import annotations

import errno
import os
import tempfile
from datetime import datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Final

import attrs

from peerstate import wire
from peerstate.domain.group_events import Envelope
from peerstate.errors import ErrorName, InvalidArgument, PeerError, peer_error

FORMAT: Final = "peerstate-database/1"
MAX_FILE_BYTES: Final = 1024 * 1024 * 1024
"""A cap on what an import reads: far above any group database peerstate writes."""


@attrs.frozen
class DatabaseSnapshot:
    """What an export file holds. ``signature`` is the exporter's, by the key its
    credential in the group certifies, over everything else."""

    format: str
    group: str
    exporter: str
    at: datetime
    envelopes: tuple[Envelope, ...]
    signature: bytes


def signed_part(snapshot: DatabaseSnapshot) -> bytes:
    return wire.canonical_unsigned(snapshot)


def encode(snapshot: DatabaseSnapshot) -> bytes:
    return wire.canonical(snapshot)


def decode(data: bytes) -> DatabaseSnapshot:
    """The snapshot in ``data`` (``PEER_E_INVALID_DATABASE`` for anything that is not one)."""
    try:
        snapshot = wire.decode(data, DatabaseSnapshot, max_bytes=MAX_FILE_BYTES)
    except wire.WireError as error:
        raise peer_error("PEER_E_INVALID_DATABASE", f"the file is not a peerstate group database: {error}") from None
    if snapshot.format != FORMAT:
        raise peer_error("PEER_E_INVALID_DATABASE", f"the file's format is {snapshot.format!r}, not {FORMAT!r}")
    return snapshot


def resolve(path: str, root: Path | None) -> Path:
    """The file an absolute ``pwzFilePath`` names (``E_INVALIDARG`` for a relative one). With
    ``root`` (a simulation's machines' shared directory) the path lies under it, and may
    not climb out of it."""
    if root is None:
        if not Path(path).is_absolute():
            raise InvalidArgument(f"pwzFilePath {path!r} is not an absolute path")
        return Path(path)
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    if posix.is_absolute():
        relative = list(posix.parts[1:])
    elif windows.is_absolute():
        relative = [windows.drive.strip("\\").replace(":", ""), *windows.parts[1:]]
    else:
        raise InvalidArgument(f"pwzFilePath {path!r} is not an absolute path")
    if not relative or any(part in ("", ".", "..") or "/" in part or "\\" in part for part in relative):
        raise InvalidArgument(f"pwzFilePath {path!r} names no file, or climbs out of its directory")
    return root.joinpath(*relative)


def file_error(error: OSError, path: str) -> PeerError:
    """A file-system failure as Windows passes it through: the Win32 error as an HRESULT."""
    codes: dict[int, ErrorName] = {
        errno.ENOENT: "ERROR_FILE_NOT_FOUND", errno.ENOTDIR: "ERROR_PATH_NOT_FOUND",
        errno.EACCES: "E_ACCESSDENIED", errno.EPERM: "E_ACCESSDENIED", errno.EISDIR: "E_ACCESSDENIED",
    }
    return peer_error(codes.get(error.errno or 0, "E_FAIL"), f"{path!r}: {error.strerror or error}")


def write(target: Path, data: bytes, path: str, *, make_directories: bool = False) -> None:
    """Replace ``target`` with ``data`` at once (an existing file is overwritten, as the
    call documents); on failure nothing is left behind. A missing directory is
    ``ERROR_PATH_NOT_FOUND``, unless ``make_directories`` (a simulation's share, where a
    scenario cannot make one)."""
    try:
        if make_directories:
            target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "the directory does not exist")
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".peerstate-export-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        raise file_error(error, path) from None


def read(target: Path, path: str) -> bytes:
    try:
        with target.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise file_error(error, path) from None
    if len(data) > MAX_FILE_BYTES:
        raise peer_error("PEER_E_INVALID_DATABASE", f"{path!r} is larger than any group database")
    return data
