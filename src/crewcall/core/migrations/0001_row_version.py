"""The trigger function that keeps created_at, updated_at and version on every mutable
table, and the helper that raises a rule violation naming its field.

Doctrine for Crewcall migrations: raw SQL only through RunSQL with a reverse; schema
changes expand → fill → contract in separate migrations; data migrations are named
fill_* and use apps.get_model, never app code.
"""

from django.db import migrations

ROW_VERSION = """
CREATE OR REPLACE FUNCTION crewcall_row_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.version := 1;
        NEW.created_at := COALESCE(NEW.created_at, statement_timestamp());
        NEW.updated_at := NEW.created_at;
    ELSE
        NEW.version := OLD.version + 1;
        NEW.created_at := OLD.created_at;
        NEW.updated_at := statement_timestamp();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION crewcall_refuse(message text, rule text, field text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', message USING ERRCODE = 'check_violation', CONSTRAINT = rule, COLUMN = field;
END
$$;
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.RunSQL(
            ROW_VERSION,
            "DROP FUNCTION IF EXISTS crewcall_row_version(); "
            "DROP FUNCTION IF EXISTS crewcall_refuse(text, text, text);",
        ),
    ]
