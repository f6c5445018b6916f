"""The change feed's own writes as SECURITY DEFINER functions (core/roles.py).

The runtime role may only read and append to the change log and only read the feed's
state; pruning old changes, a new epoch after a restore and recreating a lost state row
are done by these functions, which run as the owner, do exactly their one job and record
each call (core_privilegedcall).
"""

from django.db import migrations

FUNCTIONS = """
CREATE FUNCTION crewcall_changes_prune(batch integer, cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
-- One batch: the oldest changes in (xid, seq) order, below the horizon (committed or
-- aborted, never one still in flight), cut at the first one not old enough. Pruning a
-- prefix of the order keeps the watermark exact: everything at or below it is gone,
-- everything above it is kept.
DECLARE
    deleted bigint;
BEGIN
    IF batch IS NULL OR batch < 1 OR batch > 100000 THEN
        RAISE EXCEPTION 'batch must be between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    -- One pruner at a time: the watermark only ever moves forward.
    PERFORM 1 FROM changes_feed FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'changes_feed has no row' USING ERRCODE = 'P0002';
    END IF;
    WITH batch_rows AS (
        SELECT c.seq, c.xid, c.at FROM changes_change c
        WHERE c.xid < changes_horizon()
        ORDER BY c.xid, c.seq
        LIMIT batch
    ),
    stop AS (
        SELECT b.xid, b.seq FROM batch_rows b WHERE b.at >= cutoff ORDER BY b.xid, b.seq LIMIT 1
    ),
    doomed AS (
        SELECT b.seq FROM batch_rows b
        WHERE NOT EXISTS (SELECT 1 FROM stop s WHERE (b.xid, b.seq) >= (s.xid, s.seq))
    ),
    gone AS (
        DELETE FROM changes_change c USING doomed d WHERE c.seq = d.seq RETURNING c.xid, c.seq
    ),
    last AS (
        SELECT xid, seq FROM gone ORDER BY xid DESC, seq DESC LIMIT 1
    ),
    moved AS (
        UPDATE changes_feed f SET pruned_xid = last.xid, pruned_seq = last.seq
        FROM last
        WHERE f.pruned_xid IS NULL OR (last.xid, last.seq) > (f.pruned_xid, f.pruned_seq)
        RETURNING f.id
    )
    -- (moved runs whether read or not: data-modifying CTEs always do)
    SELECT count(*) FROM gone INTO deleted;
    PERFORM crewcall_privileged_call_record(
        'crewcall_changes_prune', jsonb_build_object('batch', batch, 'cutoff', cutoff), deleted);
    RETURN deleted;
END
$$;
REVOKE EXECUTE ON FUNCTION crewcall_changes_prune(integer, timestamptz) FROM PUBLIC;

CREATE FUNCTION crewcall_changes_new_epoch(new_epoch text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
-- After a restore: a new epoch (every earlier cursor gets `reset`), and no restored change
-- left ahead of this cluster's transaction ids (they would pass for new once its counter
-- got there, and a watermark up there would make every new cursor look pruned).
DECLARE
    cut xid8 := pg_current_xact_id();
    dropped bigint;
BEGIN
    IF new_epoch IS NULL OR new_epoch !~ '^[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'an epoch is 12 hex digits' USING ERRCODE = '22023';
    END IF;
    UPDATE changes_feed SET epoch = new_epoch;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'changes_feed has no row' USING ERRCODE = 'P0002';
    END IF;
    DELETE FROM changes_change WHERE xid >= cut;
    GET DIAGNOSTICS dropped = ROW_COUNT;
    UPDATE changes_feed SET pruned_xid = NULL, pruned_seq = NULL WHERE pruned_xid >= cut;
    PERFORM crewcall_privileged_call_record(
        'crewcall_changes_new_epoch', jsonb_build_object('epoch', new_epoch), dropped);
    RETURN dropped;
END
$$;
REVOKE EXECUTE ON FUNCTION crewcall_changes_new_epoch(text) FROM PUBLIC;

CREATE FUNCTION crewcall_changes_feed_recreate(new_epoch text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
-- The integrity repair for a lost feed state row: a new one with a new epoch.
DECLARE
    made bigint;
BEGIN
    IF new_epoch IS NULL OR new_epoch !~ '^[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'an epoch is 12 hex digits' USING ERRCODE = '22023';
    END IF;
    INSERT INTO changes_feed (epoch) VALUES (new_epoch) ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS made = ROW_COUNT;
    PERFORM crewcall_privileged_call_record(
        'crewcall_changes_feed_recreate', jsonb_build_object('epoch', new_epoch), made);
    RETURN made > 0;
END
$$;
REVOKE EXECUTE ON FUNCTION crewcall_changes_feed_recreate(text) FROM PUBLIC;
"""

DROP = """
DROP FUNCTION crewcall_changes_prune(integer, timestamptz);
DROP FUNCTION crewcall_changes_new_epoch(text);
DROP FUNCTION crewcall_changes_feed_recreate(text);
"""


class Migration(migrations.Migration):
    dependencies = [("changes", "0004_horizon_and_scope_left"), ("core", "0003_privileged_calls")]

    operations = [migrations.RunSQL(FUNCTIONS, DROP)]
