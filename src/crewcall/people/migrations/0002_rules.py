"""Database-held rules for people: row versions, no overlapping absences, immutable keys."""

from django.db import migrations

TABLES = ["people_role", "people_skill", "people_employee", "people_absence", "people_employmenttypelimit"]

FORWARD = (
    "\n".join(
        f"CREATE TRIGGER {t}_version BEFORE INSERT OR UPDATE ON {t} "
        f"FOR EACH ROW EXECUTE FUNCTION crewcall_row_version();"
        for t in TABLES
    )
    + """
-- A one-point int8range stands in for "same employee" so that plain GiST serves
-- (the embedded server ships without btree_gist).
ALTER TABLE people_absence ADD CONSTRAINT people_absence__starts_on__no_overlap
    EXCLUDE USING gist (
        int8range(employee_id, employee_id, '[]') WITH &&,
        daterange(starts_on, ends_on, '[]') WITH &&
    );

CREATE OR REPLACE FUNCTION people_catalogue_key_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key IS DISTINCT FROM OLD.key THEN
        PERFORM crewcall_refuse(
            format('The key of %s "%s" cannot change once set; add a new one instead.', TG_ARGV[0], OLD.key),
            TG_TABLE_NAME || '__key__immutable', 'key');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER people_role_key_guard BEFORE UPDATE ON people_role
    FOR EACH ROW EXECUTE FUNCTION people_catalogue_key_guard('role');
CREATE TRIGGER people_skill_key_guard BEFORE UPDATE ON people_skill
    FOR EACH ROW EXECUTE FUNCTION people_catalogue_key_guard('skill');
"""
)

REVERSE = (
    "\n".join(f"DROP TRIGGER IF EXISTS {t}_version ON {t};" for t in TABLES)
    + """
DROP TRIGGER IF EXISTS people_role_key_guard ON people_role;
DROP TRIGGER IF EXISTS people_skill_key_guard ON people_skill;
DROP FUNCTION IF EXISTS people_catalogue_key_guard();
ALTER TABLE people_absence DROP CONSTRAINT IF EXISTS people_absence__starts_on__no_overlap;
"""
)


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial"), ("core", "0001_row_version")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
