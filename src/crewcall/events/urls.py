"""The dispatcher's pages of this app (mounted in crewcall/urls.py, in the namespace
"events" with staffing's event_urlpatterns: the status actions)."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.events.views import events, templates, work_areas

app_name = "events"
urlpatterns: list[URLPattern] = [
    path("", events.event_list, name="list"),
    path("new", events.event_new, name="new"),
    path("<int:pk>/", events.event_detail, name="detail"),
    path("<int:pk>/edit", events.event_edit, name="edit"),
    path("<int:pk>/weekly-copies", events.event_weekly_copies, name="weekly"),
    path("<int:pk>/delete", events.event_delete, name="delete"),
    path("<int:pk>/work-areas/new", work_areas.work_area_new, name="work_area_new"),
    path("<int:pk>/work-areas/validate", work_areas.work_area_validate, name="work_area_validate_new"),
    path("<int:pk>/work-areas/<int:area_id>/edit", work_areas.work_area_edit, name="work_area_edit"),
    path(
        "<int:pk>/work-areas/<int:area_id>/validate", work_areas.work_area_validate, name="work_area_validate"
    ),
    path("<int:pk>/work-areas/<int:area_id>/delete", work_areas.work_area_delete, name="work_area_delete"),
    path("templates/", templates.template_list, name="templates"),
    path("templates/new", templates.template_new, name="template_new"),
    path("templates/<int:pk>/edit", templates.template_edit, name="template_edit"),
    path("templates/<int:pk>/archive", templates.template_archive, name="template_archive"),
]
