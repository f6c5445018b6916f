"""Reading the change feed: one query per call, whatever the batch size.

`changes_after` returns the changes after a cursor, in (xid, seq) order, never past the
horizon of transactions still running: a change whose transaction has not committed yet
always has xid ≥ that horizon, so a reader can never move past it (docs/changes.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from crewcall.changes.cursor import Cursor

# The horizon: the oldest transaction that may still write to this database, in this
# statement's snapshot, capped by the reader's own transaction id if it has written (its own
# changes are not committed yet, though it can see them). One definition, in the database
# (migration changes.0004): running transactions of other databases do not hold it back.
HORIZON = "changes_horizon()"

_STATE = f"""
    SELECT f.epoch, f.pruned_xid, f.pruned_seq, {HORIZON} AS horizon,
           pg_snapshot_xmax(pg_current_snapshot()) AS xmax
    FROM changes_feed f
"""  # noqa: S608 - only the constant fragment above is formatted in


class FeedMissing(RuntimeError):
    """changes_feed has lost its row: the database was not migrated or was tampered with."""


@dataclass(frozen=True)
class Change:
    seq: int
    xid: int
    table: str
    op: str  # "I", "U" or "D"
    row_id: int
    version: int | None
    event_id: int | None
    employee_id: int | None
    # The scope keys a row left ("event", "employee"), on the change telling its old scope
    # (event_id and employee_id are then the old ones); None on every other change.
    scope_left: tuple[str, ...] | None
    actor_id: int | None
    source: str | None
    request_id: str | None
    at: datetime
    cursor: Cursor  # resume here to get the changes after this one (the SSE `id:`)

    def payload(self) -> dict[str, Any]:
        """The JSON-ready fields a subscriber sees (without the cursor, which is the SSE id)."""
        fields = {
            "table": self.table,
            "op": self.op,
            "id": self.row_id,
            "version": self.version,
            "event": self.event_id,
            "employee": self.employee_id,
            "actor": self.actor_id,
            "source": self.source,
            "request_id": self.request_id,
            "at": self.at.isoformat(),
        }
        if self.scope_left:
            fields["left"] = list(self.scope_left)
        return fields

    def in_scope(self, *, event_id: int | None, employee_id: int | None) -> bool:
        """Whether a reader filtered so gets this change; the Python twin of `scope_filter`.
        A scope-left change goes to readers of its old scope that filter on a key it left:
        a reader whose key did not change got the row's own change already."""
        if event_id is not None and self.event_id != event_id:
            return False
        if employee_id is not None and self.employee_id != employee_id:
            return False
        if not self.scope_left or (event_id is None and employee_id is None):
            return True
        return (event_id is not None and "event" in self.scope_left) or (
            employee_id is not None and "employee" in self.scope_left
        )


@dataclass(frozen=True)
class ChangeBatch:
    changes: list[Change]
    # Where to continue from. With `reset`, the current position: reload everything,
    # then continue from here.
    cursor: Cursor
    # The cursor's epoch is not this database's (restored, or another installation), or
    # the changes after it were pruned: they cannot be delivered.
    reset: bool
    # The batch was cut at `limit`: read again at once.
    more: bool


def current_cursor() -> Cursor:
    """A cursor for "from now on": every change not yet committed comes after it."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT s.epoch, s.horizon::text FROM ({_STATE}) s")  # noqa: S608 - constant
        row = cur.fetchone()
    if row is None:
        raise FeedMissing("changes_feed has no row")
    return Cursor(epoch=row[0], xid=int(row[1]), seq=0)


def scope_filter(*, event_id: int | None, employee_id: int | None, params: dict[str, Any]) -> str:
    """The SQL condition on `changes_change c` for a reader filtered by event and/or employee
    (values go into `params`); the SQL twin of `Change.in_scope`."""
    filters = ""
    named: list[str] = []
    if event_id is not None:
        filters += " AND c.event_id = %(event_id)s"
        params["event_id"] = event_id
        named.append("event")
    if employee_id is not None:
        filters += " AND c.employee_id = %(employee_id)s"
        params["employee_id"] = employee_id
        named.append("employee")
    if named:
        filters += " AND (c.scope_left IS NULL OR c.scope_left && %(named)s::text[])"
        params["named"] = named
    return filters


def changes_after(
    *,
    cursor: Cursor | None,
    event_id: int | None = None,
    employee_id: int | None = None,
    limit: int,
) -> ChangeBatch:
    """The changes after `cursor` (None: from the oldest kept), at most `limit`, in
    (xid, seq) order, only those already committed below the horizon.

    Filters keep changes whose scope key equals the one given (both: both must match);
    changes without that key (roles, skills, users) are not in a filtered batch; a change
    telling that a row left a scope goes to the readers of its old scope that filter on a
    key it left (`Change.in_scope`). The
    returned cursor moves past filtered-out changes too, up to the horizon, so a
    filtered reader never scans them again.

    One query: the feed state, the horizon and the rows come from one snapshot, so a
    concurrent prune cannot slip between the watermark check and the read.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    params: dict[str, Any] = {
        "epoch": cursor.epoch if cursor else None,
        "xid": str(cursor.xid) if cursor else None,
        "seq": cursor.seq if cursor else None,
        "limit": limit,
    }
    filters = scope_filter(event_id=event_id, employee_id=employee_id, params=params)
    # MATERIALIZED: the horizon is computed once. Inlined, the planner evaluates the
    # function once for the cursor it returns and again in the filter on the rows, and two
    # calls can differ (a transaction of another database that ends in between holds one
    # of them back): rows read past the returned cursor came again with the next read, or
    # rows below it were skipped for good.
    sql = f"""
        WITH state AS MATERIALIZED ({_STATE}),
        verdict AS MATERIALIZED (
            SELECT s.*, (
                %(epoch)s::text IS NOT NULL AND (
                    %(epoch)s::text <> s.epoch
                    OR %(xid)s::xid8 > s.xmax
                    OR (s.pruned_xid IS NOT NULL
                        AND (%(xid)s::xid8, %(seq)s::bigint) < (s.pruned_xid, s.pruned_seq))
                )
            ) AS reset
            FROM state s
        )
        SELECT v.epoch, v.horizon::text, v.reset,
               c.seq, c.xid::text, c.table_name, c.op, c.row_id, c.version, c.event_id,
               c.employee_id, c.actor_id, c.source, c.request_id, c.at, c.scope_left
        FROM verdict v
        LEFT JOIN LATERAL (
            SELECT c.* FROM changes_change c
            WHERE NOT v.reset
              AND (c.xid, c.seq) > (COALESCE(%(xid)s::xid8, '0'::xid8), COALESCE(%(seq)s::bigint, 0))
              AND c.xid < v.horizon{filters}
            ORDER BY c.xid, c.seq
            LIMIT %(limit)s
        ) c ON true
        ORDER BY c.xid, c.seq
    """  # noqa: S608 - only constant fragments are formatted in; values are parameters
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    if not rows:
        raise FeedMissing("changes_feed has no row")
    epoch, horizon, reset = rows[0][0], int(rows[0][1]), rows[0][2]
    at_horizon = Cursor(epoch=epoch, xid=horizon, seq=0)
    if reset:
        return ChangeBatch(changes=[], cursor=at_horizon, reset=True, more=False)
    changes = [
        Change(
            seq=row[3],
            xid=int(row[4]),
            table=row[5],
            op=row[6],
            row_id=row[7],
            version=row[8],
            event_id=row[9],
            employee_id=row[10],
            actor_id=row[11],
            source=row[12],
            request_id=row[13],
            at=row[14],
            scope_left=tuple(row[15]) if row[15] else None,
            cursor=Cursor(epoch=epoch, xid=int(row[4]), seq=row[3]),
        )
        for row in rows
        if row[3] is not None
    ]
    more = len(changes) == limit
    if more:
        next_cursor = changes[-1].cursor
    elif cursor is not None and cursor.position > at_horizon.position:
        next_cursor = cursor  # never move backwards (a cursor from a later snapshot)
    else:
        next_cursor = at_horizon
    return ChangeBatch(changes=changes, cursor=next_cursor, reset=False, more=more)


# How long the feed has been held back: the age of the oldest transaction holding the horizon
# (when it started, as far as the server shows it: other roles' start times need
# pg_read_all_stats; a prepared transaction's, when it was prepared), and, for a holder whose
# start is not shown, the age of the oldest committed change waiting behind the horizon.
# 0 when nothing holds the feed back.
HORIZON_AGE_SQL = """
WITH holders AS MATERIALIZED (SELECT h FROM changes_horizon_holders() h),
started AS (
    SELECT a.xact_start AS at FROM holders JOIN pg_stat_get_activity(NULL) a ON a.backend_xid = holders.h::xid
    UNION ALL
    SELECT p.prepared FROM holders JOIN pg_prepared_xacts p ON p.transaction = holders.h::xid
    UNION ALL
    SELECT min(c.at) FROM changes_change c WHERE c.xid >= changes_horizon()
)
SELECT coalesce(greatest(extract(epoch FROM now() - min(at)), 0), 0)::float8 FROM started
"""


def feed_horizon_age_s() -> float:
    """Seconds the oldest transaction holding the feed back has been open (0: none)."""
    with connection.cursor() as cur:
        cur.execute(HORIZON_AGE_SQL)
        row = cur.fetchone()
    return float(row[0]) if row else 0.0
