"""The staffing board of one event, mounted under events/<event_id>/board/ in crewcall/urls.py;
and the event's status actions, mounted with the event pages (namespace "events")."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.staffing import views
from crewcall.staffing.views import event_lifecycle

app_name = "staffing"
urlpatterns: list[URLPattern] = [
    path("", views.board, name="board"),
    path("ask", views.ask, name="ask"),
    path("nudge", views.nudge, name="nudge"),
    path("invitations/<int:invitation_id>/status", views.invitation_status, name="invitation_status"),
    path("place", views.place, name="place"),
    path("placements/<int:assignment_id>/remove", views.unplace, name="unplace"),
    path("placements/<int:assignment_id>/move", views.move, name="move"),
    path("hours/<int:employee_id>", views.hours_save, name="hours_save"),
    path("hours/<int:employee_id>/approve", views.hours_approve, name="hours_approve"),
    path("hours/<int:employee_id>/reopen", views.hours_reopen, name="hours_reopen"),
    path("messages/<int:employee_id>", views.timeline, name="timeline"),
]

# Under events/ beside crewcall.events.urls, keeping their names events:transition and
# events:cancel: completing and cancelling an event reach its invitations.
event_urlpatterns: list[URLPattern] = [
    path("<int:pk>/status", event_lifecycle.event_transition, name="transition"),
    path("<int:pk>/cancel", event_lifecycle.event_cancel, name="cancel"),
    path("<int:pk>/complete", event_lifecycle.event_complete, name="complete"),
]
