"""Retention of inbound messages: the provider's raw request goes after a window.

What the audit needs of a reply stays in its own columns for good: the sender
(`from_number`), the provider's id, the text and the button payload, the quoted message,
when it arrived, who it was from, the invitation it answered and the outcome. The raw
request (every form field the provider posted: profile name, WhatsApp id, media links …)
is only needed to look into a problem soon after it happened, so after
INBOUND_RAW_KEEP_DAYS it becomes `{}`.

The database refuses any change to a received message (`messaging_inbound_guard`) except
this one, made only by the owner's definer function `crewcall_inbound_raw_prune`
(messaging/migrations/0006_privileged_raw_prune.py): the application role cannot make it
itself. Dropping the payload is housekeeping, not a change anyone made: it writes no
history row, so the history tables stay as they were. The row's version
still moves and the change feed still tells subscribers, since the row's detail in the
API (`raw`) did change. The history rows keep the raw payload they copied at the time.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from crewcall.core.retention import MAX_BATCHES, PRUNE_BATCH, in_batches
from crewcall.core.transactions import service


@service
def inbound_raw_prune_batch(
    *, actor: object = None, older_than: datetime, batch_size: int = PRUNE_BATCH
) -> int:
    """Drop the raw request of up to `batch_size` applied messages received before
    `older_than`; returns how many. One transaction."""
    with connection.cursor() as cur:
        cur.execute("SELECT crewcall_inbound_raw_prune(%s, %s)", [older_than, batch_size])
        row = cur.fetchone()
    return int(row[0]) if row else 0


def inbound_raw_prune(
    *, older_than: datetime, batch_size: int = PRUNE_BATCH, max_batches: int = MAX_BATCHES
) -> int:
    """Batch after batch, one transaction each; returns how many payloads were dropped."""
    return in_batches(
        lambda size: inbound_raw_prune_batch(older_than=older_than, batch_size=size),
        batch_size=batch_size,
        max_batches=max_batches,
    )
