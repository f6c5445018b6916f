"""Retention of inbound messages: the provider's raw request goes after a window.

What the audit needs of a reply stays in its own columns for good: the sender
(`from_number`), the provider's id, the text and the button payload, the quoted message,
when it arrived, who it was from, the invitation it answered and the outcome. The raw
request (every form field the provider posted: profile name, WhatsApp id, media links …)
is only needed to look into a problem soon after it happened, so after
INBOUND_RAW_KEEP_DAYS it becomes `{}`.

The database refuses any change to a received message (`messaging_inbound_guard`) except
this one, and only while `crewcall.retention` is on in the same transaction. Dropping
the payload is housekeeping, not a change anyone made: it writes no history row (the
update trigger of the history is skipped for this statement through pgtrigger's own
switch, transaction-local), so the history tables stay as they were. The row's version
still moves and the change feed still tells subscribers, since the row's detail in the
API (`raw`) did change. The history rows keep the raw payload they copied at the time.
"""

from __future__ import annotations

from datetime import datetime

import pgtrigger
from django.db import connection

from crewcall.core.retention import MAX_BATCHES, PRUNE_BATCH, in_batches
from crewcall.core.transactions import service

# The trigger of the history that copies each update (pghistory's UpdateEvent).
HISTORY_UPDATE_TRIGGER = "messaging.InboundMessage:update_update"

# The oldest payloads first (a partial index holds only messages that still have one),
# never a message still waiting to be applied, skipping rows an applier holds.
_DROP_RAW = """
WITH doomed AS (
    SELECT m.id FROM messaging_inboundmessage m
    WHERE m.raw <> '{}'::jsonb AND m.received_at < %(cutoff)s AND m.outcome <> 'pending'
    ORDER BY m.received_at, m.id
    LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
UPDATE messaging_inboundmessage m SET raw = '{}'::jsonb FROM doomed d WHERE m.id = d.id
"""


def _history_update_trigger() -> str:
    model, trigger = pgtrigger.registered(HISTORY_UPDATE_TRIGGER)[0]
    return str(trigger.get_pgid(model))


@service
def inbound_raw_prune_batch(
    *, actor: object = None, older_than: datetime, batch_size: int = PRUNE_BATCH
) -> int:
    """Drop the raw request of up to `batch_size` applied messages received before
    `older_than`; returns how many. One transaction."""
    with connection.cursor() as cur:
        cur.execute("SELECT set_config('crewcall.retention', 'on', true)")
        skip_history = "{" + _history_update_trigger() + "}"
        cur.execute("SELECT set_config('pgtrigger.ignore', %s, true)", [skip_history])
        cur.execute(_DROP_RAW, {"cutoff": older_than, "batch": batch_size})
        dropped = cur.rowcount
        # Back to the connection's defaults before anything else runs in this transaction.
        cur.execute("SELECT set_config('pgtrigger.ignore', '{}', true)")
        cur.execute("SELECT set_config('crewcall.retention', 'off', true)")
    return dropped


def inbound_raw_prune(
    *, older_than: datetime, batch_size: int = PRUNE_BATCH, max_batches: int = MAX_BATCHES
) -> int:
    """Batch after batch, one transaction each; returns how many payloads were dropped."""
    return in_batches(
        lambda size: inbound_raw_prune_batch(older_than=older_than, batch_size=size),
        batch_size=batch_size,
        max_batches=max_batches,
    )
