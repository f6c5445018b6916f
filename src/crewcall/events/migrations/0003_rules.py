"""Database-held rules for events, work areas and assignments.

- the event lifecycle (docs/data-model.md) refused by a trigger when illegal;
- role_requirements: a JSON object of positive integer counts, keyed by catalogue roles,
  summing to at most max_capacity; a role still required somewhere cannot be deleted;
- capacity and role caps never exceeded, even by concurrent assignments: the assignment
  trigger locks the work area row (FOR UPDATE) before counting, so concurrent inserts
  into one area run one after the other and each counts the ones committed before it;
- composite foreign keys keep an assignment inside one event.
"""

from django.db import migrations

TABLES = ["events_event", "events_workarea", "events_assignment"]

FORWARD = (
    "\n".join(
        f"CREATE TRIGGER {t}_version BEFORE INSERT OR UPDATE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION crewcall_row_version();"
        for t in TABLES
    )
    + """
CREATE OR REPLACE FUNCTION events_event_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    allowed text[];
BEGIN
    IF NEW.template_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.template_id IS DISTINCT FROM OLD.template_id)
       AND NOT EXISTS (SELECT 1 FROM events_event WHERE id = NEW.template_id AND is_template) THEN
        PERFORM crewcall_refuse('An event can only be made from a template.',
            'events_event__template__is_template', 'template');
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'draft' THEN
            PERFORM crewcall_refuse(format('A new event starts as a draft, not %s.', NEW.status),
                'events_event__status__transition', 'status');
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.is_template IS DISTINCT FROM OLD.is_template THEN
        PERFORM crewcall_refuse('An event cannot become a template or stop being one.',
            'events_event__is_template__immutable', 'is_template');
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        allowed := CASE OLD.status
            WHEN 'draft' THEN ARRAY['recruiting', 'cancelled']
            WHEN 'recruiting' THEN ARRAY['staffed', 'completed', 'cancelled']
            WHEN 'staffed' THEN ARRAY['recruiting', 'completed', 'cancelled']
            ELSE ARRAY[]::text[]
        END;
        IF NOT NEW.status = ANY(allowed) THEN
            PERFORM crewcall_refuse(format('An event cannot go from %s to %s.', OLD.status, NEW.status),
                'events_event__status__transition', 'status');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER events_event_guard BEFORE INSERT OR UPDATE ON events_event
    FOR EACH ROW EXECUTE FUNCTION events_event_guard();

CREATE OR REPLACE FUNCTION events_workarea_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    req jsonb := NEW.role_requirements;
    entry record;
    total bigint := 0;
    taken bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.event_id <> OLD.event_id THEN
        PERFORM crewcall_refuse('A work area stays with its event.', 'events_workarea__event__immutable', 'event');
    END IF;
    IF jsonb_typeof(req) <> 'object' THEN
        PERFORM crewcall_refuse('Role requirements must be an object of role → count.',
            'events_workarea__role_requirements__object', 'role_requirements');
    END IF;
    FOR entry IN SELECT key, value FROM jsonb_each(req) LOOP
        IF jsonb_typeof(entry.value) <> 'number' OR entry.value::text !~ '^[0-9]+$' OR entry.value::text::bigint < 1
           OR entry.value::text::numeric > 100000 THEN
            PERFORM crewcall_refuse(format('The count for role "%s" must be a positive whole number.', entry.key),
                'events_workarea__role_requirements__positive', 'role_requirements');
        END IF;
        IF NOT EXISTS (SELECT 1 FROM people_role WHERE key = entry.key) THEN
            PERFORM crewcall_refuse(format('"%s" is not a role in the catalogue.', entry.key),
                'events_workarea__role_requirements__known_role', 'role_requirements');
        END IF;
        total := total + entry.value::text::bigint;
    END LOOP;
    IF total > NEW.max_capacity THEN
        PERFORM crewcall_refuse(
            format('Role requirements add up to %s, more than the capacity of %s.', total, NEW.max_capacity),
            'events_workarea__role_requirements__within_capacity', 'role_requirements');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        -- Never below what is already assigned (the row lock is held by this UPDATE, so
        -- no assignment can slip in between the count and the commit).
        SELECT count(*) INTO taken FROM events_assignment WHERE work_area_id = NEW.id;
        IF taken > NEW.max_capacity THEN
            PERFORM crewcall_refuse(
                format('%s people are already placed here; the capacity cannot go below that.', taken),
                'events_workarea__max_capacity__above_assigned', 'max_capacity');
        END IF;
        FOR entry IN
            SELECT r.key, count(*) AS n FROM events_assignment a JOIN people_role r ON r.id = a.role_id
            WHERE a.work_area_id = NEW.id GROUP BY r.key
        LOOP
            IF req ? entry.key AND (req ->> entry.key)::bigint < entry.n THEN
                PERFORM crewcall_refuse(
                    format('%s %s are already placed here; the requirement cannot go below that.', entry.n, entry.key),
                    'events_workarea__role_requirements__above_assigned', 'role_requirements');
            END IF;
        END LOOP;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER events_workarea_guard BEFORE INSERT OR UPDATE ON events_workarea
    FOR EACH ROW EXECUTE FUNCTION events_workarea_guard();

CREATE OR REPLACE FUNCTION people_role_in_use_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM events_workarea WHERE role_requirements ? OLD.key) THEN
        PERFORM crewcall_refuse(format('Role "%s" is required by a work area and cannot be deleted.', OLD.key),
            'people_role__key__in_use', 'key');
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER people_role_in_use_guard BEFORE DELETE ON people_role
    FOR EACH ROW EXECUTE FUNCTION people_role_in_use_guard();

ALTER TABLE events_workarea ADD CONSTRAINT events_workarea__id__with_event UNIQUE (id, event_id);
ALTER TABLE events_assignment ADD CONSTRAINT events_assignment__work_area__same_event
    FOREIGN KEY (work_area_id, event_id) REFERENCES events_workarea (id, event_id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE events_assignment ADD CONSTRAINT events_assignment__invitation__same_event
    FOREIGN KEY (invitation_id, event_id, employee_id)
    REFERENCES staffing_invitation (id, event_id, employee_id) DEFERRABLE INITIALLY DEFERRED;

CREATE OR REPLACE FUNCTION events_assignment_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    area record;
    role_key text;
    listed_total bigint;
    in_area bigint;
    same_role bigint;
    unlisted bigint;
BEGIN
    -- capacity-lock: serialises every assignment into this work area.
    SELECT id, max_capacity, is_active, role_requirements INTO area
        FROM events_workarea WHERE id = NEW.work_area_id FOR UPDATE;
    IF NOT area.is_active THEN
        PERFORM crewcall_refuse('This work area is inactive.', 'events_assignment__work_area__active', 'work_area');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM events_event WHERE id = NEW.event_id AND status IN ('recruiting', 'staffed')) THEN
        PERFORM crewcall_refuse('People can only be placed while the event is recruiting or staffed.',
            'events_assignment__event__open', 'event');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM staffing_invitation WHERE id = NEW.invitation_id AND status = 'accepted') THEN
        PERFORM crewcall_refuse('Only someone who accepted can be placed.',
            'events_assignment__invitation__accepted', 'invitation');
    END IF;
    SELECT key INTO role_key FROM people_role WHERE id = NEW.role_id;
    SELECT count(*) INTO in_area FROM events_assignment WHERE work_area_id = area.id AND id IS DISTINCT FROM NEW.id;
    IF in_area + 1 > area.max_capacity THEN
        PERFORM crewcall_refuse(format('The work area is full (%s of %s).', in_area, area.max_capacity),
            'events_assignment__work_area__capacity', 'work_area');
    END IF;
    IF area.role_requirements ? role_key THEN
        SELECT count(*) INTO same_role FROM events_assignment
            WHERE work_area_id = area.id AND role_id = NEW.role_id AND id IS DISTINCT FROM NEW.id;
        IF same_role + 1 > (area.role_requirements ->> role_key)::bigint THEN
            PERFORM crewcall_refuse(
                format('All %s %s places in this work area are taken.', area.role_requirements ->> role_key, role_key),
                'events_assignment__role__requirement', 'role');
        END IF;
    ELSE
        SELECT COALESCE(SUM(value::text::bigint), 0) INTO listed_total FROM jsonb_each(area.role_requirements);
        SELECT count(*) INTO unlisted FROM events_assignment a JOIN people_role r ON r.id = a.role_id
            WHERE a.work_area_id = area.id AND a.id IS DISTINCT FROM NEW.id
              AND NOT (area.role_requirements ? r.key);
        IF unlisted + 1 > area.max_capacity - listed_total THEN
            PERFORM crewcall_refuse(
                format('The places left for roles other than the required ones are taken (%s).',
                       area.max_capacity - listed_total),
                'events_assignment__role__requirement', 'role');
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER events_assignment_guard BEFORE INSERT OR UPDATE ON events_assignment
    FOR EACH ROW EXECUTE FUNCTION events_assignment_guard();
"""
)

REVERSE = (
    "\n".join(f"DROP TRIGGER IF EXISTS {t}_version ON {t};" for t in TABLES)
    + """
DROP TRIGGER IF EXISTS events_assignment_guard ON events_assignment;
DROP FUNCTION IF EXISTS events_assignment_guard();
ALTER TABLE events_assignment DROP CONSTRAINT IF EXISTS events_assignment__invitation__same_event;
ALTER TABLE events_assignment DROP CONSTRAINT IF EXISTS events_assignment__work_area__same_event;
ALTER TABLE events_workarea DROP CONSTRAINT IF EXISTS events_workarea__id__with_event;
DROP TRIGGER IF EXISTS people_role_in_use_guard ON people_role;
DROP FUNCTION IF EXISTS people_role_in_use_guard();
DROP TRIGGER IF EXISTS events_workarea_guard ON events_workarea;
DROP FUNCTION IF EXISTS events_workarea_guard();
DROP TRIGGER IF EXISTS events_event_guard ON events_event;
DROP FUNCTION IF EXISTS events_event_guard();
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0002_initial"),
        ("staffing", "0002_rules"),
        ("people", "0002_rules"),
        ("core", "0001_row_version"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
