"""What protects a backup, on real PostgreSQL and with the real commands (docs/backup.md):
encryption with the backup key, refusal of a wrong key and of a damaged or tampered file
(nothing restored), mode 600 for every file written, sessions and lockouts left out, and
backups of the previous, unencrypted format restored only when asked."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessAttemptExpiration
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.conftest import Agency
from crewcall.ops.backup import create_backup, sealed
from crewcall.ops.backup.archive import open_backup, private_folder
from crewcall.ops.backup.keys import key_id_of
from crewcall.ops.backup.manifest import compare
from crewcall.ops.backup.progress import Progress
from crewcall.ops.tests.backup_helpers import (
    _UNSET,
    KEY,
    KEY_TEXT,
    OTHER_KEY,
    OTHER_KEY_TEXT,
    QUIET,
    build,
    connect,
    crewcall,
    measured,
    mode,
    tables_of,
    write_legacy,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def sign_in_state() -> str:
    """A session and a failed sign-in's lockout state; the session's key."""
    session = SessionStore()
    session["_auth_user_id"] = "1"
    session.create()
    attempt = AccessAttempt.objects.create(
        username="kim.example", ip_address="192.0.2.7", user_agent="test", http_accept="*/*",
        path_info="/login/", get_data="", post_data="password=********", failures_since_start=2,
    )  # fmt: skip
    AccessAttemptExpiration.objects.create(access_attempt=attempt, expires_at=timezone.now())
    return str(session.session_key)


def test_an_encrypted_backup_hides_everything_and_restores_every_table_but_sessions(
    agency: Agency, alice: User, tmp_path: Path, scratch: Callable[[], str], backup_key: bytes
) -> None:
    build(agency, alice)
    session_key = sign_in_state()
    path = tmp_path / "agency.crewcall"
    result = create_backup(path, progress=QUIET)

    data = path.read_bytes()
    assert data.startswith(sealed.MAGIC) and key_id_of(KEY) in data[: sealed.HEADER_BYTES]
    for clear in (b"Kim 0", b"+4915100000001", session_key.encode(), b"kim.example", b"people_employee",
                  b"PGDMP", b"crewcall-backup"):  # fmt: skip
        assert clear not in data, clear
    manifest = result.manifest
    assert manifest["left_out"] == sorted(
        ["public.django_session", "public.axes_accessattempt", "public.axes_accessattemptexpiration"]
    )
    assert not set(manifest["left_out"]) & set(manifest["tables"])
    assert Session.objects.count() == 1 and AccessAttempt.objects.count() == 1  # there, yet left out

    target = scratch()
    done = crewcall(tmp_path, target, "restore", str(path))
    assert done.returncode == 0, done.stderr
    assert "every row count and checksum verified" in done.stdout
    with connect(target) as conn:
        for table in ("django_session", "axes_accessattempt", "axes_accessattemptexpiration"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
    after = measured(target)
    renewal = {
        "public.changes_feed",
        "public.core_privilegedcall",
        "public.people_linkkey",
    }  # the feed's new epoch
    assert compare(manifest["tables"], after, skip=renewal, empty=manifest["left_out"]) == []
    # The control: a restored session would have been caught.
    with connect(target) as conn:
        conn.execute("INSERT INTO django_session VALUES ('x', 'y', now())")
    assert compare(manifest["tables"], measured(target), skip=renewal, empty=manifest["left_out"]) == [
        "public.django_session: its rows are left out of backups, yet 1 rows were restored"
    ]


def test_a_wrong_key_is_refused_and_the_old_key_restores_after_a_rotation(
    backup_file: Path, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    target = scratch()
    done = crewcall(tmp_path, target, "restore", str(backup_file), key=OTHER_KEY_TEXT)
    assert done.returncode == 1
    assert f"was made with another key (key id {key_id_of(KEY).hex()})" in done.stderr
    assert f"This machine has: {key_id_of(OTHER_KEY).hex()} (CREWCALL_BACKUP_KEY)" in done.stderr
    assert tables_of(target) == []

    done = crewcall(tmp_path, target, "restore", str(backup_file), key=_UNSET)
    assert done.returncode == 1 and "This machine has no backup key" in done.stderr
    assert tables_of(target) == []
    assert not (tmp_path / "data" / "backup_key").exists()  # restore never makes a key

    # Rotated: a new key for new backups, the old one kept for restoring old backups.
    done = crewcall(
        tmp_path, target, "restore", "-q", str(backup_file), key=OTHER_KEY_TEXT, old_keys=KEY_TEXT
    )
    assert done.returncode == 0, done.stderr
    assert f"Decrypted with key {key_id_of(KEY).hex()} (CREWCALL_BACKUP_OLD_KEYS (key 1))" in done.stdout


def flip(data: bytes, position: int) -> bytes:
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


def test_a_flipped_byte_in_each_part_or_a_cut_file_is_refused_and_nothing_is_restored(
    backup_file: Path, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    data = backup_file.read_bytes()
    header = sealed.parse_header(data[: sealed.HEADER_BYTES], name="x")
    dump_start = sealed.HEADER_BYTES + header.manifest_bytes
    assert len(data) - dump_start < sealed.CHUNK_BYTES  # one short chunk: the last
    cases = {
        "key id": (flip(data, 30), "its header (the first 76 bytes) does not match its own check"),
        "salt": (flip(data, 40), "does not match its own check"),
        "manifest": (flip(data, sealed.HEADER_BYTES + 20), "its manifest does not authenticate"),
        "manifest tag": (flip(data, dump_start - 1), "its manifest does not authenticate"),
        "dump": (flip(data, (dump_start + len(data)) // 2), "does not authenticate as the last"),
        "dump tag": (flip(data, len(data) - 1), "does not authenticate as the last"),
        "cut by one byte": (data[:-1], "is cut short, damaged or was tampered with"),
        "cut in half": (data[: len(data) // 2], "is cut short, damaged or was tampered with"),
        "cut in the manifest": (data[: dump_start - 100], "ends inside its manifest"),
    }
    target = scratch()
    for case, (damaged, expected) in cases.items():
        file = tmp_path / f"{case.replace(' ', '-')}.crewcall"
        file.write_bytes(damaged)
        done = crewcall(tmp_path, target, "restore", str(file))
        assert done.returncode == 1, (case, done.stdout)
        assert expected in done.stderr, (case, done.stderr)
        assert "Nothing was restored" in done.stderr, case
        assert tables_of(target) == [], case
    # The control: the undamaged file restores into the same database.
    assert crewcall(tmp_path, target, "restore", str(backup_file)).returncode == 0
    assert "people_employee" in tables_of(target)


class Watching(Progress):
    """A progress bar that notes the mode of every file of the backup while it is written."""

    def __init__(self, folders: list[Path]) -> None:
        super().__init__(io.StringIO(), enabled=True)
        self.folders = folders
        self.seen: dict[str, int] = {}

    def update(self, done: int, detail: str = "", *, force: bool = False) -> None:
        for folder in self.folders:
            for path in [folder, *folder.glob(".*"), *folder.glob(".backup-*/*")]:
                self.seen[f"{self._label}: {path.relative_to(folder.parent)}"] = mode(path)
        super().update(done, detail, force=force)


def test_every_file_written_is_mode_600_from_the_start(
    agency: Agency, alice: User, tmp_path: Path, settings: Any
) -> None:
    build(agency, alice)
    settings.BACKUP_KEY = None  # the key file is made in the data folder
    settings.DATA_DIR = data = tmp_path / "data"
    data.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    path = out / "agency.crewcall"
    path.write_text("an older file, readable by all")
    path.chmod(0o644)

    watch = Watching([data, out])
    result = create_backup(path, progress=watch)
    assert mode(path) == 0o600 and mode(data / "backup_key") == 0o600
    assert result.key.source == str(data / "backup_key")
    # Everything the backup made besides the key and the backup: hidden, and private.
    seen = {name: oct(m) for name, m in watch.seen.items() if "/." in name}
    folders = {n: m for n, m in seen.items() if n.count("/") == 1 and ": data/.backup-" in n}
    files = {n: m for n, m in seen.items() if n not in folders}
    # pg_dump writes the dump into a file made for it in a private folder of the data
    # folder; the backup is encrypted into a file beside its final name.
    assert any(n.startswith("dump: data/.backup-") and n.endswith("/database.dump") for n in files), seen
    assert "encrypt: out/.agency.crewcall.partial" in files, seen
    assert set(folders.values()) == {oct(0o700)} and set(files.values()) == {oct(0o600)}, seen
    # Nothing left behind but the key and the backup.
    assert sorted(p.name for p in data.iterdir()) == ["backup_key"]
    assert sorted(p.name for p in out.iterdir()) == ["agency.crewcall"]

    # Restore decrypts into a private folder too.
    with private_folder() as folder:
        assert mode(Path(folder)) == 0o700
        assert mode(open_backup(path).extract_dump(Path(folder))) == 0o600


def test_an_unencrypted_backup_of_the_previous_format_restores_only_when_asked(
    backup_file: Path, tmp_path: Path, scratch: Callable[[], str]
) -> None:
    old = tmp_path / "before-encryption.crewcall"
    write_legacy(backup_file, old)
    target = scratch()
    done = crewcall(tmp_path, target, "restore", str(old))
    assert done.returncode == 1
    assert "is an unencrypted backup of format version 1" in done.stderr
    assert "--allow-unencrypted" in done.stderr and "Nothing was restored" in done.stderr
    assert tables_of(target) == []

    done = crewcall(tmp_path, target, "restore", "--allow-unencrypted", str(old))
    assert done.returncode == 0, done.stderr
    assert "every row count and checksum verified" in done.stdout
    assert "Notice: this backup was not encrypted (format version 1)" in done.stdout


def test_the_dump_can_be_taken_out_decrypted_for_pg_restore_by_hand(
    backup_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "agency.dump"
    done = crewcall(tmp_path, "postgres", "restore", "--extract-dump", str(out), str(backup_file))
    assert done.returncode == 0, done.stderr
    assert "pg_restore --list" in done.stdout
    body = out.read_bytes()
    assert body.startswith(b"PGDMP")  # pg_dump's custom format
    assert hashlib.sha256(body).hexdigest() == open_backup(backup_file).manifest["dump"]["sha256"]
    assert mode(out) == 0o600

    # A damaged file gives nothing out, and leaves nothing behind.
    damaged = tmp_path / "damaged.crewcall"
    damaged.write_bytes(flip(backup_file.read_bytes(), len(body) // 2 + 2000))
    never = tmp_path / "never.dump"
    done = crewcall(tmp_path, "postgres", "restore", "--extract-dump", str(never), str(damaged))
    assert done.returncode == 1 and "does not authenticate" in done.stderr
    assert not never.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
