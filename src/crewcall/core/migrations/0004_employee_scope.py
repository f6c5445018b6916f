"""Employee scope: row-level security on the tables that hold one employee's rows
(docs/data-model.md, "Employee scope (row-level security)").

Inside `crewcall.core.employee_scope.employee_scope(id)` the transaction-local setting
`crewcall.employee` holds an employee id, and the restrictive policy below hides every row
of another employee, whatever the query forgot. Outside a scope the setting is empty and
the permissive policy lets every row through, as before. The owner (migrations, definer
functions) bypasses row-level security (no FORCE); the runtime role is held to it.
"""

from django.db import migrations

# (table, the column naming the employee). Tables the personal page and calendar feed read,
# and the other tables of one employee's rows, so a future read of them is covered too.
SCOPED = [
    ("people_employee", "id"),
    ("people_absence", "employee_id"),
    ("staffing_invitation", "employee_id"),
    ("staffing_invitationhistory", "employee_id"),
    ("staffing_worklog", "employee_id"),
    ("events_assignment", "employee_id"),
    ("messaging_outboundmessage", "employee_id"),
    ("messaging_inboundmessage", "employee_id"),
]

SCOPE_FUNCTION = """
CREATE FUNCTION crewcall_employee_scope() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = public, pg_temp AS $$
    SELECT NULLIF(current_setting('crewcall.employee', true), '')::bigint
$$;
"""


def _enable(table: str, column: str) -> str:
    # The scalar subqueries make the scope an InitPlan: read once per query, not per row.
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY crewcall_any_row ON {table} AS PERMISSIVE FOR ALL USING (true) WITH CHECK (true);
CREATE POLICY crewcall_employee_scope ON {table} AS RESTRICTIVE FOR ALL
    USING ((SELECT crewcall_employee_scope()) IS NULL OR {column} = (SELECT crewcall_employee_scope()));
"""


def _disable(table: str) -> str:
    return f"""
DROP POLICY crewcall_employee_scope ON {table};
DROP POLICY crewcall_any_row ON {table};
ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;
"""


FORWARD = SCOPE_FUNCTION + "".join(_enable(table, column) for table, column in SCOPED)
REVERSE = "".join(_disable(table) for table, _ in SCOPED) + "DROP FUNCTION crewcall_employee_scope();"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_privileged_calls"),
        ("events", "0004_history_guard"),
        ("messaging", "0007_history_guard"),
        ("people", "0005_employee_erase"),
        ("staffing", "0004_history_guard"),
    ]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
