"""Invitations (who was asked for which event, and what they answered), assignments
(who was placed where) and the work log.

Tables and constraints only; every write goes through staffing.services.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from crewcall.core.audit_chain import history_meta
from crewcall.core.models import Versioned


class InvitationStatus(models.TextChoices):
    ASKED = "asked", _("Asked")
    ACCEPTED = "accepted", _("Accepted")
    WAITLISTED = "waitlisted", _("Waitlisted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")
    COMPLETED = "completed", _("Completed")


# The lifecycle (docs/data-model.md); the single Python copy of what trigger
# `staffing_invitation_guard` enforces.
INVITATION_TRANSITIONS: dict[str, frozenset[str]] = {
    InvitationStatus.ASKED: frozenset(
        {
            InvitationStatus.ACCEPTED,
            InvitationStatus.WAITLISTED,
            InvitationStatus.DECLINED,
            InvitationStatus.EXPIRED,
            InvitationStatus.CANCELLED,
        }
    ),
    InvitationStatus.WAITLISTED: frozenset(
        {
            InvitationStatus.ACCEPTED,
            InvitationStatus.DECLINED,
            InvitationStatus.EXPIRED,
            InvitationStatus.CANCELLED,
        }
    ),
    InvitationStatus.ACCEPTED: frozenset({InvitationStatus.CANCELLED, InvitationStatus.COMPLETED}),
    InvitationStatus.DECLINED: frozenset(),
    InvitationStatus.EXPIRED: frozenset(),
    InvitationStatus.CANCELLED: frozenset(),
    # Back to accepted when its event is reopened (staffing.event_lifecycle).
    InvitationStatus.COMPLETED: frozenset({InvitationStatus.ACCEPTED}),
}
OPEN_INVITATION_STATUSES = (InvitationStatus.ASKED, InvitationStatus.WAITLISTED, InvitationStatus.ACCEPTED)


class WorkedHours(models.Func):
    """(end - start - break) in hours, rounded to cents of an hour; SQL for the generated
    column `staffing_worklog.hours`."""

    output_field = models.DecimalField(max_digits=6, decimal_places=2)

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        (started, p1), (ended, p2), (pause, p3) = (compiler.compile(e) for e in self.source_expressions)
        sql = f"ROUND(((EXTRACT(EPOCH FROM ({ended} - {started})) - {pause} * 60) / 3600.0)::numeric, 2)"
        return sql, (*p1, *p2, *p3)


class ResponseMethod(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    WEB = "web", _("Web")
    MANUAL = "manual", _("Manual")


@pghistory.track(model_name="InvitationHistory", append_only=False, meta=history_meta())
class Invitation(Versioned):
    """One employee's standing for one event (the seed's employee_event_status)."""

    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="invitations")
    employee = models.ForeignKey("people.Employee", on_delete=models.PROTECT, related_name="invitations")
    status = models.CharField(max_length=20, choices=InvitationStatus.choices, default=InvitationStatus.ASKED)
    asked_at = models.DateTimeField(db_default=models.functions.Now())
    responded_at = models.DateTimeField(null=True, blank=True)
    # NULL means "not answered yet".
    response_method = models.CharField(  # noqa: DJ001
        max_length=20, choices=ResponseMethod.choices, null=True, blank=True
    )
    wave = models.PositiveIntegerField(default=1)
    pick_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["asked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["employee", "event"], name="staffing_invitation__employee__unique_in_event"
            ),
            models.CheckConstraint(
                condition=Q(status__in=InvitationStatus.values), name="staffing_invitation__status__known"
            ),
            models.CheckConstraint(
                condition=Q(response_method__isnull=True) | Q(response_method__in=ResponseMethod.values),
                name="staffing_invitation__response_method__known",
            ),
            models.CheckConstraint(condition=Q(wave__gte=1), name="staffing_invitation__wave__positive"),
            models.CheckConstraint(
                condition=Q(responded_at__isnull=True) | Q(responded_at__gte=F("asked_at")),
                name="staffing_invitation__responded_at__after_asked",
            ),
        ]
        indexes = [models.Index(fields=["event", "status"], name="invitation_event_status")]


@pghistory.track(
    model_name="AssignmentHistory",
    append_only=False,
    # The tables kept their names from when events held this model (staffing.0005).
    meta={**history_meta(), "db_table": "events_assignmenthistory"},
)
class Assignment(Versioned):
    """An accepted employee placed in one work area of the event, in one role.

    Composite foreign keys (migration events.0003) tie work area, invitation, event and
    employee together, so an assignment can never point at another event's work area or
    at someone else's invitation.
    """

    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="assignments")
    employee = models.ForeignKey("people.Employee", on_delete=models.PROTECT, related_name="assignments")
    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="assignment")
    work_area = models.ForeignKey("events.WorkArea", on_delete=models.PROTECT, related_name="assignments")
    role = models.ForeignKey("people.Role", on_delete=models.PROTECT, related_name="assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "events_assignment"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "employee"], name="events_assignment__employee__unique_in_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.employee_id} in {self.work_area_id}"


@pghistory.track(model_name="WorkLogHistory", append_only=False, meta=history_meta())
class WorkLog(Versioned):
    """Hours one employee actually worked at one event. `hours` is computed by the
    database from start, end and break (a generated column), never typed in."""

    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="work_logs")
    employee = models.ForeignKey("people.Employee", on_delete=models.PROTECT, related_name="work_logs")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    break_minutes = models.PositiveIntegerField(default=0)
    hours = models.GeneratedField(
        expression=WorkedHours(F("started_at"), F("ended_at"), F("break_minutes")),
        output_field=models.DecimalField(max_digits=6, decimal_places=2),
        db_persist=True,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "employee"], name="staffing_worklog__employee__unique_in_event"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__gt=F("started_at")), name="staffing_worklog__ended_at__after_start"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__lte=F("started_at") + timedelta(hours=24)),
                name="staffing_worklog__ended_at__within_a_day",
            ),
            models.CheckConstraint(
                condition=Q(hours__gt=0), name="staffing_worklog__break_minutes__shorter_than_shift"
            ),
            models.CheckConstraint(
                condition=Q(approved_at__isnull=True) | Q(approved_by__isnull=False),
                name="staffing_worklog__approved_by__required",
            ),
        ]
