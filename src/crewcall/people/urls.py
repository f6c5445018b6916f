"""The dispatcher's pages of this app (mounted in crewcall/urls.py at /employees/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.people.views import actions, importing, pages

app_name = "people"
urlpatterns: list[URLPattern] = [
    path("", pages.employee_list, name="list"),
    path("new", pages.employee_create, name="create"),
    path("import", importing.employee_import, name="import"),
    path("import/template.csv", importing.employee_import_template, name="import-template"),
    path("<int:employee_id>/", pages.employee_detail, name="detail"),
    path("<int:employee_id>/edit", pages.employee_edit, name="edit"),
    path("<int:employee_id>/archive", actions.employee_archive, name="archive"),
    path("<int:employee_id>/restore", actions.employee_restore, name="restore"),
    path("<int:employee_id>/anonymise", actions.employee_anonymise, name="anonymise"),
    path("<int:employee_id>/link/rotate", actions.employee_link_rotate, name="link-rotate"),
    path("<int:employee_id>/absences/", actions.absence_add, name="absence-add"),
    path("<int:employee_id>/absences/<int:absence_id>/delete", actions.absence_delete, name="absence-delete"),
]
