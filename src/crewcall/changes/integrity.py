"""Integrity checks of the change feed's log and state (docs/integrity.md), registered for
`crewcall integrity`.

The table list comes from the change feed's migration, so a new table on the feed is
checked without touching this file.
"""

from __future__ import annotations

import importlib

from crewcall.changes.services import changes_feed_recreate
from crewcall.core.integrity import Check, Finding, register, row_resnapshot, union_all

# Tables on the change feed whose trigger records no version (docs/changes.md).
FEED_WITHOUT_VERSION = {"accounts_user", "events_workareaskill", "people_employeeskill"}


def feed_tables() -> list[str]:
    record = importlib.import_module("crewcall.changes.migrations.0002_record_changes")
    return sorted(record.TABLES)


def changes_latest_sql() -> str:
    return union_all(
        [
            f"""SELECT '{t}', t.id,
                   CASE WHEN c.v IS NULL THEN 'no change recorded' ELSE 'change log behind the row' END,
                   t.version::text, COALESCE(c.v::text, 'none')
            FROM {t} t LEFT JOIN (SELECT row_id, max(version) AS v FROM changes_change
                                  WHERE table_name = '{t}' GROUP BY row_id) c ON c.row_id = t.id
            WHERE CASE WHEN c.v IS NULL THEN (SELECT f.pruned_xid IS NULL FROM changes_feed f)
                       ELSE c.v <> t.version END"""  # noqa: S608
            for t in feed_tables()
            if t not in FEED_WITHOUT_VERSION
        ]
    )


def changes_orphans_sql() -> str:
    return union_all(
        [
            f"""SELECT '{t}', c.row_id, 'changes of a row that is gone without a delete change',
                   'the row, or a delete change', 'none'
            FROM (SELECT row_id FROM changes_change WHERE table_name = '{t}'
                  GROUP BY row_id HAVING NOT bool_or(op = 'D')) c
            WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE t.id = c.row_id)"""  # noqa: S608
            for t in feed_tables()
        ]
    )


# A gap is healed once a repair has recorded the row's whole state after it.
VERSION_GAPS = """
WITH healed AS (
    SELECT table_name, row_id, max(version) AS v FROM changes_change
    WHERE source = 'repair' AND version IS NOT NULL GROUP BY table_name, row_id
)
SELECT c.table_name, c.row_id, 'change log skips versions', (c.prev + 1)::text, c.version::text
FROM (SELECT table_name, row_id, version,
             lag(version) OVER (PARTITION BY table_name, row_id ORDER BY version, seq) AS prev
      FROM changes_change WHERE version IS NOT NULL) c
LEFT JOIN healed h ON h.table_name = c.table_name AND h.row_id = c.row_id
WHERE c.prev IS NOT NULL AND c.version > c.prev + 1 AND (h.v IS NULL OR h.v < c.version)
UNION ALL
SELECT c.table_name, c.row_id, 'change log starts after version 1', '1', min(c.version)::text
FROM changes_change c
LEFT JOIN healed h ON h.table_name = c.table_name AND h.row_id = c.row_id
WHERE c.version IS NOT NULL AND h.v IS NULL
GROUP BY c.table_name, c.row_id
HAVING min(c.version) > 1 AND (SELECT f.pruned_xid IS NULL FROM changes_feed f)
"""


def feed_state_restore(finding: Finding) -> str:
    changes_feed_recreate(actor=None)
    return "recreated the feed state with a new epoch (every client gets a reset)"


register(
    Check(
        id="changes.feed_state",
        severity="error",
        description="The change feed's state table holds its one row (epoch and watermark).",
        sql="""SELECT 'changes_feed', 0, 'the feed state row is missing', '1 row', '0 rows'
               WHERE NOT EXISTS (SELECT 1 FROM changes_feed)""",
        repair=feed_state_restore,
    )
)

register(
    Check(
        id="changes.latest_matches_row",
        severity="error",
        description="Every row on the change feed has its last change recorded with its current "
        "version (until retention has pruned the feed).",
        sql=changes_latest_sql(),
        repair=row_resnapshot,
    )
)

register(
    Check(
        id="changes.version_gaps",
        severity="error",
        description="A row's kept changes have no missing versions (a reader never saw the skipped "
        "ones), unless a repair has since recorded the row's whole state.",
        sql=VERSION_GAPS,
        repair=row_resnapshot,
    )
)

register(
    Check(
        id="changes.points_at_something",
        severity="warning",
        description="Changes belong to a row that exists, or the log records its delete.",
        sql=changes_orphans_sql(),
        left_because="The change log is append-only; retention removes these rows in time.",
    )
)

register(
    Check(
        id="changes.readable_order",
        severity="error",
        description="Kept changes lie above the retention watermark and below the newest "
        "transaction id: readers skip changes at or below the watermark and stall on future ones.",
        sql="""
        SELECT 'changes_change', c.seq, 'kept at or below the retention watermark',
               '> (' || f.pruned_xid || ', ' || f.pruned_seq || ')', '(' || c.xid || ', ' || c.seq || ')'
        FROM changes_change c, changes_feed f
        WHERE f.pruned_xid IS NOT NULL AND (c.xid, c.seq) <= (f.pruned_xid, f.pruned_seq)
        UNION ALL
        SELECT 'changes_change', c.seq, 'transaction id from the future',
               '< ' || pg_snapshot_xmax(pg_current_snapshot()), c.xid::text
        FROM changes_change c WHERE c.xid >= pg_snapshot_xmax(pg_current_snapshot())
          AND c.xid IS DISTINCT FROM pg_current_xact_id_if_assigned()  -- our own (tests)
        """,
        left_because="The change log is append-only and its order is what cursors rely on; a human "
        "decides whether to renew the epoch (every client reloads).",
    )
)
