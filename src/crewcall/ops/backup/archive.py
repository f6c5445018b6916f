"""The backup file: writing it, and opening it again for restore (docs/backup.md, "The file").

Format version 2 (sealed.py): a header in the clear, then the manifest and pg_dump's
custom-format dump, encrypted and authenticated with the backup key (keys.py). Restore
also reads version 1 files (legacy.py: an unencrypted tar), but only when asked to.
The manifest names the dump's size and SHA-256, checked as the dump is decrypted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings

from crewcall.core.private_files import create_private, sync_folder
from crewcall.ops.backup import legacy, sealed
from crewcall.ops.backup.errors import BackupError
from crewcall.ops.backup.keys import BackupKey, key_for
from crewcall.ops.backup.manifest import FORMAT, FORMAT_VERSION

MANIFEST = "manifest.json"
DUMP = "database.dump"
_CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def private_folder() -> tempfile.TemporaryDirectory[str]:
    """Where the dump lies in the clear while it is encrypted or restored: a folder of mode
    700 in the data folder, which holds the database and the keys anyway; never beside the
    backup file, so backup storage only ever sees encrypted bytes."""
    return tempfile.TemporaryDirectory(prefix=".backup-", dir=settings.DATA_DIR)


def encode_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode()


def write(
    path: Path,
    manifest: dict[str, Any],
    dump: Path,
    key: BackupKey,
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Write the backup file: complete, or not at all (written aside, mode 600, then renamed)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        with os.fdopen(create_private(partial), "wb") as out, dump.open("rb") as source:
            sealed.seal(out, key, encode_manifest(manifest), source, on_bytes=on_bytes)
            out.flush()
            # On disk before it takes the real name: a crash never leaves a short file there.
            os.fsync(out.fileno())
        os.replace(partial, path)
        sync_folder(path.parent)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Backup:
    """A backup file whose manifest has been read (and, from version 2 on, authenticated)."""

    path: Path
    manifest: dict[str, Any]
    format_version: int
    key: BackupKey | None  # None: version 1, not encrypted
    _header: bytes = b""
    _manifest_raw: bytes = b""

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    def extract_dump(self, folder: Path, *, on_bytes: Callable[[int], None] | None = None) -> Path:
        """Write the dump into `folder` (mode 600), checking that every chunk authenticates
        and that its size and SHA-256 are the manifest's."""
        out = folder / DUMP
        digest = hashlib.sha256()
        copied = 0

        def take(chunk: bytes | memoryview) -> None:
            nonlocal copied
            digest.update(chunk)
            copied += len(chunk)
            if on_bytes is not None:
                on_bytes(copied)

        with os.fdopen(create_private(out), "wb") as f:
            if self.key is None:
                legacy.copy_dump(self.path, f, on_chunk=take)
            else:
                with self.path.open("rb") as source:
                    for chunk in self._reader(source).chunks():
                        take(chunk)
                        f.write(chunk)
        expected = self.manifest["dump"]
        if copied != expected["bytes"] or digest.hexdigest() != expected["sha256"]:
            raise BackupError(
                f"{self.path}: {DUMP} is damaged: {copied} bytes with SHA-256 {digest.hexdigest()[:16]}…, "
                f"the manifest says {expected['bytes']} bytes with {expected['sha256'][:16]}…. "
                "Nothing was restored."
            )
        return out

    def _reader(self, source: BinaryIO) -> sealed.SealedReader:
        """The file read again up to its dump; refused if it is not the one opened before."""
        changed = BackupError(f"{self.path} changed while it was being restored. Nothing was restored.")

        def same_key(key_id: bytes) -> BackupKey:
            if self.key is None or key_id != self.key.key_id:
                raise changed
            return self.key

        reader = sealed.SealedReader.start(source, str(self.path), same_key)
        if reader.header_bytes != self._header or reader.manifest() != self._manifest_raw:
            raise changed
        return reader


def open_backup(path: Path) -> Backup:
    """Read the header and the manifest of `path`, with the key it names (keys.py)."""
    path = Path(path)
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file.") from None
    except OSError as exc:
        raise BackupError(f"{path}: cannot read it ({exc.strerror}).") from None
    with f:
        start = f.read(len(sealed.MAGIC))
        if sealed.is_sealed(start):
            f.seek(0)
            reader = sealed.SealedReader.start(f, str(path), lambda kid: key_for(kid, made_where=str(path)))
            raw = reader.manifest()
            manifest = _parse(path, raw)
            check_manifest(path, manifest, version=FORMAT_VERSION)
            return Backup(path, manifest, FORMAT_VERSION, reader.key, reader.header_bytes, raw)
    if legacy.is_legacy(path):
        manifest = _parse(path, legacy.read_manifest(path))
        check_manifest(path, manifest, version=legacy.VERSION)
        return Backup(path, manifest, legacy.VERSION, None)
    if path.stat().st_size < sealed.HEADER_BYTES:
        raise BackupError(f"{path} is not a Crewcall backup, or is cut short: it has no header.")
    raise BackupError(
        f"{path} is not a Crewcall backup, or its header is damaged: it does not start with "
        f"{sealed.MAGIC!r}. Nothing was restored."
    )


def _parse(path: Path, raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BackupError(f"{path}: {MANIFEST} is damaged (not JSON: {exc}).") from None


def check_manifest(path: Path, manifest: Any, *, version: int) -> None:
    """The fields restore relies on are there, and the manifest's version is its file's."""

    def bad(what: str) -> BackupError:
        return BackupError(f"{path}: {MANIFEST} is damaged or not Crewcall's ({what}).")

    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise bad(f"format is not {FORMAT!r}")
    if manifest.get("format_version") != version:
        raise bad(f"format_version {manifest.get('format_version')!r} in a file of version {version}")
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not tables:
        raise bad("no tables")
    for name, entry in tables.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("rows"), int)
            and isinstance(entry.get("md5"), str)
        ):
            raise bad(f"table {name!r}")
    left_out = manifest.get("left_out", [])
    if not (isinstance(left_out, list) and all(isinstance(n, str) for n in left_out)):
        raise bad("left_out")
    migrations = manifest.get("migrations")
    if not isinstance(migrations, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in migrations.values()
    ):
        raise bad("migrations")
    dump = manifest.get("dump")
    if not (
        isinstance(dump, dict) and isinstance(dump.get("sha256"), str) and isinstance(dump.get("bytes"), int)
    ):
        raise bad("dump")
    server = manifest.get("server")
    if not (isinstance(server, dict) and isinstance(server.get("version_num"), int)):
        raise bad("server")
