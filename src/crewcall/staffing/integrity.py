"""Integrity checks of invitations, placements, the work log and the staffing status of
events (docs/integrity.md), and their repairs, registered for `crewcall integrity`."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.core.errors import NotFound, RuleViolation
from crewcall.core.integrity import Check, Finding, finding_int_id, register, repair_of_row
from crewcall.core.transactions import service
from crewcall.core.versioning import get_or_not_found
from crewcall.events.models import Event, EventStatus
from crewcall.staffing.asking import queue_invitation_message
from crewcall.staffing.event_lifecycle import event_sync_staffing_status
from crewcall.staffing.models import Assignment, Invitation, InvitationStatus
from crewcall.staffing.placement import assignment_delete


@service
def repair_event_staffing_status(*, actor: Any = None, event_id: int) -> str:
    event = get_or_not_found(Event, pk=event_id, lock=True)
    before = event.status
    event_sync_staffing_status(event)
    return f"status {before} -> {event.status}"


def assignment_remove(finding: Finding) -> str:
    """The invitation says the person is not coming: the placement goes (its history stays)."""
    version = Assignment.objects.filter(pk=finding_int_id(finding)).values_list("version", flat=True).first()
    if version is None:
        raise NotFound(_("assignment %(id)s is gone already") % {"id": finding.object_id})
    assignment_delete(actor=None, assignment_id=finding_int_id(finding), expected_version=version)
    return "removed the placement"


@service
def repair_invitation_message(*, actor: Any = None, invitation_id: int) -> str:
    invitation = get_or_not_found(Invitation, pk=invitation_id)
    event = get_or_not_found(Event, pk=invitation.event_id, lock=True)
    invitation = get_or_not_found(Invitation, pk=invitation_id, lock=True)
    if invitation.status != InvitationStatus.ASKED or event.status not in (
        EventStatus.RECRUITING,
        EventStatus.STAFFED,
    ):
        return "nothing to do: no longer asked"
    if event.event_date is None or event.event_date < timezone.localdate():
        raise RuleViolation(
            field="event",
            message=_("The event is over: expire the invitation rather than send it now."),
            constraint="repair",
        )
    queue_invitation_message(invitation, event)
    return "queued the invitation message"


register(
    Check(
        id="event.status_matches_acceptances",
        severity="error",
        description="A recruiting event with enough acceptances should be staffed, a staffed one "
        "without enough should be recruiting.",
        sql="""
        SELECT 'event', e.id, 'status does not follow the acceptances',
               CASE WHEN COALESCE(a.n, 0) >= e.employees_needed THEN 'staffed' ELSE 'recruiting' END,
               e.status || ' (' || COALESCE(a.n, 0) || ' of ' || e.employees_needed || ' accepted)'
        FROM events_event e
        LEFT JOIN (SELECT event_id, count(*) AS n FROM staffing_invitation
                   WHERE status = 'accepted' GROUP BY event_id) a ON a.event_id = e.id
        WHERE e.status IN ('recruiting', 'staffed')
          AND e.status <> CASE WHEN COALESCE(a.n, 0) >= e.employees_needed
                               THEN 'staffed' ELSE 'recruiting' END
        """,
        repair=repair_of_row(repair_event_staffing_status, "event_id"),
    )
)


register(
    Check(
        id="event.accepted_within_needed",
        severity="error",
        description="An event has more acceptances than people needed.",
        sql="""
        SELECT 'event', e.id, 'more acceptances than needed',
               '<= ' || e.employees_needed, a.n::text
        FROM events_event e
        JOIN (SELECT event_id, count(*) AS n FROM staffing_invitation
              WHERE status = 'accepted' GROUP BY event_id) a ON a.event_id = e.id
        WHERE a.n > e.employees_needed
        """,
        left_because="Someone has to be told they are not needed after all (or the event needs more "
        "people): a dispatcher decides who.",
    )
)


register(
    Check(
        id="event.cancelled_with_open_invitations",
        severity="error",
        description="A cancelled event still has invitations that are asked, waitlisted or accepted.",
        sql="""
        SELECT 'invitation', i.id, 'open invitation of cancelled event ' || e.id, 'cancelled', i.status
        FROM staffing_invitation i JOIN events_event e ON e.id = i.event_id
        WHERE e.status = 'cancelled' AND i.status IN ('asked', 'waitlisted', 'accepted')
        """,
        left_because="Cancelling it now would send a cancellation to the employee; a dispatcher "
        "checks whether they were told already.",
    )
)


register(
    Check(
        id="work_area.assigned_within_capacity",
        severity="error",
        description="More people are placed in a work area than its capacity.",
        sql="""
        SELECT 'work_area', w.id, 'more people placed than capacity', '<= ' || w.max_capacity, a.n::text
        FROM events_workarea w
        JOIN (SELECT work_area_id, count(*) AS n FROM events_assignment GROUP BY work_area_id) a
          ON a.work_area_id = w.id
        WHERE a.n > w.max_capacity
        """,
        left_because="Someone has to be moved to another work area: a dispatcher decides who.",
    )
)


register(
    Check(
        id="work_area.assigned_within_role_requirements",
        severity="error",
        description="More people of a role are placed than the work area's requirement for it, or "
        "unlisted roles take more than the capacity left over.",
        sql="""
        WITH placed AS (
            SELECT a.work_area_id, r.key, count(*) AS n
            FROM events_assignment a JOIN people_role r ON r.id = a.role_id
            GROUP BY a.work_area_id, r.key
        ), area AS (
            SELECT w.id, w.max_capacity, w.role_requirements AS req,
                   (SELECT COALESCE(sum(v.value::text::numeric), 0) FROM jsonb_each(w.role_requirements) v
                    WHERE jsonb_typeof(v.value) = 'number') AS listed
            FROM events_workarea w WHERE jsonb_typeof(w.role_requirements) = 'object'
        )
        SELECT 'work_area', area.id, 'more ' || p.key || ' placed than required',
               '<= ' || (area.req ->> p.key), p.n::text
        FROM placed p JOIN area ON area.id = p.work_area_id
        WHERE area.req ? p.key AND jsonb_typeof(area.req -> p.key) = 'number'
          AND p.n > (area.req ->> p.key)::numeric
        UNION ALL
        SELECT 'work_area', area.id, 'unlisted roles take more than the places left',
               '<= ' || (area.max_capacity - area.listed), sum(p.n)::text
        FROM placed p JOIN area ON area.id = p.work_area_id
        WHERE NOT area.req ? p.key
        GROUP BY area.id, area.max_capacity, area.listed
        HAVING sum(p.n) > area.max_capacity - area.listed
        """,
        left_because="Someone has to be moved to another role or area: a dispatcher decides who.",
    )
)


register(
    Check(
        id="assignment.invitation_accepted",
        severity="error",
        description="A placed employee's invitation is no longer accepted (or completed).",
        sql="""
        SELECT 'assignment', a.id, 'invitation ' || i.id || ' is not accepted',
               'accepted or completed', i.status
        FROM events_assignment a JOIN staffing_invitation i ON i.id = a.invitation_id
        WHERE i.status NOT IN ('accepted', 'completed')
        """,
        repair=assignment_remove,
    )
)


register(
    Check(
        id="worklog.employee_accepted",
        severity="warning",
        description="Hours are logged for someone whose invitation to the event is not accepted "
        "or completed (or who has none).",
        sql="""
        SELECT 'worklog', w.id, 'hours without an acceptance', 'accepted or completed',
               COALESCE(i.status, 'no invitation')
        FROM staffing_worklog w
        LEFT JOIN staffing_invitation i ON i.event_id = w.event_id AND i.employee_id = w.employee_id
        WHERE i.id IS NULL OR i.status NOT IN ('accepted', 'completed')
        """,
        left_because="Hours decide pay: a dispatcher checks whether the person worked.",
    )
)


register(
    Check(
        id="invitation.asked_without_message",
        severity="warning",
        description="An invitation of a recruiting or staffed event is asked, but no invitation "
        "message was ever queued for it: the employee was never told.",
        sql="""
        SELECT 'invitation', i.id, 'asked but never messaged', 'an invitation message', 'none'
        FROM staffing_invitation i JOIN events_event e ON e.id = i.event_id
        WHERE i.status = 'asked' AND e.status IN ('recruiting', 'staffed')
          AND NOT EXISTS (SELECT 1 FROM messaging_outboundmessage m
                          WHERE m.invitation_id = i.id AND m.kind = 'invitation')
        """,
        repair=repair_of_row(repair_invitation_message, "invitation_id"),
    )
)

register(
    Check(
        id="message.links_match",
        severity="error",
        description="A message linked to an invitation belongs to that invitation's employee "
        "(and, for outbound, its event).",
        sql="""
        SELECT 'outbound_message', m.id, 'linked invitation ' || i.id || ' is someone else''s',
               'employee ' || i.employee_id || ', event ' || i.event_id,
               'employee ' || m.employee_id || ', event ' || COALESCE(m.event_id::text, 'none')
        FROM messaging_outboundmessage m JOIN staffing_invitation i ON i.id = m.invitation_id
        WHERE i.employee_id <> m.employee_id OR m.event_id IS DISTINCT FROM i.event_id
        UNION ALL
        SELECT 'inbound_message', m.id, 'linked invitation ' || i.id || ' is someone else''s',
               'employee ' || i.employee_id, 'employee ' || COALESCE(m.employee_id::text, 'none')
        FROM messaging_inboundmessage m JOIN staffing_invitation i ON i.id = m.invitation_id
        WHERE m.employee_id IS DISTINCT FROM i.employee_id
        """,
        left_because="Which link is right cannot be told from the data; a dispatcher reads the message.",
    )
)
