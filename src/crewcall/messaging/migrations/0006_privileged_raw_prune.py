"""Retention of raw inbound payloads as a SECURITY DEFINER function (core/roles.py).

A received message stays as it arrived. The one change allowed, dropping its raw provider
request after the retention window (messaging/retention.py), is now made only by
`crewcall_inbound_raw_prune`, which runs as the owner: the guard lets the payload become
`{}` only while `crewcall.retention` is on *and* the statement runs as the table's owner,
so the application role cannot open it by setting the switch itself.
"""

from django.db import migrations

GUARD = """
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

GUARD_BEFORE = """
CREATE OR REPLACE FUNCTION messaging_inbound_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.provider_sid <> OLD.provider_sid OR NEW.from_number <> OLD.from_number
       OR NEW.body <> OLD.body OR NEW.button_payload <> OLD.button_payload
       OR (NEW.raw <> OLD.raw AND NOT (NEW.raw = '{}'::jsonb
                                       AND COALESCE(current_setting('crewcall.retention', true), '') = 'on')) THEN
        PERFORM crewcall_refuse('A received message is kept as it arrived.',
            'messaging_inboundmessage__raw__immutable', 'raw');
    END IF;
    RETURN NEW;
END
$$;
"""

# pgtrigger_update_update_f174c is the history's copy-on-update trigger (pghistory's
# UpdateEvent of InboundMessage): dropping the payload is housekeeping, not a change
# anyone made, so it writes no history row.
PRUNE = """
CREATE FUNCTION crewcall_inbound_raw_prune(cutoff timestamptz, batch integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    dropped bigint;
BEGIN
    IF batch IS NULL OR batch < 1 OR batch > 100000 THEN
        RAISE EXCEPTION 'batch must be between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    PERFORM set_config('crewcall.retention', 'on', true);
    PERFORM set_config('pgtrigger.ignore', '{pgtrigger_update_update_f174c}', true);
    -- The oldest payloads first (a partial index holds only messages that still have
    -- one), never a message still waiting to be applied, skipping rows an applier holds.
    WITH doomed AS (
        SELECT m.id FROM messaging_inboundmessage m
        WHERE m.raw <> '{}'::jsonb AND m.received_at < cutoff AND m.outcome <> 'pending'
        ORDER BY m.received_at, m.id
        LIMIT batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE messaging_inboundmessage m SET raw = '{}'::jsonb FROM doomed d WHERE m.id = d.id;
    GET DIAGNOSTICS dropped = ROW_COUNT;
    PERFORM set_config('pgtrigger.ignore', '{}', true);
    PERFORM set_config('crewcall.retention', '', true);
    PERFORM crewcall_privileged_call_record(
        'crewcall_inbound_raw_prune', jsonb_build_object('cutoff', cutoff, 'batch', batch), dropped);
    RETURN dropped;
END
$$;
REVOKE EXECUTE ON FUNCTION crewcall_inbound_raw_prune(timestamptz, integer) FROM PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_attempts_past_queued"), ("core", "0003_privileged_calls")]

    operations = [
        migrations.RunSQL(GUARD, GUARD_BEFORE),
        migrations.RunSQL(PRUNE, "DROP FUNCTION crewcall_inbound_raw_prune(timestamptz, integer)"),
    ]
