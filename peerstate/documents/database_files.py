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
from typing import Final, NoReturn

import attrs

from peerstate import wire
from peerstate.bounds import MAX_FILE_BYTES
from peerstate.domain.group_events import Envelope
from peerstate.errors import ErrorName
from peerstate.registry import Refusal, rule

FORMAT: Final = "peerstate-database/1"


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
    snapshot = database_file_decodes(data)
    database_format_is_ours(snapshot)
    return snapshot


@rule("PEER_E_INVALID_DATABASE")
def database_file_decodes(data: bytes) -> DatabaseSnapshot:
    """A group database file is a snapshot in the canonical encoding, within the size cap
    (``PEER_E_INVALID_DATABASE``): the snapshot, decoded."""
    try:
        return wire.decode(data, DatabaseSnapshot, max_bytes=MAX_FILE_BYTES)
    except wire.WireError as error:
        raise Refusal(f"the file is not a peerstate group database: {error}") from None


@rule("PEER_E_INVALID_DATABASE")
def database_format_is_ours(snapshot: DatabaseSnapshot) -> None:
    """A group database file says it is of the format this version writes
    (``PEER_E_INVALID_DATABASE``)."""
    if snapshot.format != FORMAT:
        raise Refusal(f"the file's format is {snapshot.format!r}, not {FORMAT!r}")


def resolve(path: str, root: Path | None) -> Path:
    """The file an absolute ``pwzFilePath`` names (``E_INVALIDARG`` for a relative one). With
    ``root`` (a simulation's machines' shared directory) the path lies under it, and may
    not climb out of it."""
    below = file_path_is_absolute(path, root is not None)
    if root is None:
        return Path(path)
    file_path_stays_in_its_directory(path, below)
    return root.joinpath(*below)


@rule("E_INVALIDARG")
def file_path_is_absolute(path: str, shared: bool) -> tuple[str, ...]:
    """``pwzFilePath`` is an absolute path (``E_INVALIDARG``): one of this machine's, or, in a
    simulation whose machines share a directory (``shared``), a POSIX or a Windows one. What it
    names below its root, a Windows path's drive letter first."""
    if not shared:
        if not Path(path).is_absolute():
            raise Refusal(f"pwzFilePath {path!r} is not an absolute path")
        return Path(path).parts[1:]
    posix, windows = PurePosixPath(path), PureWindowsPath(path)
    if posix.is_absolute():
        return posix.parts[1:]
    if windows.is_absolute():
        return (windows.drive.strip("\\").replace(":", ""), *windows.parts[1:])
    raise Refusal(f"pwzFilePath {path!r} is not an absolute path")


@rule("E_INVALIDARG")
def file_path_stays_in_its_directory(path: str, below: tuple[str, ...]) -> None:
    """A path in a simulation's shared directory names a file, and no part of it is empty,
    ``.`` or ``..`` or holds a separator, so it cannot climb out (``E_INVALIDARG``)."""
    if not below or any(part in ("", ".", "..") or "/" in part or "\\" in part for part in below):
        raise Refusal(f"pwzFilePath {path!r} names no file, or climbs out of its directory")


_WIN32_ERRORS: Final[dict[int, ErrorName]] = {
    errno.ENOENT: "ERROR_FILE_NOT_FOUND", errno.ENOTDIR: "ERROR_PATH_NOT_FOUND",
    errno.EACCES: "E_ACCESSDENIED", errno.EPERM: "E_ACCESSDENIED", errno.EISDIR: "E_ACCESSDENIED",
}


@rule("ERROR_FILE_NOT_FOUND", "ERROR_PATH_NOT_FOUND", "E_ACCESSDENIED", "E_FAIL")
def file_system_allows(failure: OSError, path: str) -> NoReturn:
    """The file system reads or writes the file: called with its failure, which is passed
    through as Windows passes it, the Win32 error as an HRESULT (``ERROR_FILE_NOT_FOUND``,
    ``ERROR_PATH_NOT_FOUND``, ``E_ACCESSDENIED``, ``E_FAIL`` for any other). The one rule whose
    code neither a caller nor this peer chooses: the file system's error does, as on Windows."""
    raise Refusal(f"{path!r}: {failure.strerror or failure}", _WIN32_ERRORS.get(failure.errno or 0, "E_FAIL"))


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
        file_system_allows(error, path)


def read(target: Path, path: str) -> bytes:
    try:
        with target.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        file_system_allows(error, path)
    database_file_fits(data, path)
    return data


@rule("PEER_E_INVALID_DATABASE")
def database_file_fits(data: bytes, path: str) -> None:
    """A group database file is at most ``MAX_FILE_BYTES``, far above any that peerstate
    writes (``PEER_E_INVALID_DATABASE``): an import reads no more than one byte past it."""
    if len(data) > MAX_FILE_BYTES:
        raise Refusal(f"{path!r} is larger than any group database")
