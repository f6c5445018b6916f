"""Retention of raw inbound payloads (messaging/retention.py).

A received message stays as it arrived, with one exception: while `crewcall.retention`
is on in the transaction, its raw provider request may be dropped (set to `{}`), nothing
else. A partial index holds the messages that still have a payload, so each pruning batch
finds the oldest of them without reading the ones already pruned.
"""

from django.db import migrations

GUARD = """
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

GUARD_BEFORE = """
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
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_inbound_apply_queue")]

    operations = [
        migrations.RunSQL(GUARD, GUARD_BEFORE),
        migrations.RunSQL(
            "CREATE INDEX messaging_inbound_raw_kept ON messaging_inboundmessage (received_at, id)"
            " WHERE raw <> '{}'::jsonb",
            "DROP INDEX messaging_inbound_raw_kept",
        ),
    ]
