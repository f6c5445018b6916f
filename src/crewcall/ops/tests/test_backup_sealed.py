"""The encrypted file format (ops/backup/sealed.py) and the backup keys, without a
database: every byte of a file flipped in turn, chunks moved, dropped, repeated, spliced
or cut, wrong and old keys, the key file and the key settings."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from crewcall.core import env
from crewcall.ops.backup import sealed
from crewcall.ops.backup.archive import encode_manifest, open_backup
from crewcall.ops.backup.errors import BackupError
from crewcall.ops.backup.keys import BackupKey, current_key, key_id_of, restore_keys
from crewcall.ops.tests.backup_helpers import KEY, KEY_TEXT, OTHER_KEY, mode

CHUNK = 64
DUMP = bytes(range(256)) * 3 + b"tail"  # 772 bytes: 12 full chunks and a short last one


def manifest_for(dump: bytes) -> dict[str, Any]:
    """The smallest manifest restore accepts."""
    return {
        "format": "crewcall-backup",
        "format_version": 2,
        "crewcall_version": "test",
        "tables": {"public.people_employee": {"rows": 1, "md5": "0" * 32}},
        "left_out": [],
        "migrations": {"people": ["0001_initial"]},
        "server": {"version": "18.4", "version_num": 180004},
        "dump": {"bytes": len(dump), "sha256": hashlib.sha256(dump).hexdigest()},
    }


def seal(dump: bytes = DUMP, *, key: bytes = KEY, chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    sealed.seal(out, BackupKey(key, "test"), encode_manifest(manifest_for(dump)), io.BytesIO(dump),
                chunk_bytes=chunk)  # fmt: skip
    return out.getvalue()


def restore(data: bytes, folder: Path) -> bytes:
    """Read `data` as restore does: header and manifest, then the dump; its dump."""
    path = folder / "file.crewcall"
    path.write_bytes(data)
    out = folder / "out"
    out.mkdir(exist_ok=True)
    return open_backup(path).extract_dump(out).read_bytes()


def records(data: bytes) -> tuple[bytes, list[bytes]]:
    """(header and manifest record, the dump's records) of a file sealed with CHUNK."""
    header = sealed.parse_header(data[: sealed.HEADER_BYTES], name="x")
    start = sealed.HEADER_BYTES + header.manifest_bytes
    full = CHUNK + sealed.TAG_BYTES
    return data[:start], [data[i : i + full] for i in range(start, len(data), full)]


@pytest.fixture(autouse=True)
def keys_in_settings(settings: Any, tmp_path: Path) -> None:
    settings.BACKUP_KEY = KEY
    settings.BACKUP_OLD_KEYS = []
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, len(DUMP)])
def test_a_sealed_file_gives_back_its_dump_whatever_its_length(size: int, tmp_path: Path) -> None:
    dump = DUMP[:size]
    data = seal(dump)
    _, chunks = records(data)
    assert len(chunks) == size // CHUNK + 1  # the last record is always short, maybe empty
    assert len(chunks[-1]) == size % CHUNK + sealed.TAG_BYTES
    assert restore(data, tmp_path) == dump


def test_the_file_shows_nothing_but_its_header_in_the_clear(tmp_path: Path) -> None:
    dump = b"Kim Example +4915100000001 " * 40
    data = seal(dump)
    assert data.startswith(sealed.MAGIC)
    assert b"Kim Example" not in data and b"4915100000001" not in data
    assert b"crewcall-backup" not in data and b"people_employee" not in data
    assert key_id_of(KEY) in data[: sealed.HEADER_BYTES] and KEY not in data
    # A new salt, so new bytes, for the same dump and key.
    assert seal(dump)[sealed.HEADER_BYTES :] != data[sealed.HEADER_BYTES :]
    assert restore(data, tmp_path) == dump


def test_one_flipped_byte_anywhere_is_refused_naming_the_part(tmp_path: Path) -> None:
    data = seal()
    head, chunks = records(data)
    fields = len(sealed.MAGIC)
    refused: dict[str, int] = {}
    for position in range(len(data)):
        flipped = bytearray(data)
        flipped[position] ^= 0x01
        with pytest.raises(BackupError) as refusal:
            restore(bytes(flipped), tmp_path)
        said = str(refusal.value)
        if position < fields:
            part, expected = "magic", "is not a Crewcall backup, or its header is damaged"
        elif position < fields + 3:  # format version, cipher
            part, expected = "version", "made by a newer Crewcall, or its header is damaged"
        elif position < sealed.HEADER_BYTES:
            part, expected = "header", "does not match its own check"
        elif position < len(head):
            part, expected = "manifest", "its manifest does not authenticate"
        elif position < len(data) - len(chunks[-1]):
            part, expected = "chunk", "of the dump (from byte"
        else:
            part, expected = "last chunk", "does not authenticate as the last"
        assert expected in said, (position, part, said)
        refused[part] = refused.get(part, 0) + 1
    assert refused == {
        "magic": 16,
        "version": 3,
        "header": sealed.HEADER_BYTES - 19,
        "manifest": len(head) - sealed.HEADER_BYTES,
        "chunk": 12 * (CHUNK + sealed.TAG_BYTES),
        "last chunk": len(chunks[-1]),
    }


def test_chunks_moved_dropped_repeated_spliced_or_cut_are_refused(tmp_path: Path) -> None:
    data = seal()
    head, chunks = records(data)
    assert restore(head + b"".join(chunks), tmp_path) == DUMP
    other_head, other_chunks = records(seal())  # same key, same dump, another file
    cases = {
        "moved": head + b"".join([chunks[1], chunks[0], *chunks[2:]]),
        "dropped": head + b"".join(chunks[:3] + chunks[4:]),
        "repeated": head + b"".join(chunks[:3] + chunks[2:]),
        "spliced": head + b"".join(chunks[:3] + other_chunks[3:]),
        "another header": other_head + b"".join(chunks),
        "last dropped": head + b"".join(chunks[:-1]),
        "cut in a chunk": data[:-30],
        "cut after the manifest": head,
        "cut in the manifest": head[:-5],
        "cut in the header": data[:40],
        "appended": data + b"\x00",
    }
    said = {}
    for case, forged in cases.items():
        with pytest.raises(BackupError) as refusal:
            restore(forged, tmp_path)
        said[case] = str(refusal.value)
    assert "chunk 1 of the dump (from byte" in said["moved"] and "does not authenticate" in said["moved"]
    assert "chunk 4 of the dump" in said["dropped"] and "chunk 4 of the dump" in said["spliced"]
    assert "chunk 4 of the dump" in said["repeated"]
    # Another file's header and manifest are authentic together, but not with these chunks.
    assert "chunk 1 of the dump" in said["another header"]
    for cut in ("last dropped", "cut in a chunk", "cut after the manifest"):
        assert "is cut short, damaged or was tampered with" in said[cut], cut
    assert "ends inside its manifest" in said["cut in the manifest"]
    assert "ends inside its header" in said["cut in the header"]
    # Bytes after the end make the last record longer: it no longer authenticates.
    assert "does not authenticate as the last" in said["appended"]


def test_a_forged_header_with_a_correct_check_still_does_not_authenticate(tmp_path: Path) -> None:
    data = seal()
    size = struct.calcsize(">16sHBBI8s32sI")

    def forge(offset: int, value: bytes) -> bytes:
        fields = bytearray(data[:size])
        fields[offset : offset + len(value)] = value
        check = hashlib.sha256(bytes(fields)).digest()[: sealed.CHECK_BYTES]
        return bytes(fields) + check + data[sealed.HEADER_BYTES :]

    for offset, value in ((19, b"\x01"), (20, struct.pack(">I", 32)), (32, os.urandom(32))):
        with pytest.raises(BackupError, match="its manifest does not authenticate"):
            restore(forge(offset, value), tmp_path)
    # Another key id: restore cannot find that key (and could not open the file with it anyway).
    with pytest.raises(BackupError, match=rf"made with another key \(key id {key_id_of(OTHER_KEY).hex()}\)"):
        restore(forge(24, key_id_of(OTHER_KEY)), tmp_path)


def test_a_wrong_key_is_refused_and_an_old_key_still_opens_its_files(settings: Any, tmp_path: Path) -> None:
    data = seal(key=OTHER_KEY)
    with pytest.raises(BackupError) as refusal:
        restore(data, tmp_path)
    said = str(refusal.value)
    assert f"made with another key (key id {key_id_of(OTHER_KEY).hex()})" in said
    assert f"This machine has: {key_id_of(KEY).hex()} (CREWCALL_BACKUP_KEY)." in said
    assert "CREWCALL_BACKUP_OLD_KEYS" in said and "Nothing was restored" in said

    settings.BACKUP_OLD_KEYS = [OTHER_KEY]
    assert restore(data, tmp_path) == DUMP
    settings.BACKUP_KEY = None
    assert [k.source for k in restore_keys()] == ["CREWCALL_BACKUP_OLD_KEYS (key 1)"]
    settings.BACKUP_OLD_KEYS = []
    with pytest.raises(BackupError, match="This machine has no backup key"):
        restore(data, tmp_path)


def test_the_key_file_is_made_once_with_mode_600_and_checked(settings: Any) -> None:
    settings.BACKUP_KEY = None
    path = settings.DATA_DIR / "backup_key"
    with pytest.raises(BackupError, match="No backup key on this machine"):
        current_key(create=False)
    assert not path.exists()
    first = current_key(create=True)
    assert mode(path) == 0o600
    assert current_key(create=True) == first == current_key(create=False)
    assert env.decode_key(path.read_text()) == first.secret and first.source == str(path)
    assert list(settings.DATA_DIR.iterdir()) == [path]  # no temporary file left
    # The environment wins over the file.
    settings.BACKUP_KEY = KEY
    assert current_key(create=True).secret == KEY
    settings.BACKUP_KEY = None
    path.write_text("not a key\n")
    with pytest.raises(BackupError, match=r"backup_key holds no usable backup key \(not urlsafe base64"):
        current_key(create=True)


def test_key_settings_are_urlsafe_base64_of_32_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_KEY", KEY_TEXT)
    assert env.env_key("X_KEY") == KEY
    monkeypatch.setenv("X_KEY", KEY_TEXT.rstrip("=") + "\n")
    assert env.env_key("X_KEY") == KEY
    monkeypatch.setenv("X_KEY", "")
    assert env.env_key("X_KEY") is None
    for bad, why in ((KEY_TEXT[:-8], "bytes, not 32"), ("#" * 43, "not urlsafe base64")):
        monkeypatch.setenv("X_KEY", bad)
        with pytest.raises(ImproperlyConfigured, match=f"X_KEY is not a key of 32 bytes.*{why}") as refusal:
            env.env_key("X_KEY")
        assert bad not in str(refusal.value)  # never echo a secret
    monkeypatch.setenv("X_KEYS", f"{KEY_TEXT}, ,{KEY_TEXT[:10]}")
    with pytest.raises(ImproperlyConfigured, match="X_KEYS: key 3 is not a key of 32 bytes"):
        env.env_keys("X_KEYS")
    monkeypatch.delenv("X_KEYS")
    assert env.env_keys("X_KEYS") == []


def test_a_bad_backup_key_stops_the_process_naming_the_variable(tmp_path: Path) -> None:
    child_env = {**os.environ, "CREWCALL_DATA_DIR": str(tmp_path), "CREWCALL_BACKUP_KEY": "tooshort"}
    done = subprocess.run(
        [sys.executable, "-m", "crewcall", "check"], env=child_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "CREWCALL_BACKUP_KEY is not a key of 32 bytes in urlsafe base64" in done.stderr
    assert "tooshort" not in done.stderr
