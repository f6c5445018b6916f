"""Checks of the audit trail: pghistory's history tables (the change feed checks its own
log, changes/integrity.py).

The table lists come from the models, so a new tracked table is checked without touching
this file.
"""

from __future__ import annotations

from crewcall.core.integrity import Check, register, row_resnapshot, tracked_tables, union_all


def history_latest_sql() -> str:
    return union_all(
        [
            f"""SELECT '{t}', t.id,
                   CASE WHEN h.v IS NULL THEN 'row has no history' ELSE 'history behind the row' END,
                   t.version::text, COALESCE(h.v::text, 'none')
            FROM {t} t LEFT JOIN (SELECT pgh_obj_id, max(version) AS v FROM {h} GROUP BY pgh_obj_id) h
              ON h.pgh_obj_id = t.id
            WHERE h.v IS DISTINCT FROM t.version"""  # noqa: S608 - table names from the models
            for t, h, versioned in tracked_tables()
            if versioned
        ]
        + [
            f"""SELECT '{t}', t.id, 'row has no history', 'a history row', 'none'
            FROM {t} t WHERE NOT EXISTS (SELECT 1 FROM {h} h WHERE h.pgh_obj_id = t.id)"""  # noqa: S608
            for t, h, versioned in tracked_tables()
            if not versioned
        ]
    )


def history_orphans_sql() -> str:
    return union_all(
        [
            f"""SELECT '{t}', h.pgh_obj_id, 'history of a row that is gone without a delete',
                   'the row, or a delete history row', 'none'
            FROM (SELECT pgh_obj_id FROM {h} GROUP BY pgh_obj_id
                  HAVING NOT bool_or(pgh_label = 'delete')) h
            WHERE NOT EXISTS (SELECT 1 FROM {t} t WHERE t.id = h.pgh_obj_id)"""  # noqa: S608
            for t, h, _versioned in tracked_tables()
        ]
    )


register(
    Check(
        id="history.latest_matches_row",
        severity="error",
        description="Every row of a tracked table has history, and its last history row carries "
        "the row's current version.",
        sql=history_latest_sql(),
        repair=row_resnapshot,
    )
)

register(
    Check(
        id="history.points_at_something",
        severity="error",
        description="History rows belong to a row that exists, or the history records its delete.",
        sql=history_orphans_sql(),
        left_because="History is never deleted; the row was removed behind the triggers' back and "
        "someone has to find out how.",
    )
)
