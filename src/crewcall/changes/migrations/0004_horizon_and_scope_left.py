"""The feed's horizon per database, scope-left changes that keep their whole old scope, and
scope lookups that survive a parent deleted earlier in the same transaction
(docs/changes.md).

`changes_horizon()` is the one definition of the horizon: the oldest transaction that may
still write to this database, in the calling statement's snapshot. It is a STABLE function,
so it sees the caller's snapshot (one query, one snapshot); it clears the session's cached
copy of the backend activity table first, so what `pg_stat_get_activity` says is read during
the calling statement, after its snapshot was taken (the proof in docs/changes.md needs that).

`changes_record` now writes a scope-left change with the row's whole old scope and names the
keys it left in `scope_left`: a reader filtered by event and employee together is told when
the row leaves either. A work-area skill link (or an inbound message) whose work area
(invitation) was deleted earlier in the same transaction, which deferred foreign keys allow,
takes its event from that delete's change.
"""

import importlib

import django.contrib.postgres.fields
from django.db import migrations, models

previous = importlib.import_module("crewcall.changes.migrations.0002_record_changes")

HORIZON = """
CREATE FUNCTION changes_horizon_holders() RETURNS SETOF xid8
LANGUAGE plpgsql STABLE AS $$
-- The running transactions of the calling statement's snapshot that may write to this
-- database: all of them but those the server shows as the transaction of a backend connected
-- to another database (a backend never changes database, and a transaction writes only to
-- its backend's database). Unknown ones (prepared, finished meanwhile, not shown) stay.
BEGIN
    PERFORM pg_stat_clear_snapshot();  -- read the activity table now, not a copy from earlier
    RETURN QUERY
        SELECT x FROM pg_snapshot_xip(pg_current_snapshot()) x
        WHERE x::xid NOT IN (
            SELECT a.backend_xid FROM pg_stat_get_activity(NULL) a
            WHERE a.backend_xid IS NOT NULL
              AND a.datid <> (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
        );
END
$$;

CREATE FUNCTION changes_horizon() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
-- Every change with a lower xid is committed and visible in the calling statement's snapshot,
-- or will never exist. Capped by the caller's own xid: its own changes are not committed.
DECLARE
    snap pg_snapshot := pg_current_snapshot();
    horizon xid8 := pg_snapshot_xmax(snap);
BEGIN
    IF pg_snapshot_xmin(snap) < horizon THEN  -- something below xmax still runs
        SELECT coalesce(min(h), horizon) INTO horizon FROM changes_horizon_holders() h;
    END IF;
    RETURN least(horizon, coalesce(pg_current_xact_id_if_assigned(), horizon));
END
$$;
"""

DROP_HORIZON = """
DROP FUNCTION IF EXISTS changes_horizon();
DROP FUNCTION IF EXISTS changes_horizon_holders();
"""

FUNCTION = """
CREATE OR REPLACE FUNCTION changes_record() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    meta jsonb := NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
    actor bigint;
    r record;
    pass integer;
    ver integer;
    ev bigint;
    emp bigint;
    new_ev bigint;
    new_emp bigint;
    new_ver integer;
BEGIN
    IF jsonb_typeof(meta -> 'user') = 'number' THEN
        actor := (meta ->> 'user')::numeric::bigint;
    END IF;
    FOR pass IN 1 .. CASE WHEN TG_OP = 'UPDATE' THEN 2 ELSE 1 END LOOP
        IF pass = 1 AND TG_OP <> 'DELETE' THEN r := NEW; ELSE r := OLD; END IF;
        ev := NULL;
        emp := NULL;
        ver := NULL;
        CASE TG_TABLE_NAME
        WHEN 'events_event' THEN
            ev := r.id; ver := r.version;
        WHEN 'events_workarea' THEN
            ev := r.event_id; ver := r.version;
        WHEN 'events_workareaskill' THEN
            IF pass = 2 AND r.work_area_id IS NOT DISTINCT FROM NEW.work_area_id THEN
                ev := new_ev;
            ELSE
                SELECT a.event_id INTO ev FROM events_workarea a WHERE a.id = r.work_area_id;
                IF NOT FOUND THEN
                    -- Deleted earlier in this transaction (foreign keys are checked at
                    -- commit): its delete is on the feed, with its event.
                    SELECT c.event_id INTO ev FROM changes_change c
                    WHERE c.xid = pg_current_xact_id() AND c.table_name = 'events_workarea'
                      AND c.row_id = r.work_area_id AND c.op = 'D'
                    ORDER BY c.seq DESC LIMIT 1;
                END IF;
            END IF;
        WHEN 'events_assignment' THEN
            ev := r.event_id; emp := r.employee_id; ver := r.version;
        WHEN 'people_employee' THEN
            emp := r.id; ver := r.version;
        WHEN 'people_absence' THEN
            emp := r.employee_id; ver := r.version;
        WHEN 'people_employeeskill' THEN
            emp := r.employee_id;
        WHEN 'people_role', 'people_skill', 'people_employmenttypelimit' THEN
            ver := r.version;
        WHEN 'staffing_invitation', 'staffing_worklog', 'messaging_outboundmessage' THEN
            ev := r.event_id; emp := r.employee_id; ver := r.version;
        WHEN 'messaging_inboundmessage' THEN
            emp := r.employee_id; ver := r.version;
            IF pass = 2 AND r.invitation_id IS NOT DISTINCT FROM NEW.invitation_id THEN
                ev := new_ev;
            ELSIF r.invitation_id IS NOT NULL THEN
                SELECT i.event_id INTO ev FROM staffing_invitation i WHERE i.id = r.invitation_id;
                IF NOT FOUND THEN  -- as for a work area's skill link, above
                    SELECT c.event_id INTO ev FROM changes_change c
                    WHERE c.xid = pg_current_xact_id() AND c.table_name = 'staffing_invitation'
                      AND c.row_id = r.invitation_id AND c.op = 'D'
                    ORDER BY c.seq DESC LIMIT 1;
                END IF;
            END IF;
        ELSE
            NULL;  -- a table without scope keys or version (accounts_user)
        END CASE;
        IF pass = 1 THEN
            INSERT INTO changes_change
                (table_name, op, row_id, version, event_id, employee_id, actor_id, source, request_id)
            VALUES (TG_TABLE_NAME, left(TG_OP, 1), r.id, ver, ev, emp, actor,
                    meta ->> 'source', meta ->> 'request_id');
            new_ev := ev;
            new_emp := emp;
            new_ver := ver;
        ELSIF (ev IS NOT NULL AND ev IS DISTINCT FROM new_ev)
           OR (emp IS NOT NULL AND emp IS DISTINCT FROM new_emp) THEN
            -- The row left a scope: a change with its whole old scope, naming the keys it
            -- left, so a reader filtered by either key or both learns the row is gone.
            INSERT INTO changes_change
                (table_name, op, row_id, version, event_id, employee_id, scope_left,
                 actor_id, source, request_id)
            VALUES (TG_TABLE_NAME, 'U', r.id, new_ver, ev, emp,
                    array_remove(ARRAY[
                        CASE WHEN ev IS NOT NULL AND ev IS DISTINCT FROM new_ev THEN 'event' END,
                        CASE WHEN emp IS NOT NULL AND emp IS DISTINCT FROM new_emp THEN 'employee' END
                    ], NULL),
                    actor, meta ->> 'source', meta ->> 'request_id');
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("changes", "0003_notify_hint")]

    operations = [
        migrations.AddField(
            model_name="change",
            name="scope_left",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.TextField(), null=True, size=None
            ),
        ),
        migrations.RunSQL(FUNCTION, previous.FUNCTION),
        migrations.RunSQL(HORIZON, DROP_HORIZON),
    ]
