"""What backup and restore raise: a refusal or failure worded for the person at the terminal."""

from __future__ import annotations


class BackupError(Exception):
    """Backup or restore cannot go on; the message says why and what to do."""


class VerificationFailed(BackupError):
    """The restored database differs from the backup's manifest (names every table)."""

    def __init__(self, mismatches: list[str]) -> None:
        self.mismatches = mismatches
        lines = "\n".join(f"  - {m}" for m in mismatches)
        super().__init__(
            f"The restored database does not match the backup in {len(mismatches)} table(s):\n{lines}\n"
            "Do not use it: empty the database again and restore from another copy of the backup."
        )
