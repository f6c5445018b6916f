"""History rows change only by erasure, made by the owner (docs/data-model.md, "Erasure").

Replaces the `crewcall.erasure` switch, which any caller could set: every history table's
UPDATE trigger now calls `crewcall_history_update_check`, which lets a change through only
when it runs as the table's owner (inside a SECURITY DEFINER function) and only rewrites
the registered personal columns to their erased values (crewcall/core/audit_chain.py,
ERASABLE; this SQL was generated from it and a test compares the two).
"""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations

IS_OWNER = """
CREATE FUNCTION crewcall_is_table_owner(relid oid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                   WHERE c.oid = relid AND r.rolname = current_user);
$$;
"""

UPDATE_CHECK = """
CREATE FUNCTION crewcall_history_update_check(tbl text, relid oid, old jsonb, new jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    erased jsonb := CASE tbl
        WHEN 'people_employeehistory' THEN jsonb_build_object('name', ('Anonymised employee ' || (new->>'pgh_obj_id') || ''), 'phone_number', NULL, 'notes', '')
        WHEN 'people_absencehistory' THEN jsonb_build_object('note', '')
        WHEN 'staffing_invitationhistory' THEN jsonb_build_object('pick_reason', '')
        WHEN 'staffing_workloghistory' THEN jsonb_build_object('note', '')
        WHEN 'messaging_outboundmessagehistory' THEN jsonb_build_object('to_number', '', 'body', '(erased)', 'template_variables', '{}'::jsonb, 'error_message', '')
        WHEN 'messaging_inboundmessagehistory' THEN jsonb_build_object('from_number', '', 'body', '', 'raw', '{}'::jsonb, 'outcome_detail', '')
        WHEN 'accounts_userhistory' THEN jsonb_build_object('username', ('anonymised-' || (new->>'pgh_obj_id') || ''), 'first_name', '', 'last_name', '', 'email', '')
        ELSE '{}'::jsonb END;
    fixed text[] := ARRAY(SELECT jsonb_object_keys(erased)) || ARRAY['pgh_context'];
    -- A context is an object, or null when raw SQL wrote the row.
    old_context jsonb := CASE jsonb_typeof(old->'pgh_context') WHEN 'object' THEN old->'pgh_context' END;
    new_context jsonb := CASE jsonb_typeof(new->'pgh_context') WHEN 'object' THEN new->'pgh_context' END;
    col text;
BEGIN
    IF NOT crewcall_is_table_owner(relid)
       OR (old - fixed) IS DISTINCT FROM (new - fixed)
       OR (old->'pgh_context') IS DISTINCT FROM (new->'pgh_context') AND (
              old_context IS NULL OR new_context IS NULL
              OR old_context - 'username' IS DISTINCT FROM new_context - 'username'
              OR new_context->'username' IS DISTINCT FROM 'null'::jsonb) THEN
        RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', tbl;
    END IF;
    FOR col IN SELECT jsonb_object_keys(erased) LOOP
        IF new->col IS DISTINCT FROM old->col AND new->col IS DISTINCT FROM erased->col THEN
            RAISE EXCEPTION 'pgtrigger: Cannot update rows from % table', tbl;
        END IF;
    END LOOP;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_personal_history_erasure"),
        ("core", "0003_privileged_calls"),
    ]

    operations = [
        migrations.RunSQL(IS_OWNER, "DROP FUNCTION crewcall_is_table_owner(oid)"),
        migrations.RunSQL(
            UPDATE_CHECK, "DROP FUNCTION crewcall_history_update_check(text, oid, jsonb, jsonb)"
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="absencehistory",
            name="append_only_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="employeehistory",
            name="append_only_update",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="employeeskillhistory",
            name="append_only",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="employmenttypelimithistory",
            name="append_only",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="rolehistory",
            name="append_only",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="skillhistory",
            name="append_only",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="absencehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="8a72967446c31a2b13c12e6c4032d9f239d84db9",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_41bb6",
                    table="people_absencehistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="employeehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="e7f26faacc07e2425d3874f7a66fbeaa6d6bb613",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_e464a",
                    table="people_employeehistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="employeeskillhistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="14b71787de3fc748a44cb24e53a88cb001d52123",
                    operation="DELETE",
                    pgid="pgtrigger_append_only_delete_43065",
                    table="people_employeeskillhistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="employeeskillhistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="9c828ce87a461b77fc16e11be79b6f1b59885b66",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_12f8b",
                    table="people_employeeskillhistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="employmenttypelimithistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="93375bf6a46695b6ecda42e4fd696a7aa3a3e188",
                    operation="DELETE",
                    pgid="pgtrigger_append_only_delete_f77d3",
                    table="people_employmenttypelimithistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="employmenttypelimithistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="ff3915da85e85b07f82fcbc21c247f619dd09108",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_0709e",
                    table="people_employmenttypelimithistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="rolehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="e8357d5c97100d550fadee71f0ce0b853ec4c015",
                    operation="DELETE",
                    pgid="pgtrigger_append_only_delete_a1f42",
                    table="people_rolehistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="rolehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="a7ba0f72b969a96e6ce90f10b8b0f4c5afc196cd",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_3bde2",
                    table="people_rolehistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="skillhistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="97a03b07cc11fef5381a588381d2c3d4b1eb9fcf",
                    operation="DELETE",
                    pgid="pgtrigger_append_only_delete_228a8",
                    table="people_skillhistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="skillhistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="05640da6d9142f359c6c02d1659f17f58f3e6a1a",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_0c2bb",
                    table="people_skillhistory",
                    when="BEFORE",
                ),
            ),
        ),
    ]
