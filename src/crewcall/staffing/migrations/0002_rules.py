"""Database-held rules for invitations and the work log, and the derived employee stats.

The invitation lifecycle (docs/data-model.md) is refused by a trigger when illegal, so no code
path and no raw SQL can move an invitation backwards or invite to a template.
"""

from django.db import migrations

TABLES = ["staffing_invitation", "staffing_worklog"]

FORWARD = (
    "\n".join(
        f"CREATE TRIGGER {t}_version BEFORE INSERT OR UPDATE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION crewcall_row_version();"
        for t in TABLES
    )
    + """
CREATE OR REPLACE FUNCTION staffing_invitation_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ev record;
    allowed text[];
BEGIN
    SELECT is_template, status INTO ev FROM events_event WHERE id = NEW.event_id;
    IF TG_OP = 'INSERT' THEN
        IF ev.is_template THEN
            PERFORM crewcall_refuse('Templates never get invitations.',
                'staffing_invitation__event__not_template', 'event');
        END IF;
        IF NEW.status <> 'asked' THEN
            PERFORM crewcall_refuse(format('A new invitation starts as "asked", not "%s".', NEW.status),
                'staffing_invitation__status__transition', 'status');
        END IF;
        IF ev.status NOT IN ('recruiting', 'staffed') THEN
            PERFORM crewcall_refuse(format('Only a recruiting or staffed event can invite; this one is %s.', ev.status),
                'staffing_invitation__event__recruiting', 'event');
        END IF;
        RETURN NEW;
    END IF;

    IF NEW.event_id <> OLD.event_id OR NEW.employee_id <> OLD.employee_id THEN
        PERFORM crewcall_refuse('An invitation stays with its event and employee.',
            'staffing_invitation__event__immutable', 'event');
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        allowed := CASE OLD.status
            WHEN 'asked' THEN ARRAY['accepted', 'waitlisted', 'declined', 'expired', 'cancelled']
            WHEN 'waitlisted' THEN ARRAY['accepted', 'declined', 'expired', 'cancelled']
            WHEN 'accepted' THEN ARRAY['cancelled', 'completed']
            ELSE ARRAY[]::text[]
        END;
        IF NOT NEW.status = ANY(allowed) THEN
            PERFORM crewcall_refuse(format('An invitation cannot go from %s to %s.', OLD.status, NEW.status),
                'staffing_invitation__status__transition', 'status');
        END IF;
        IF NEW.status IN ('accepted', 'waitlisted') AND ev.status NOT IN ('recruiting', 'staffed') THEN
            PERFORM crewcall_refuse(format('The event is %s: nobody can accept now.', ev.status),
                'staffing_invitation__status__event_open', 'status');
        END IF;
        IF OLD.status = 'accepted' AND NEW.status = 'cancelled'
           AND EXISTS (SELECT 1 FROM events_assignment WHERE invitation_id = OLD.id) THEN
            PERFORM crewcall_refuse('Remove the employee from their work area before cancelling.',
                'staffing_invitation__status__assigned', 'status');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER staffing_invitation_guard BEFORE INSERT OR UPDATE ON staffing_invitation
    FOR EACH ROW EXECUTE FUNCTION staffing_invitation_guard();

ALTER TABLE staffing_invitation ADD CONSTRAINT staffing_invitation__id__with_event_employee
    UNIQUE (id, event_id, employee_id);

-- Hours only for someone who accepted this event.
ALTER TABLE staffing_worklog ADD CONSTRAINT staffing_worklog__employee__invited
    FOREIGN KEY (employee_id, event_id) REFERENCES staffing_invitation (employee_id, event_id)
    DEFERRABLE INITIALLY DEFERRED;

CREATE OR REPLACE FUNCTION staffing_worklog_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM staffing_invitation
        WHERE employee_id = NEW.employee_id AND event_id = NEW.event_id
          AND status IN ('accepted', 'completed')
    ) THEN
        PERFORM crewcall_refuse('Hours can only be logged for an employee who accepted this event.',
            'staffing_worklog__employee__accepted', 'employee');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER staffing_worklog_guard BEFORE INSERT OR UPDATE ON staffing_worklog
    FOR EACH ROW EXECUTE FUNCTION staffing_worklog_guard();

CREATE VIEW people_employee_stats AS
    SELECT e.id AS employee_id,
           COALESCE(SUM(w.hours), 0)::numeric(10, 2) AS total_hours_worked,
           MAX(ev.event_date) AS last_worked_date,
           COUNT(w.id)::integer AS events_worked
    FROM people_employee e
    LEFT JOIN staffing_worklog w ON w.employee_id = e.id
    LEFT JOIN events_event ev ON ev.id = w.event_id
    GROUP BY e.id;
CREATE INDEX staffing_worklog_employee_hours ON staffing_worklog (employee_id) INCLUDE (hours, event_id);
"""
)

REVERSE = (
    "\n".join(f"DROP TRIGGER IF EXISTS {t}_version ON {t};" for t in TABLES)
    + """
DROP INDEX IF EXISTS staffing_worklog_employee_hours;
DROP VIEW IF EXISTS people_employee_stats;
DROP TRIGGER IF EXISTS staffing_worklog_guard ON staffing_worklog;
DROP FUNCTION IF EXISTS staffing_worklog_guard();
ALTER TABLE staffing_worklog DROP CONSTRAINT IF EXISTS staffing_worklog__employee__invited;
ALTER TABLE staffing_invitation DROP CONSTRAINT IF EXISTS staffing_invitation__id__with_event_employee;
DROP TRIGGER IF EXISTS staffing_invitation_guard ON staffing_invitation;
DROP FUNCTION IF EXISTS staffing_invitation_guard();
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("staffing", "0001_initial"),
        ("events", "0002_initial"),
        ("core", "0001_row_version"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
