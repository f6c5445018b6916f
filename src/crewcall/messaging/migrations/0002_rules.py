"""Database-held rules for messages: row versions, and delivery statuses that only move
forward (queued ⇄ sending is the worker's claim and retry; after that, forward only)."""

from django.db import migrations

TABLES = ["messaging_outboundmessage", "messaging_inboundmessage"]

FORWARD = (
    "\n".join(
        f"CREATE TRIGGER {t}_version BEFORE INSERT OR UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION crewcall_row_version();"
        for t in TABLES
    )
    + """
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
CREATE TRIGGER messaging_outbound_status_guard BEFORE INSERT OR UPDATE ON messaging_outboundmessage
    FOR EACH ROW EXECUTE FUNCTION messaging_outbound_status_guard();

CREATE OR REPLACE FUNCTION messaging_inbound_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.provider_sid <> OLD.provider_sid OR NEW.from_number <> OLD.from_number
       OR NEW.body <> OLD.body OR NEW.button_payload <> OLD.button_payload OR NEW.raw <> OLD.raw THEN
        PERFORM crewcall_refuse('A received message is kept as it arrived.',
            'messaging_inboundmessage__raw__immutable', 'raw');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER messaging_inbound_guard BEFORE UPDATE ON messaging_inboundmessage
    FOR EACH ROW EXECUTE FUNCTION messaging_inbound_guard();
"""
)

REVERSE = (
    "\n".join(f"DROP TRIGGER IF EXISTS {t}_version ON {t};" for t in TABLES)
    + """
DROP TRIGGER IF EXISTS messaging_inbound_guard ON messaging_inboundmessage;
DROP FUNCTION IF EXISTS messaging_inbound_guard();
DROP TRIGGER IF EXISTS messaging_outbound_status_guard ON messaging_outboundmessage;
DROP FUNCTION IF EXISTS messaging_outbound_status_guard();
"""
)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial"), ("core", "0001_row_version")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
