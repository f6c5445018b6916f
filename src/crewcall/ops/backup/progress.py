"""A one-line progress bar on stderr, redrawn in place; silent unless stderr is a terminal."""

from __future__ import annotations

import shutil
import time
from typing import TextIO

_WIDTH = 24


class Progress:
    def __init__(self, stream: TextIO, *, enabled: bool | None = None) -> None:
        self.stream = stream
        if enabled is None:
            isatty = getattr(stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._label = ""
        self._total = 0
        self._drawn = 0.0
        self._width = 0
        self._bytes = False

    @classmethod
    def quiet(cls, stream: TextIO) -> Progress:
        return cls(stream, enabled=False)

    def start(self, label: str, total: int, *, in_bytes: bool = False) -> None:
        """A new bar; `total` 0 while unknown (start again when it is known)."""
        self._label = label
        self._total = max(total, 0)
        self._bytes = in_bytes
        self._drawn = 0.0
        self.update(0)

    def update(self, done: int, detail: str = "", *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        # At most 20 redraws a second: a restore reports hundreds of steps.
        if not force and done and done < self._total and now - self._drawn < 0.05:
            return
        self._drawn = now
        columns = shutil.get_terminal_size((80, 24)).columns
        if self._total:
            share = min(done, self._total) / self._total
            filled = int(share * _WIDTH)
            bar = "#" * filled + "-" * (_WIDTH - filled)
            line = f"{self._label:<10} [{bar}] {share:4.0%} {self._amount(min(done, self._total))}"
        else:
            line = f"{self._label:<10} {self._amount(done)}"
        if detail:
            line += f" {detail}"
        line = line[: max(columns - 1, 10)]
        self.stream.write("\r" + line.ljust(self._width))
        self.stream.flush()
        self._width = len(line)

    def _amount(self, done: int) -> str:
        if self._bytes:
            return f"{done / 1e6:.1f}/{self._total / 1e6:.1f} MB"
        return f"{done}/{self._total}" if self._total else str(done)

    def finish(self, summary: str = "") -> None:
        if not self.enabled:
            return
        self.update(self._total, summary, force=True)
        self.stream.write("\n")
        self.stream.flush()
        self._width = 0
