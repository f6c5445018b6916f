"""Approved hours are locked: the times and the break of an approved entry change only
together with the approval being withdrawn (`work_log_reopen`, or a change that clears
it in the same statement). The note stays open: erasure blanks it whatever the approval."""

from django.db import migrations

LOCK = """
CREATE FUNCTION staffing_worklog_approved_locked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.approved_at IS NOT NULL AND NEW.approved_at IS NOT NULL
       AND (NEW.started_at, NEW.ended_at, NEW.break_minutes)
           IS DISTINCT FROM (OLD.started_at, OLD.ended_at, OLD.break_minutes) THEN
        PERFORM crewcall_refuse('These hours are approved and locked; reopen them to change them.',
            'staffing_worklog__approved_at__locked', 'approved_at');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER staffing_worklog_approved_locked
    BEFORE UPDATE OF started_at, ended_at, break_minutes ON staffing_worklog
    FOR EACH ROW EXECUTE FUNCTION staffing_worklog_approved_locked();
"""

UNLOCK = """
DROP TRIGGER staffing_worklog_approved_locked ON staffing_worklog;
DROP FUNCTION staffing_worklog_approved_locked();
"""


class Migration(migrations.Migration):
    dependencies = [("staffing", "0006_reopened_invitations")]

    operations = [migrations.RunSQL(LOCK, reverse_sql=UNLOCK)]
