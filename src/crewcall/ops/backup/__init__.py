"""`crewcall backup FILE` and `crewcall restore FILE` (docs/backup.md).

- `tools`: where the database is, which pg_dump / pg_restore fit its server;
- `manifest`: per-table row counts and checksums, the schema version;
- `keys`: the backup key and older keys; `sealed`: the encrypted file format;
- `archive`: the backup file (header, then manifest and pg_dump's custom-format dump,
  encrypted); `legacy`: reading the unencrypted files of format version 1;
- `create`: the backup, `run`: the restore and what both share; `progress`: the bar.
"""

from crewcall.ops.backup.create import create_backup
from crewcall.ops.backup.errors import BackupError, VerificationFailed
from crewcall.ops.backup.run import restore_backup

__all__ = ["BackupError", "VerificationFailed", "create_backup", "restore_backup"]
