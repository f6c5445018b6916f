"""History rows change only by erasure, made by the owner (people 0004), and erasure may
blank a person's messages: an outbound text becomes `(erased)` and its number blank (the
check constraint now allows a blank number), an inbound message loses number, text and raw
payload; both only as the table's owner (crewcall_employee_erase)."""

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

OUTBOUND_GUARD = """
CREATE OR REPLACE FUNCTION messaging_outbound_status_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    allowed text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'queued' THEN
            PERFORM crewcall_refuse(format('A new message starts as queued, not %s.', NEW.status),
                'messaging_outboundmessage__status__transition', 'status');
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.intent_key <> OLD.intent_key OR NEW.employee_id <> OLD.employee_id OR (NEW.body <> OLD.body
           AND NOT (NEW.body = '(erased)' AND crewcall_is_table_owner(TG_RELID))) THEN
        PERFORM crewcall_refuse('A message keeps its intent, recipient and text.',
            'messaging_outboundmessage__intent_key__immutable', 'intent_key');
    END IF;
    IF OLD.provider_sid IS NOT NULL AND NEW.provider_sid IS DISTINCT FROM OLD.provider_sid THEN
        PERFORM crewcall_refuse('The provider id of a sent message never changes.',
            'messaging_outboundmessage__provider_sid__immutable', 'provider_sid');
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        allowed := CASE OLD.status
            WHEN 'queued' THEN ARRAY['sending', 'failed']
            WHEN 'sending' THEN ARRAY['queued', 'sent', 'delivered', 'read', 'failed', 'undelivered']
            WHEN 'sent' THEN ARRAY['delivered', 'read', 'failed', 'undelivered']
            WHEN 'delivered' THEN ARRAY['read']
            ELSE ARRAY[]::text[]
        END;
        IF NOT NEW.status = ANY(allowed) THEN
            PERFORM crewcall_refuse(format('A message cannot go from %s back to %s.', OLD.status, NEW.status),
                'messaging_outboundmessage__status__transition', 'status');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
"""

OUTBOUND_GUARD_BEFORE = """
CREATE OR REPLACE FUNCTION messaging_outbound_status_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    allowed text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'queued' THEN
            PERFORM crewcall_refuse(format('A new message starts as queued, not %s.', NEW.status),
                'messaging_outboundmessage__status__transition', 'status');
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.intent_key <> OLD.intent_key OR NEW.employee_id <> OLD.employee_id OR NEW.body <> OLD.body THEN
        PERFORM crewcall_refuse('A message keeps its intent, recipient and text.',
            'messaging_outboundmessage__intent_key__immutable', 'intent_key');
    END IF;
    IF OLD.provider_sid IS NOT NULL AND NEW.provider_sid IS DISTINCT FROM OLD.provider_sid THEN
        PERFORM crewcall_refuse('The provider id of a sent message never changes.',
            'messaging_outboundmessage__provider_sid__immutable', 'provider_sid');
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        allowed := CASE OLD.status
            WHEN 'queued' THEN ARRAY['sending', 'failed']
            WHEN 'sending' THEN ARRAY['queued', 'sent', 'delivered', 'read', 'failed', 'undelivered']
            WHEN 'sent' THEN ARRAY['delivered', 'read', 'failed', 'undelivered']
            WHEN 'delivered' THEN ARRAY['read']
            ELSE ARRAY[]::text[]
        END;
        IF NOT NEW.status = ANY(allowed) THEN
            PERFORM crewcall_refuse(format('A message cannot go from %s back to %s.', OLD.status, NEW.status),
                'messaging_outboundmessage__status__transition', 'status');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
"""

INBOUND_GUARD = """
CREATE OR REPLACE FUNCTION messaging_inbound_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Erasure (crewcall_employee_erase, as the owner): the sender's number and texts go.
    IF NEW.from_number = '' AND NEW.body = '' AND NEW.raw = '{}'::jsonb
       AND NEW.provider_sid = OLD.provider_sid AND NEW.button_payload = OLD.button_payload
       AND crewcall_is_table_owner(TG_RELID) THEN
        RETURN NEW;
    END IF;
    IF NEW.provider_sid <> OLD.provider_sid OR NEW.from_number <> OLD.from_number
       OR NEW.body <> OLD.body OR NEW.button_payload <> OLD.button_payload
       OR (NEW.raw <> OLD.raw AND NOT (
               NEW.raw = '{}'::jsonb
               AND COALESCE(current_setting('crewcall.retention', true), '') = 'on'
               AND (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID)
                   = (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user))) THEN
        PERFORM crewcall_refuse('A received message is kept as it arrived.',
            'messaging_inboundmessage__raw__immutable', 'raw');
    END IF;
    RETURN NEW;
END
$$;
"""

INBOUND_GUARD_BEFORE = """
CREATE OR REPLACE FUNCTION messaging_inbound_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.provider_sid <> OLD.provider_sid OR NEW.from_number <> OLD.from_number
       OR NEW.body <> OLD.body OR NEW.button_payload <> OLD.button_payload
       OR (NEW.raw <> OLD.raw AND NOT (
               NEW.raw = '{}'::jsonb
               AND COALESCE(current_setting('crewcall.retention', true), '') = 'on'
               AND (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID)
                   = (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user))) THEN
        PERFORM crewcall_refuse('A received message is kept as it arrived.',
            'messaging_inboundmessage__raw__immutable', 'raw');
    END IF;
    RETURN NEW;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_history_guard"),
        ("messaging", "0006_privileged_raw_prune"),
        ("people", "0004_history_guard"),
        ("staffing", "0004_history_guard"),
    ]

    operations = [
        migrations.RunSQL(OUTBOUND_GUARD, OUTBOUND_GUARD_BEFORE),
        migrations.RunSQL(INBOUND_GUARD, INBOUND_GUARD_BEFORE),
        pgtrigger.migrations.RemoveTrigger(
            model_name="inboundmessagehistory",
            name="append_only",
        ),
        pgtrigger.migrations.RemoveTrigger(
            model_name="outboundmessagehistory",
            name="append_only",
        ),
        migrations.RemoveConstraint(
            model_name="outboundmessage",
            name="messaging_outboundmessage__to_number__e164",
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="inboundmessagehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="9f1c1ead7883c3ecd37f59620f04b4af3e2e961c",
                    operation="DELETE",
                    pgid="pgtrigger_append_only_delete_4c5cf",
                    table="messaging_inboundmessagehistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="inboundmessagehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="ad0845606425e19ce18621990334d3f615abbe40",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_5262e",
                    table="messaging_inboundmessagehistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="outboundmessagehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="RAISE EXCEPTION 'pgtrigger: Cannot delete rows from % table', TG_TABLE_NAME;",
                    hash="70ea87f83000d6f30e7d78f631f327e3d148f4d8",
                    operation="DELETE",
                    pgid="pgtrigger_append_only_delete_e6358",
                    table="messaging_outboundmessagehistory",
                    when="BEFORE",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="outboundmessagehistory",
            trigger=pgtrigger.compiler.Trigger(
                name="append_only_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func="PERFORM crewcall_history_update_check(TG_TABLE_NAME::text, TG_RELID, to_jsonb(OLD), to_jsonb(NEW)); RETURN NEW;",
                    hash="20b249ef304eb17eb9d2264c720729b7c768f85e",
                    operation="UPDATE",
                    pgid="pgtrigger_append_only_update_5fa92",
                    table="messaging_outboundmessagehistory",
                    when="BEFORE",
                ),
            ),
        ),
        migrations.AddConstraint(
            model_name="outboundmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("to_number__regex", "^\\+[1-9][0-9]{6,14}$"), ("to_number", ""), _connector="OR"
                ),
                name="messaging_outboundmessage__to_number__e164",
            ),
        ),
    ]
