"""German working-time limits (Arbeitszeitgesetz §§ 3 and 4) as warnings on entered hours.

They warn and do not refuse: the hours are what was worked, and payroll needs them as
they were. A dispatcher sees the warning beside the entry and can act on it (talk to the
area lead, plan a second shift next time).

- more than 6 hours of work need a break of at least 30 minutes, more than 9 hours at
  least 45 minutes (§ 4; the hours counted are those worked, breaks excluded);
- at most 10 hours of work a day (§ 3), over every event of that day together.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.staffing.models import WorkLog

DAY_LIMIT_HOURS = Decimal(10)
# (more than this many minutes of work, need at least this many minutes of break)
BREAK_RULES = ((9 * 60, 45), (6 * 60, 30))


def work_day(log: WorkLog) -> dt.date:
    """The day an entry counts for: the local date its shift started on."""
    return timezone.localtime(log.started_at).date()


def day_totals(*, employee_ids: Iterable[int], around: dt.date) -> dict[tuple[int, dt.date], Decimal]:
    """Hours worked per (employee, day) over every event, for the days next to `around`
    (an event's entries start the day before, on, or the day after its date). One query."""
    ids = list(employee_ids)
    if not ids:
        return {}
    first = timezone.make_aware(dt.datetime.combine(around - dt.timedelta(days=1), dt.time.min))
    last = timezone.make_aware(dt.datetime.combine(around + dt.timedelta(days=2), dt.time.min))
    totals: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    rows = WorkLog.objects.filter(employee_id__in=ids, started_at__gte=first, started_at__lt=last)
    for log in rows.only("employee_id", "started_at", "hours"):
        totals[(log.employee_id, work_day(log))] += log.hours
    return dict(totals)


def warnings_for(log: WorkLog, *, day_total: Decimal) -> list[str]:
    """What the law would object to in this entry, in words; empty when nothing."""
    found = []
    worked_minutes = log.hours * 60
    for more_than, at_least in BREAK_RULES:
        if worked_minutes > more_than and log.break_minutes < at_least:
            found.append(
                _(
                    "More than %(hours)s hours of work need a break of at least %(minutes)s minutes"
                    " (working-time law); %(given)s minutes entered."
                )
                % {"hours": more_than // 60, "minutes": at_least, "given": log.break_minutes}
            )
            break
    if day_total > DAY_LIMIT_HOURS:
        found.append(
            _("%(hours)s hours of work on %(day)s in all; the working-time law allows at most 10 a day.")
            % {"hours": day_total, "day": work_day(log).strftime("%d.%m.%Y")}
        )
    return found
