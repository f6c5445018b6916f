"""`crewcall demo`: a realistic agency loaded through the services, only into an empty database."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.dev.demo import SEED, plan_people
from crewcall.events.models import Event, WorkArea
from crewcall.ops.integrity.runner import integrity_run
from crewcall.people.models import Absence, Employee, EmploymentTypeLimit
from crewcall.staffing.models import Assignment, Invitation, WorkLog
from crewcall.testing.sql import run

pytestmark = pytest.mark.django_db


def test_demo_loads_an_agency_in_every_state_and_refuses_a_second_time() -> None:
    # procrastinate's tables are not flushed between tests: an earlier transactional test's
    # jobs would be integrity findings below (the delete is undone with the test).
    run("DELETE FROM procrastinate_events; DELETE FROM procrastinate_jobs")
    out = StringIO()
    call_command("demo", stdout=out)
    assert "Demo agency loaded as demo-dispatcher" in out.getvalue()

    actor = User.objects.get(username="demo-dispatcher")
    assert actor.role == "dispatcher" and not actor.has_usable_password()

    assert 140 <= Employee.objects.count() <= 160
    assert Employee.objects.filter(is_always_needed=True).count() == 8
    assert Employee.objects.filter(is_active=False, anonymised_at__isnull=True).exists()
    assert Employee.objects.filter(anonymised_at__isnull=False).count() == 1
    assert Absence.objects.filter(kind="vacation").exists() and Absence.objects.filter(kind="sick").exists()
    assert EmploymentTypeLimit.objects.get(employment_type="mini_job").monthly_earnings_cap == 556

    templates = Event.objects.filter(is_template=True).annotate(areas=Count("work_areas"))
    assert templates.count() >= 4
    assert all(2 <= t.areas <= 4 for t in templates)
    assert WorkArea.objects.filter(event__is_template=True).exclude(role_requirements={}).exists()
    assert WorkArea.objects.filter(event__is_template=True, skill_links__isnull=False).exists()

    plain = Event.objects.filter(is_template=False)
    assert 20 <= plain.count() <= 30
    assert set(plain.values_list("status", flat=True)) == {
        "draft", "recruiting", "staffed", "completed", "cancelled",
    }  # fmt: skip
    assert plain.filter(template__isnull=False).exists()
    assert set(Invitation.objects.values_list("status", flat=True)) >= {
        "asked", "accepted", "declined", "waitlisted", "completed", "expired", "cancelled",
    }  # fmt: skip
    assert Invitation.objects.filter(event__status="recruiting", status="asked").exists()

    assert Assignment.objects.filter(event__status="completed").exists()
    assert Assignment.objects.filter(event__status__in=["recruiting", "staffed"]).exists()
    # A staffed event has every place it needs accepted.
    for event in plain.filter(status="staffed").annotate(
        accepted=Count("invitations", filter=Q(invitations__status="accepted"))
    ):
        assert event.accepted >= event.employees_needed, event

    logs = WorkLog.objects.all()
    assert logs.exists()
    assert not logs.exclude(event__status="completed").exists()
    completed = Invitation.objects.filter(status="completed").values_list("event_id", "employee_id")
    assert set(logs.values_list("event_id", "employee_id")) <= set(completed)
    assert logs.filter(approved_at__isnull=False).exists() and logs.filter(approved_at__isnull=True).exists()
    assert all(0 < log.hours < 13 for log in logs)
    # Consistent as the product keeps data: every invitation still open was messaged.
    outcome = integrity_run(record=False)
    assert outcome.summary["clean"], outcome.summary["findings"]

    before = (Employee.objects.count(), Event.objects.count(), Invitation.objects.count())
    with pytest.raises(CommandError, match="database already has employees"):
        call_command("demo", stdout=StringIO())
    assert (Employee.objects.count(), Event.objects.count(), Invitation.objects.count()) == before


def test_the_people_are_the_same_for_the_same_seed() -> None:
    first = plan_people(random.Random(SEED))
    assert first == plan_people(random.Random(SEED))
    assert len({p.name for p in first}) == len({p.phone for p in first}) == len(first) == 150
    assert all(p.phone.startswith("+491") and len(p.phone) == 14 for p in first)


def test_demo_answers_and_approvals_lie_around_their_events() -> None:
    call_command("demo", stdout=StringIO())
    now = timezone.now()
    for inv in Invitation.objects.select_related("event"):
        day = inv.event.event_date
        assert day is not None and inv.asked_at <= now
        assert inv.responded_at is None or inv.asked_at <= inv.responded_at <= now
        if day < timezone.localdate() - timedelta(days=14):
            assert timezone.localtime(inv.asked_at).date() < day
    for log in WorkLog.objects.select_related("event").exclude(approved_at=None):
        assert log.approved_at is not None and log.event.event_date is not None
        assert timezone.localtime(log.approved_at).date() >= log.event.event_date
