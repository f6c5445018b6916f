"""Employee scope (core/employee_scope.py, migration core 0004): inside it, PostgreSQL's
row-level security shows one employee's rows to any query, however unfiltered; the
controls switch the policies off (as the owner) and the same queries see everyone."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.apps import apps
from django.db import DatabaseError, connection

from crewcall.conftest import Agency
from crewcall.core.employee_scope import employee_scope
from crewcall.people.models import Employee
from crewcall.staffing.models import Assignment, Invitation
from crewcall.staffing.placement import assignment_create
from crewcall.testing.owner import row_security_off

SCOPED_TABLES = (
    "people_employee",
    "people_absence",
    "staffing_invitation",
    "staffing_invitationhistory",
    "staffing_worklog",
    "events_assignment",
    "messaging_outboundmessage",
    "messaging_inboundmessage",
)


def two_employees(agency: Agency) -> tuple[Any, Any]:
    emil, olga = agency.employee("Emil"), agency.employee("Olga")
    for title in ("Gala", "Ball"):
        event = agency.event(title)
        area = agency.area(event, "Bar")
        for employee in (emil, olga):
            invitation = agency.accepted(event, employee)
            assignment_create(
                actor=agency.actor,
                work_area_id=area.pk,
                role_id=agency.bartender.pk,
                invitation_id=invitation.pk,
            )
    return emil, olga


def raw_employee_ids(table: str) -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT employee_id FROM {table}")
        return {row[0] for row in cursor.fetchall()}


def unfiltered_view() -> dict[str, set[int]]:
    """What deliberately unfiltered queries see, as sets of employee ids."""
    history = apps.get_model("staffing", "InvitationHistory")
    return {
        "invitations": set(Invitation.objects.values_list("employee_id", flat=True)),
        "employees": set(Employee.objects.values_list("pk", flat=True)),
        "assignments": set(Assignment.objects.values_list("employee_id", flat=True)),
        "history": set(history.objects.values_list("employee_id", flat=True)),
        "raw": raw_employee_ids("staffing_invitation"),
    }


def session_state() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('transaction_read_only'), current_setting('crewcall.employee', true)"
        )
        read_only, scope = cursor.fetchone()
    return read_only, scope or ""


@pytest.mark.django_db
def test_inside_a_scope_unfiltered_queries_see_one_employee(agency: Agency) -> None:
    emil, olga = two_employees(agency)
    everyone = {emil.pk, olga.pk}
    assert unfiltered_view()["invitations"] == everyone  # outside a scope: nothing changes

    with employee_scope(emil.pk):
        seen = unfiltered_view()
        assert Invitation.objects.count() == 2
    assert seen == {name: {emil.pk} for name in seen}
    with employee_scope(olga.pk):
        assert unfiltered_view()["raw"] == {olga.pk}
    # The scope (and its read-only mode) ends with the block, even nested in a transaction.
    assert session_state() == ("off", "")
    assert unfiltered_view() == {name: everyone for name in seen}


@pytest.mark.django_db
def test_a_write_inside_a_scope_fails_and_leaves_nothing(agency: Agency) -> None:
    emil, _olga = two_employees(agency)
    invitation = Invitation.objects.filter(employee=emil).first()
    assert invitation is not None
    with pytest.raises(DatabaseError) as refused, employee_scope(emil.pk):
        Invitation.objects.filter(pk=invitation.pk).update(status="declined")
    assert getattr(refused.value.__cause__, "sqlstate", None) == "25006"  # read_only_sql_transaction
    assert Invitation.objects.get(pk=invitation.pk).status == "accepted"
    assert session_state() == ("off", "")


@pytest.mark.django_db
def test_every_scoped_table_has_both_policies() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " array_agg(p.polname || ':' || p.polpermissive ORDER BY p.polname)"
            " FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid"
            " WHERE c.relname = ANY(%s) GROUP BY 1, 2, 3",
            [list(SCOPED_TABLES)],
        )
        rows = {name: (enabled, forced, policies) for name, enabled, forced, policies in cursor.fetchall()}
    assert set(rows) == set(SCOPED_TABLES)
    for enabled, forced, policies in rows.values():
        assert enabled and not forced
        assert policies == ["crewcall_any_row:true", "crewcall_employee_scope:false"]


@pytest.mark.django_db
def test_the_scope_is_read_once_per_query_not_per_row() -> None:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT * FROM staffing_invitation")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # An InitPlan runs once per query; a SubPlan in the filter would run once per row.
    assert "InitPlan" in plan and "SubPlan" not in plan, plan


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protected", [True, False], ids=["policies", "control-policies-off"])
def test_the_control_without_policies_sees_other_employees(agency: Agency, protected: bool) -> None:
    emil, olga = two_employees(agency)
    tables = ("people_employee", "staffing_invitation", "staffing_invitationhistory", "events_assignment")
    with contextlib.ExitStack() as stack:
        if not protected:
            stack.enter_context(row_security_off(*tables))
        with employee_scope(emil.pk):
            assert session_state() == ("on", str(emil.pk))  # the scope is set either way
            seen = unfiltered_view()
    expected = {emil.pk} if protected else {emil.pk, olga.pk}
    assert seen == {name: expected for name in seen}
