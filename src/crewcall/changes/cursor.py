"""The change feed's cursor: (epoch, xid, seq), written as one opaque string.

The string is what SSE sends as `id:` and what a client sends back as `Last-Event-ID`
or `?since=`. Clients must not take it apart; its shape is `<epoch>.<xid>.<seq>`
(lower-case letters and digits, dots), safe in a URL and in an SSE field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FORMAT = re.compile(r"([a-z0-9]{1,32})\.([0-9]{1,19})\.([0-9]{1,19})")
_MAX = 2**63 - 1


class InvalidCursor(ValueError):
    """The text is not a cursor this feed ever handed out (malformed, not merely old)."""


@dataclass(frozen=True, order=False)
class Cursor:
    """Everything at or before (xid, seq) in feed `epoch` has been delivered.

    A cursor taken at the horizon has seq 0: every change of transaction `xid` and later
    is still to come.
    """

    epoch: str
    xid: int
    seq: int

    def __post_init__(self) -> None:
        if not _FORMAT.fullmatch(f"{self.epoch}.{self.xid}.{self.seq}"):
            raise InvalidCursor(f"not a cursor: {self.epoch!r}, {self.xid!r}, {self.seq!r}")
        if self.xid > _MAX or self.seq > _MAX:
            raise InvalidCursor("cursor out of range")

    @property
    def position(self) -> tuple[int, int]:
        return (self.xid, self.seq)

    def encode(self) -> str:
        return f"{self.epoch}.{self.xid}.{self.seq}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        match = _FORMAT.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InvalidCursor("not a cursor of this change feed")
        return cls(epoch=match[1], xid=int(match[2]), seq=int(match[3]))

    def __str__(self) -> str:
        return self.encode()
