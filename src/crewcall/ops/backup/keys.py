"""The keys backups are encrypted with (docs/backup.md, "The key").

The current key is `CREWCALL_BACKUP_KEY` (settings.BACKUP_KEY), else the file `backup_key`
in the data folder, which the first backup creates (mode 600). Restore looks for the key a
file names by its key id among the current key and `CREWCALL_BACKUP_OLD_KEYS`.

A key id is a short hash of the key: it tells keys apart in the file's header and in
messages, and says nothing about the key itself.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from crewcall.core.env import decode_key
from crewcall.ops.backup.errors import BackupError

KEY_BYTES = 32
KEY_FILE = "backup_key"
ENV_KEY = "CREWCALL_BACKUP_KEY"
ENV_OLD_KEYS = "CREWCALL_BACKUP_OLD_KEYS"
KEY_ID_BYTES = 8
_KEY_ID_LABEL = b"crewcall backup key id\x00"


def key_id_of(secret: bytes) -> bytes:
    # A label of its own: the id is never the hash of the key alone, which other tools might print.
    return hashlib.sha256(_KEY_ID_LABEL + secret).digest()[:KEY_ID_BYTES]


@dataclass(frozen=True)
class BackupKey:
    secret: bytes
    source: str  # where it came from, for messages: never the key itself

    @property
    def key_id(self) -> bytes:
        return key_id_of(self.secret)

    @property
    def label(self) -> str:
        return self.key_id.hex()

    def __repr__(self) -> str:
        return f"BackupKey(id={self.label}, source={self.source!r})"


def key_file() -> Path:
    return Path(settings.DATA_DIR) / KEY_FILE


def _read_key_file(path: Path) -> BackupKey:
    try:
        text = path.read_text()
    except OSError as exc:
        raise BackupError(f"Cannot read the backup key {path}: {exc.strerror}.") from None
    try:
        return BackupKey(decode_key(text, length=KEY_BYTES), source=str(path))
    except ValueError as exc:
        raise BackupError(
            f"{path} holds no usable backup key ({exc}): it must hold {KEY_BYTES} bytes in urlsafe "
            f"base64. Put the right key back, or set {ENV_KEY}."
        ) from None


def _create_key_file(path: Path) -> None:
    """A new random key in `path`, mode 600 from the start; the first of two racing writers wins."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
            f.flush()
            os.fsync(f.fileno())
        # link() never replaces an existing key: losing a key makes its backups unreadable.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def current_key(*, create: bool) -> BackupKey:
    """The key new backups are encrypted with; with `create`, made in the data folder when
    there is none yet."""
    if settings.BACKUP_KEY is not None:
        return BackupKey(settings.BACKUP_KEY, source=ENV_KEY)
    path = key_file()
    if not path.exists():
        if not create:
            raise BackupError(f"No backup key on this machine: {ENV_KEY} is unset and {path} does not exist.")
        _create_key_file(path)
    return _read_key_file(path)


def restore_keys() -> list[BackupKey]:
    """Every key restore may use: the current one (if any), then the old ones."""
    keys: list[BackupKey] = []
    if settings.BACKUP_KEY is not None or key_file().exists():
        keys.append(current_key(create=False))
    for position, secret in enumerate(settings.BACKUP_OLD_KEYS, start=1):
        keys.append(BackupKey(secret, source=f"{ENV_OLD_KEYS} (key {position})"))
    return keys


def key_for(key_id: bytes, *, made_where: str) -> BackupKey:
    """The key whose id is `key_id`, or a refusal naming the ids this machine has."""
    keys = restore_keys()
    for key in keys:
        if key.key_id == key_id:
            return key
    if keys:
        have = "; ".join(f"{k.label} ({k.source})" for k in keys)
        held = f"This machine has: {have}."
    else:
        held = f"This machine has no backup key ({ENV_KEY} is unset and {key_file()} does not exist)."
    raise BackupError(
        f"{made_where} was made with another key (key id {key_id.hex()}). {held} "
        f"Set {ENV_KEY} to the key it was made with, or list that key in {ENV_OLD_KEYS}. "
        "Nothing was restored."
    )
