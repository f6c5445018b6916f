"""Events, templates and work areas (assignments are staffing's).

Tables and constraints only; every write goes through events.services. The rules a
CHECK cannot express (status transitions, role keys, capacity under concurrency) are
triggers in this app's SQL migrations.
"""

from __future__ import annotations

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from crewcall.core.audit_chain import history_meta
from crewcall.core.models import Versioned
from crewcall.core.validation import AFTER_LAST_MOMENT, FIRST_DAY, FIRST_MOMENT, LAST_DAY


class EventStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RECRUITING = "recruiting", _("Recruiting")
    STAFFED = "staffed", _("Staffed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# The lifecycle (docs/data-model.md), the single Python copy of what the trigger
# `events_event_guard` enforces; a test checks both agree.
EVENT_TRANSITIONS: dict[str, frozenset[str]] = {
    EventStatus.DRAFT: frozenset({EventStatus.RECRUITING, EventStatus.CANCELLED}),
    EventStatus.RECRUITING: frozenset({EventStatus.STAFFED, EventStatus.COMPLETED, EventStatus.CANCELLED}),
    EventStatus.STAFFED: frozenset({EventStatus.RECRUITING, EventStatus.COMPLETED, EventStatus.CANCELLED}),
    # Reopened by a dispatcher within CREWCALL_EVENT_REOPEN_DAYS of completing it.
    EventStatus.COMPLETED: frozenset({EventStatus.RECRUITING, EventStatus.STAFFED}),
    EventStatus.CANCELLED: frozenset(),
}


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


@pghistory.track(model_name="EventHistory", append_only=False, meta=history_meta())
class Event(Versioned):
    """An event to staff, or (is_template) a pattern events are created from.

    Times are local wall-clock times in the agency's time zone. `end_time` NULL means an
    open end; `ends_next_day` marks a shift that runs past midnight.
    """

    title = models.CharField(max_length=200)
    location = models.CharField(max_length=200, blank=True, default="")
    event_date = models.DateField(null=True, blank=True)
    start_time = models.TimeField()
    end_time = models.TimeField(null=True, blank=True)
    ends_next_day = models.BooleanField(default=False)
    description = models.TextField(blank=True, default="")
    specialties = models.TextField(blank=True, default="")
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    employees_needed = models.PositiveIntegerField()
    employees_to_ask = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_template = models.BooleanField(default=False)
    template = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="events_from_template"
    )
    reply_deadline = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # When it was last completed (NULL unless completed): a reopening window runs from it.
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["event_date", "start_time", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title__regex=r"^\s*$"), name="events_event__title__not_blank"
            ),
            models.CheckConstraint(
                condition=Q(hourly_rate__gte=0), name="events_event__hourly_rate__non_negative"
            ),
            models.CheckConstraint(
                condition=Q(employees_needed__gte=1), name="events_event__employees_needed__positive"
            ),
            models.CheckConstraint(
                condition=Q(employees_to_ask__gte=F("employees_needed")),
                name="events_event__employees_to_ask__covers_needed",
            ),
            models.CheckConstraint(
                condition=Q(status__in=EventStatus.values), name="events_event__status__known"
            ),
            models.CheckConstraint(
                condition=Q(is_template=True) | Q(event_date__isnull=False),
                name="events_event__event_date__required",
            ),
            # Years 1900 to 2999: date arithmetic around an event (asking ahead, reply
            # deadlines, weekly copies) never leaves what Python and PostgreSQL both hold.
            models.CheckConstraint(
                condition=Q(event_date__isnull=True) | Q(event_date__gte=FIRST_DAY, event_date__lte=LAST_DAY),
                name="events_event__event_date__in_range",
            ),
            models.CheckConstraint(
                condition=Q(reply_deadline__isnull=True)
                | Q(reply_deadline__gte=FIRST_MOMENT, reply_deadline__lt=AFTER_LAST_MOMENT),
                name="events_event__reply_deadline__in_range",
            ),
            models.CheckConstraint(
                condition=Q(is_template=False) | Q(status="draft", template__isnull=True),
                name="events_event__is_template__plain",
            ),
            models.CheckConstraint(
                condition=Q(archived_at__isnull=True) | Q(is_template=True),
                name="events_event__archived_at__templates_only",
            ),
            # (Events completed before it was recorded have none.)
            models.CheckConstraint(
                condition=Q(status="completed") | Q(completed_at__isnull=True),
                name="events_event__completed_at__when_completed",
            ),
            # End after start: same day unless ends_next_day; an open end is allowed.
            models.CheckConstraint(
                condition=(
                    Q(end_time__isnull=True, ends_next_day=False)
                    | Q(end_time__isnull=False, ends_next_day=False, end_time__gt=F("start_time"))
                    | Q(end_time__isnull=False, ends_next_day=True, end_time__lte=F("start_time"))
                ),
                name="events_event__end_time__after_start",
            ),
        ]
        indexes = [models.Index(fields=["status", "event_date"], name="events_event_status_date")]

    def __str__(self) -> str:
        return f"{self.title} ({self.event_date or 'template'})"


@pghistory.track(model_name="WorkAreaHistory", append_only=False, meta=history_meta())
class WorkArea(Versioned):
    """A part of an event with its own capacity (bar, kitchen, entrance …).

    role_requirements caps each listed role; unlisted roles may fill only the capacity
    left over (max_capacity minus the sum of listed counts). The number assigned is
    counted from assignments, never stored.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="work_areas")
    name = models.CharField(max_length=100)
    location = models.CharField(max_length=200, blank=True, default="")
    description = models.TextField(blank=True, default="")
    max_capacity = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    role_requirements = models.JSONField(default=dict, blank=True)
    required_skills = models.ManyToManyField(
        "people.Skill", through="WorkAreaSkill", related_name="work_areas", blank=True
    )
    color_theme = models.CharField(max_length=20, default="blue")
    position_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position_order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name__regex=r"^\s*$"), name="events_workarea__name__not_blank"
            ),
            models.CheckConstraint(
                condition=Q(max_capacity__gte=1), name="events_workarea__max_capacity__positive"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=Priority.values), name="events_workarea__priority__known"
            ),
            models.CheckConstraint(
                condition=Q(color_theme__regex=r"^[a-z]{3,20}$"), name="events_workarea__color_theme__format"
            ),
            models.UniqueConstraint("event", Lower("name"), name="events_workarea__name__unique_in_event"),
        ]

    def __str__(self) -> str:
        return self.name


@pghistory.track(model_name="WorkAreaSkillHistory", append_only=False, meta=history_meta())
class WorkAreaSkill(models.Model):
    work_area = models.ForeignKey(WorkArea, on_delete=models.CASCADE, related_name="skill_links")
    skill = models.ForeignKey("people.Skill", on_delete=models.PROTECT, related_name="work_area_links")
    created_at = models.DateTimeField(db_default=models.functions.Now(), editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["work_area", "skill"], name="events_workareaskill__skill__unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_area_id} needs {self.skill_id}"
