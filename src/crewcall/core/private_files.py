"""Files only their owner may read, for what holds personal data or keys (exports, backups)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def create_private(path: Path) -> int:
    """A new file at `path`, open for writing, mode 600 from its first byte: created with
    that mode (os.open), never widened later, so there is no moment another user could
    open it. A file or symlink left at `path` (an earlier crash's partial file) is removed
    first; a symlink is never followed."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(path, flags, 0o600)


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (the file's own fsync does not cover its name)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
