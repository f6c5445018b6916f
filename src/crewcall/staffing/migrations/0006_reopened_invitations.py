"""An event reopened after completing (events 0007) gives its completed invitations back
to accepted: the invitation guard lets `completed` become `accepted`, and (as for every
acceptance) only while the event recruits or is staffed."""

from django.db import migrations

GUARD = """
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
            -- an event reopened after completing (its event is open again: see below)
            WHEN 'completed' THEN ARRAY['accepted']
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
"""

# 0002's guard, as it was.
OLD_GUARD = """
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
"""


class Migration(migrations.Migration):
    dependencies = [
        ("staffing", "0005_assignment_from_events"),
        ("events", "0007_completion_guard"),
    ]

    operations = [migrations.RunSQL(GUARD, reverse_sql=OLD_GUARD)]
