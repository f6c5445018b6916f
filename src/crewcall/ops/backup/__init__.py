"""`crewcall backup FILE` and `crewcall restore FILE` (docs/backup.md).

- `tools`: where the database is, which pg_dump / pg_restore fit its server;
- `manifest`: per-table row counts and checksums, the schema version;
- `archive`: the backup file (a tar of manifest.json and pg_dump's custom-format dump);
- `run`: the two procedures; `progress`: the progress bar on stderr.
"""

from crewcall.ops.backup.errors import BackupError, VerificationFailed
from crewcall.ops.backup.run import create_backup, restore_backup

__all__ = ["BackupError", "VerificationFailed", "create_backup", "restore_backup"]
