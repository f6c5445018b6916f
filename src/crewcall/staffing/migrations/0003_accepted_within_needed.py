"""An event never has more acceptances than people needed, even under concurrent "yes"
replies: accepting locks the event row (FOR UPDATE) before counting, so simultaneous
acceptances run one after another and each counts the ones committed before it. Lowering
employees_needed below the acceptances already given is refused too."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION staffing_invitation_accept_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    needed integer;
    taken bigint;
BEGIN
    IF NEW.status = 'accepted' AND OLD.status IS DISTINCT FROM 'accepted' THEN
        -- accept-lock: serialises every acceptance for this event.
        SELECT employees_needed INTO needed FROM events_event WHERE id = NEW.event_id FOR UPDATE;
        SELECT count(*) INTO taken FROM staffing_invitation
            WHERE event_id = NEW.event_id AND status = 'accepted' AND id <> NEW.id;
        IF taken >= needed THEN
            PERFORM crewcall_refuse(format('The event is full: %s of %s places are taken.', taken, needed),
                'staffing_invitation__status__event_full', 'status');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER staffing_invitation_accept_guard BEFORE UPDATE ON staffing_invitation
    FOR EACH ROW EXECUTE FUNCTION staffing_invitation_accept_guard();

CREATE OR REPLACE FUNCTION events_event_needed_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    taken bigint;
BEGIN
    IF NEW.employees_needed < OLD.employees_needed THEN
        SELECT count(*) INTO taken FROM staffing_invitation WHERE event_id = NEW.id AND status = 'accepted';
        IF taken > NEW.employees_needed THEN
            PERFORM crewcall_refuse(
                format('%s people have accepted; the event cannot need fewer than that.', taken),
                'events_event__employees_needed__above_accepted', 'employees_needed');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER events_event_needed_guard BEFORE UPDATE ON events_event
    FOR EACH ROW EXECUTE FUNCTION events_event_needed_guard();
"""

REVERSE = """
DROP TRIGGER IF EXISTS events_event_needed_guard ON events_event;
DROP FUNCTION IF EXISTS events_event_needed_guard();
DROP TRIGGER IF EXISTS staffing_invitation_accept_guard ON staffing_invitation;
DROP FUNCTION IF EXISTS staffing_invitation_accept_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("staffing", "0002_rules"), ("events", "0003_rules")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
