"""The backup file: an uncompressed tar holding `manifest.json` and then `database.dump`.

The dump is pg_dump's custom format, compressed already; the tar adds nothing but a
header per member, so any tar tool can unpack it and `pg_restore -l database.dump` read
it. The manifest names the dump's size and SHA-256, checked before anything is restored.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crewcall.ops.backup.errors import BackupError
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


def write(path: Path, manifest: dict[str, Any], dump: Path) -> None:
    """Write the backup file: complete, or not at all (written aside, then renamed)."""
    partial = path.with_name(f".{path.name}.partial")
    body = (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode()
    now = time.time()
    try:
        with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            info.mtime = int(now)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(body))
            info = tarfile.TarInfo(DUMP)
            info.size = dump.stat().st_size
            info.mtime = int(now)
            info.mode = 0o600
            with dump.open("rb") as f:
                tar.addfile(info, f)
        partial.chmod(0o600)  # it holds every personal detail of the agency
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:")
    except FileNotFoundError:
        raise BackupError(f"{path}: no such file.") from None
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{path} is not a Crewcall backup (not a tar file: {exc}).") from None


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest, checked for the fields restore relies on."""
    with _open(path) as tar:
        try:
            member = tar.getmember(MANIFEST)
            f = tar.extractfile(member)
            raw = f.read() if f is not None else b""
        except KeyError:
            raise BackupError(f"{path} is not a Crewcall backup: it holds no {MANIFEST}.") from None
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path}: cannot read {MANIFEST} ({exc}).") from None
    try:
        manifest = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BackupError(f"{path}: {MANIFEST} is damaged (not JSON: {exc}).") from None
    check_manifest(path, manifest)
    return manifest


def check_manifest(path: Path, manifest: Any) -> None:
    def bad(what: str) -> BackupError:
        return BackupError(f"{path}: {MANIFEST} is damaged or not Crewcall's ({what}).")

    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise bad(f"format is not {FORMAT!r}")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path} is a backup of format version {manifest.get('format_version')!r}; this Crewcall "
            f"reads version {FORMAT_VERSION}. Restore it with the Crewcall version that made it "
            f"({manifest.get('crewcall_version', 'unknown')})."
        )
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


def extract_dump(
    path: Path, manifest: dict[str, Any], folder: Path, *, on_bytes: Callable[[int], None] | None = None
) -> Path:
    """Copy the dump out of the backup into `folder`, checking its size and SHA-256."""
    expected = manifest["dump"]
    out = folder / DUMP
    digest = hashlib.sha256()
    copied = 0
    with _open(path) as tar:
        try:
            member = tar.getmember(DUMP)
        except KeyError:
            raise BackupError(f"{path} is incomplete: it holds no {DUMP}.") from None
        source = tar.extractfile(member)
        if source is None:
            raise BackupError(f"{path}: {DUMP} is not a file.")
        try:
            with source, out.open("wb") as f:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    f.write(chunk)
                    copied += len(chunk)
                    if on_bytes is not None:
                        on_bytes(copied)
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(
                f"{path}: cannot read {DUMP} ({exc}); the file is damaged or cut short."
            ) from None
    if copied != expected["bytes"] or digest.hexdigest() != expected["sha256"]:
        raise BackupError(
            f"{path}: {DUMP} is damaged: {copied} bytes with SHA-256 {digest.hexdigest()[:16]}…, "
            f"the manifest says {expected['bytes']} bytes with {expected['sha256'][:16]}…. "
            "Nothing was restored."
        )
    return out
