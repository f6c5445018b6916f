"""Placing accepted people in the work areas of their event (@service: one transaction
each). Capacity and role caps are checked by the database under a lock on the work
area (trigger in events' SQL migrations), so concurrent placements never overfill one."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from crewcall.accounts.models import User
from crewcall.core.errors import ValidationFailed
from crewcall.core.transactions import service
from crewcall.core.versioning import apply_changes, lock_current
from crewcall.events.models import WorkArea
from crewcall.people.models import Role
from crewcall.staffing.models import Assignment, Invitation


@service
def assignment_create(
    *,
    actor: User | None,
    work_area_id: int,
    role_id: int,
    invitation_id: int | None = None,
    employee_id: int | None = None,
    event_id: int | None = None,
) -> Assignment:
    """Place an accepted employee, named by their invitation or (with `event_id`) as the
    employee. Capacity and role caps are checked by the database under a lock on the
    work area, so concurrent placements can never overfill it."""
    invitation = _invitation_to_place(invitation_id=invitation_id, employee_id=employee_id, event_id=event_id)
    area = WorkArea.objects.filter(pk=work_area_id).first()
    if area is None:
        raise ValidationFailed.single(
            "work_area_id", _("There is no work area %(id)s.") % {"id": work_area_id}
        )
    if area.event_id != invitation.event_id:
        raise ValidationFailed.single("work_area_id", _("This work area belongs to another event."))
    role = _role(role_id)
    assignment = Assignment(
        event_id=invitation.event_id,
        employee_id=invitation.employee_id,
        invitation=invitation,
        work_area=area,
        role=role,
        assigned_by=actor,
    )
    assignment.save()
    assignment.refresh_version()
    return assignment


def _invitation_to_place(
    *, invitation_id: int | None, employee_id: int | None, event_id: int | None
) -> Invitation:
    if (invitation_id is None) == (employee_id is None):
        raise ValidationFailed.single(
            "invitation_id", _("Name the invitation or the employee (exactly one).")
        )
    if invitation_id is not None:
        invitation = Invitation.objects.filter(pk=invitation_id).first()
        if invitation is None or (event_id is not None and invitation.event_id != event_id):
            raise ValidationFailed.single(
                "invitation_id", _("There is no invitation %(id)s for this event.") % {"id": invitation_id}
            )
        return invitation
    if event_id is None or employee_id is None:
        raise ValidationFailed.single("event_id", _("Placing an employee needs the event."))
    invitation = Invitation.objects.filter(event_id=event_id, employee_id=employee_id).first()
    if invitation is None:
        raise ValidationFailed.single("employee_id", _("This employee is not invited to this event."))
    return invitation


def _role(role_id: int) -> Role:
    role = Role.objects.filter(pk=role_id).first()
    if role is None:
        raise ValidationFailed.single("role", _("There is no role %(id)s.") % {"id": role_id})
    return role


@service
def assignment_move(
    *,
    actor: User | None,
    assignment_id: int,
    expected_version: int | None,
    work_area_id: int | None = None,
    role_id: int | None = None,
) -> Assignment:
    """Move a placement to another work area of its event and/or another role."""
    assignment = lock_current(Assignment, pk=assignment_id, expected_version=expected_version)
    changes: dict[str, Any] = {}
    if work_area_id is not None:
        area = WorkArea.objects.filter(pk=work_area_id).first()
        if area is None or area.event_id != assignment.event_id:
            raise ValidationFailed.single("work_area_id", _("There is no such work area at this event."))
        changes["work_area_id"] = work_area_id
    if role_id is not None:
        changes["role_id"] = _role(role_id).pk
    apply_changes(assignment, changes, allowed={"work_area_id", "role_id"})
    return assignment


@service
def assignment_delete(*, actor: User | None, assignment_id: int, expected_version: int | None) -> None:
    assignment = lock_current(Assignment, pk=assignment_id, expected_version=expected_version)
    assignment.delete()
