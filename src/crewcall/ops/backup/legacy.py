"""Backup files of format version 1: an unencrypted tar of `manifest.json` and then
`database.dump`, made by Crewcall before backups were encrypted. Read only, and restored
only on request (`crewcall restore --allow-unencrypted`, docs/backup.md): nothing in them
is authenticated."""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from crewcall.ops.backup.errors import BackupError

VERSION = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
_CHUNK = 1024 * 1024


def is_legacy(path: Path) -> bool:
    try:
        return tarfile.is_tarfile(path)
    except OSError:
        return False


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{path} is not a Crewcall backup (not a tar file: {exc}).") from None


def read_manifest(path: Path) -> bytes:
    with _open(path) as tar:
        try:
            member = tar.getmember(MANIFEST)
            f = tar.extractfile(member)
            return f.read() if f is not None else b""
        except KeyError:
            raise BackupError(f"{path} is not a Crewcall backup: it holds no {MANIFEST}.") from None
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path}: cannot read {MANIFEST} ({exc}).") from None


def copy_dump(path: Path, out: BinaryIO, *, on_chunk: Callable[[bytes], None]) -> None:
    """Copy the dump member to `out`, handing each chunk to `on_chunk` (hash, progress)."""
    with _open(path) as tar:
        try:
            member = tar.getmember(DUMP)
        except KeyError:
            raise BackupError(f"{path} is incomplete: it holds no {DUMP}.") from None
        source = tar.extractfile(member)
        if source is None:
            raise BackupError(f"{path}: {DUMP} is not a file.")
        try:
            with source:
                while chunk := source.read(_CHUNK):
                    on_chunk(chunk)
                    out.write(chunk)
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(
                f"{path}: cannot read {DUMP} ({exc}); the file is damaged or cut short."
            ) from None
