"""A NOTIFY hint on every commit that recorded changes (docs/changes.md, "Wake-ups").

One statement-level trigger on the change log itself, so every domain table, and raw SQL,
is covered. The payload is empty: a notification carries no data, it only wakes the web
processes' feed readers early (they poll anyway). PostgreSQL folds identical
notifications of one transaction into one, delivered at commit.

Created disabled: NOTIFY serialises committing transactions on a cluster-wide lock, and
with 8 concurrent writers it cost 13 % of commit throughput (bench/changes_write.py), so
the readers poll (every 0.1 s by default) instead. An installation with few writers that
wants instant wake-ups turns it on with
`ALTER TABLE changes_change ENABLE TRIGGER changes_notify`.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crewcall_changes', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER changes_notify AFTER INSERT ON changes_change
    FOR EACH STATEMENT EXECUTE FUNCTION changes_notify();
ALTER TABLE changes_change DISABLE TRIGGER changes_notify;
"""

DROP = """
DROP TRIGGER IF EXISTS changes_notify ON changes_change;
DROP FUNCTION IF EXISTS changes_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("changes", "0002_record_changes")]

    operations = [migrations.RunSQL(sql=CREATE, reverse_sql=DROP)]
