"""The encrypted backup file (format version 2): a header, the manifest, the dump.

    header    76 bytes, in the clear:
              magic "CREWCALL-BACKUP\\n" (16) | format version (u16) = 2 | cipher (u8) = 1
              | reserved (u8) = 0 | plaintext bytes per dump chunk (u32) | key id (8)
              | salt (32, random per file) | length of the manifest record (u32)
              | check: the first 8 bytes of SHA-256 of all the above
    manifest  one AES-256-GCM record: the manifest's JSON, plus its 16-byte tag
    dump      AES-256-GCM records of `chunk` plaintext bytes each (chunk + 16 bytes), the
              last one shorter (possibly empty: then just its tag)

Every record is sealed with a key of its own file, HKDF-SHA256(backup key, salt), and
the nonce is the record's number (0 the manifest, 1, 2, ... the dump chunks), so no
(key, nonce) pair is ever used twice. The associated data of every record is the whole
header plus the record's kind and a last-chunk flag, so a changed header, a chunk moved,
dropped, repeated or taken from another file fails to authenticate, and so does a file
cut short: its last record was sealed as "not last". This is the STREAM construction
(Hoang, Reyhanitabar, Rogaway, Vizár 2015) as Tink's streaming AEAD uses it.

The check in the header is not a defence (anyone can recompute it) but a diagnosis: a
damaged header is reported as damaged, not as "made with another key". The key id tells
the right key from a wrong one before any decryption (keys.py).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crewcall.ops.backup.errors import BackupError
from crewcall.ops.backup.keys import KEY_ID_BYTES, BackupKey

MAGIC = b"CREWCALL-BACKUP\n"
VERSION = 2
CIPHER_AES_256_GCM = 1
CHUNK_BYTES = 1024 * 1024
TAG_BYTES = 16
SALT_BYTES = 32
CHECK_BYTES = 8
_FIELDS = struct.Struct(f">{len(MAGIC)}sHBBI{KEY_ID_BYTES}s{SALT_BYTES}sI")
HEADER_BYTES = _FIELDS.size + CHECK_BYTES
_KDF_INFO = b"crewcall backup v2 AES-256-GCM"
_MANIFEST, _DUMP = 0, 1
# A manifest grows with the tables; far below this, which only stops a damaged length.
_MANIFEST_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class Header:
    key_id: bytes
    salt: bytes
    manifest_bytes: int  # the manifest record, tag included
    chunk_bytes: int = CHUNK_BYTES
    version: int = VERSION
    cipher: int = CIPHER_AES_256_GCM

    def pack(self) -> bytes:
        fields = _FIELDS.pack(
            MAGIC, self.version, self.cipher, 0, self.chunk_bytes, self.key_id, self.salt, self.manifest_bytes
        )
        return fields + hashlib.sha256(fields).digest()[:CHECK_BYTES]


def is_sealed(start: bytes) -> bool:
    return start.startswith(MAGIC)


def parse_header(raw: bytes, *, name: str) -> Header:
    """The header of a file that starts with MAGIC: checked, not yet authenticated."""
    if len(raw) < HEADER_BYTES:
        raise BackupError(f"{name} is cut short: it ends inside its header ({len(raw)} bytes).")
    magic, version, cipher, _, chunk, key_id, salt, manifest = _FIELDS.unpack(raw[: _FIELDS.size])
    if magic != MAGIC:
        raise BackupError(f"{name} is not a Crewcall backup, or its header is damaged.")
    intact = hashlib.sha256(raw[: _FIELDS.size]).digest()[:CHECK_BYTES] == raw[_FIELDS.size : HEADER_BYTES]
    if version != VERSION or cipher != CIPHER_AES_256_GCM:
        why = "made by a newer Crewcall" if intact else "made by a newer Crewcall, or its header is damaged"
        raise BackupError(
            f"{name} is a backup of format version {version} (cipher {cipher}); this Crewcall reads "
            f"version {VERSION}: it was {why}. Restore it with the Crewcall version that made it."
        )
    if not intact:
        raise BackupError(
            f"{name} is damaged: its header (the first {HEADER_BYTES} bytes) does not match its own "
            "check. Nothing was restored; use another copy of the backup."
        )
    if not (0 < chunk <= 64 * CHUNK_BYTES) or not (TAG_BYTES <= manifest <= _MANIFEST_LIMIT):
        raise BackupError(f"{name} is damaged or was tampered with: its header holds impossible sizes.")
    return Header(key_id=key_id, salt=salt, manifest_bytes=manifest, chunk_bytes=chunk)


class _Records:
    """AES-256-GCM with the file's own key; record n has nonce n."""

    def __init__(self, key: BackupKey, header: Header, header_bytes: bytes) -> None:
        file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=header.salt, info=_KDF_INFO).derive(
            key.secret
        )
        self._aead = AESGCM(file_key)
        self._header = header_bytes

    def _ad(self, kind: int, last: bool) -> bytes:
        return self._header + bytes((kind, int(last)))

    def seal(self, number: int, kind: int, last: bool, plain: bytes) -> bytes:
        return self._aead.encrypt(number.to_bytes(12, "big"), plain, self._ad(kind, last))

    def open(self, number: int, kind: int, last: bool, sealed: bytes) -> bytes:
        return self._aead.decrypt(number.to_bytes(12, "big"), sealed, self._ad(kind, last))

    # The dump's chunks go through buffers made once: a fresh megabyte per chunk costs
    # more than AES-GCM itself (page faults).
    def seal_into(self, number: int, last: bool, plain: memoryview, out: memoryview) -> None:
        self._aead.encrypt_into(number.to_bytes(12, "big"), plain, self._ad(_DUMP, last), out)

    def open_into(self, number: int, last: bool, sealed: memoryview, out: memoryview) -> None:
        if len(sealed) < TAG_BYTES:
            raise InvalidTag
        self._aead.decrypt_into(number.to_bytes(12, "big"), sealed, self._ad(_DUMP, last), out)


def _read_into(f: BinaryIO, buffer: memoryview) -> int:
    """Fill `buffer` from `f`; fewer bytes only at the end of the file."""
    filled = 0
    while filled < len(buffer):
        got = f.readinto(buffer[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    return filled


def _read_full(f: BinaryIO, size: int) -> bytes:
    buffer = bytearray(size)
    return bytes(buffer[: _read_into(f, memoryview(buffer))])


def seal(
    out: BinaryIO,
    key: BackupKey,
    manifest: bytes,
    dump: BinaryIO,
    *,
    on_bytes: Callable[[int], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> None:
    """Write the whole file to `out`: header, manifest, then `dump` read in chunks."""
    header = Header(
        key_id=key.key_id,
        salt=os.urandom(SALT_BYTES),
        manifest_bytes=len(manifest) + TAG_BYTES,
        chunk_bytes=chunk_bytes,
    )
    head = header.pack()
    records = _Records(key, header, head)
    out.write(head)
    out.write(records.seal(0, _MANIFEST, True, manifest))
    plain = memoryview(bytearray(chunk_bytes))
    sealed = memoryview(bytearray(chunk_bytes + TAG_BYTES))
    number, done = 1, 0
    while True:
        size = _read_into(dump, plain)
        # The last record is the first shorter than a chunk (empty when the dump fills its chunks).
        last = size < chunk_bytes
        records.seal_into(number, last, plain[:size], sealed[: size + TAG_BYTES])
        out.write(sealed[: size + TAG_BYTES])
        done += size
        if on_bytes is not None:
            on_bytes(done)
        if last:
            return
        number += 1


@dataclass
class SealedReader:
    """Reads a sealed file with the key its header names (found by the caller)."""

    f: BinaryIO
    name: str
    header: Header
    header_bytes: bytes
    key: BackupKey
    records: _Records

    @classmethod
    def start(cls, f: BinaryIO, name: str, key_for: Callable[[bytes], BackupKey]) -> SealedReader:
        raw = _read_full(f, HEADER_BYTES)
        header = parse_header(raw, name=name)
        key = key_for(header.key_id)
        return cls(f, name, header, raw, key, _Records(key, header, raw))

    def manifest(self) -> bytes:
        record = _read_full(self.f, self.header.manifest_bytes)
        if len(record) < self.header.manifest_bytes:
            raise BackupError(f"{self.name} is cut short: it ends inside its manifest. Nothing was restored.")
        try:
            return self.records.open(0, _MANIFEST, True, record)
        except InvalidTag:
            raise BackupError(
                f"{self.name} is damaged or was tampered with: its manifest does not authenticate, "
                "although the key is the one it was made with (same key id). Nothing was restored; "
                "use another copy of the backup."
            ) from None

    def chunks(self) -> Iterator[memoryview]:
        """The dump's plaintext, chunk by chunk, each authentic before it is yielded (call
        after manifest()). A chunk is valid until the next one is asked for: one buffer
        serves them all."""
        full = self.header.chunk_bytes + TAG_BYTES
        record = memoryview(bytearray(full))
        plain = memoryview(bytearray(self.header.chunk_bytes))
        number = 1
        offset = HEADER_BYTES + self.header.manifest_bytes
        while True:
            size = _read_into(self.f, record)
            # Every record but the last is full: a short one is the end of the file.
            last = size < full
            try:
                self.records.open_into(number, last, record[:size], plain[: max(size - TAG_BYTES, 0)])
            except InvalidTag:
                raise self._refusal(number, offset, size, last) from None
            yield plain[: size - TAG_BYTES]
            offset += size
            if last:
                return
            number += 1

    def _refusal(self, number: int, offset: int, size: int, last: bool) -> BackupError:
        where = f"chunk {number} of the dump (from byte {offset})"
        if not last:
            return BackupError(
                f"{self.name} is damaged or was tampered with: {where} does not authenticate. "
                "Nothing was restored; use another copy of the backup."
            )
        # A shorter record that does not open is the file's end: cut there, or changed.
        return BackupError(
            f"{self.name} is cut short, damaged or was tampered with: the file ends in {where} "
            f"at byte {offset + size}, and that chunk does not authenticate as the last. "
            "Nothing was restored; use another copy of the backup."
        )
