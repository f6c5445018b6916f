"""Every insert, update and delete of a domain table writes one row to changes_change,
in the same transaction, from one trigger function (docs/changes.md).

Scope keys come from the row itself; two tables reach their event through another row
(a work area's skill link, an inbound message's invitation) with one primary-key lookup.
Actor, source and request id come from the history context that pghistory sets for the
transaction (`pghistory.context_metadata`); raw SQL without one records NULLs.

An UPDATE that moves a row out of a scope (another event or employee) writes a second
row carrying only the scope key it left, so a reader filtered by the old scope learns
the row is gone. Updates that change nothing but updated_at are recorded too: every
update gives the row a new version, and clients compare versions.

Adding a table: a new migration that re-creates the function with its scope branch and
attaches the trigger. TRUNCATE is not recorded (the product never truncates).
"""

from django.db import migrations

TABLES = (
    "accounts_user",
    "events_assignment",
    "events_event",
    "events_workarea",
    "events_workareaskill",
    "messaging_inboundmessage",
    "messaging_outboundmessage",
    "people_absence",
    "people_employee",
    "people_employeeskill",
    "people_employmenttypelimit",
    "people_role",
    "people_skill",
    "staffing_invitation",
    "staffing_worklog",
)

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
            -- The row left a scope: tell that scope, and only that one.
            INSERT INTO changes_change
                (table_name, op, row_id, version, event_id, employee_id, actor_id, source, request_id)
            VALUES (TG_TABLE_NAME, 'U', r.id, new_ver,
                    CASE WHEN ev IS DISTINCT FROM new_ev THEN ev END,
                    CASE WHEN emp IS DISTINCT FROM new_emp THEN emp END,
                    actor, meta ->> 'source', meta ->> 'request_id');
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
"""

ATTACH = "".join(
    f"CREATE TRIGGER changes_record AFTER INSERT OR UPDATE OR DELETE ON {table}"
    " FOR EACH ROW EXECUTE FUNCTION changes_record();\n"
    for table in TABLES
)
DETACH = "".join(f"DROP TRIGGER IF EXISTS changes_record ON {table};\n" for table in TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("changes", "0001_initial"),
        ("accounts", "0001_initial"),
        ("events", "0003_rules"),
        ("messaging", "0002_rules"),
        ("people", "0003_personal_history_erasure"),
        ("staffing", "0003_accepted_within_needed"),
    ]

    operations = [
        migrations.RunSQL(
            FUNCTION + ATTACH,
            DETACH + "DROP FUNCTION IF EXISTS changes_record();",
        ),
    ]
