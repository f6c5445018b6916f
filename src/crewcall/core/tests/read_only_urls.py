"""Test-only URLs for test_read_only.py: views that write where they must not, or fail
half-way, mounted in front of the application's own URLs."""

from __future__ import annotations

from itertools import count
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from crewcall.core.employee_scope import employee_scope
from crewcall.people.models import Skill
from crewcall.people.services import skill_create
from crewcall.urls import handler500
from crewcall.urls import urlpatterns as app_urlpatterns

_numbers = count(1)


def write_a_skill(request: HttpRequest) -> HttpResponse:
    """A write in any method: a GET that writes is the bug the middleware must stop."""
    skill = Skill.objects.create(key=f"written_{next(_numbers)}", name="Written")
    return HttpResponse(skill.key)


def call_a_service(request: HttpRequest) -> HttpResponse:
    skill = skill_create(actor=None, key=f"by_service_{next(_numbers)}", name="By service")
    return HttpResponse(skill.key)


def fail_in_scope(request: HttpRequest) -> HttpResponse:
    """Reads in an employee scope inside the request's read-only transaction, then raises."""
    with employee_scope(int(request.GET.get("employee", "1"))):
        if request.GET.get("write"):
            Skill.objects.create(key=f"in_scope_{next(_numbers)}", name="In scope")
        raise ValueError("the view failed half-way")


# The driver connection of the last `lose_the_connection` request, for the pool test.
lost_connections: list[Any] = []


def lose_the_connection(request: HttpRequest) -> HttpResponse:
    """The server ends this session mid-request (as a restart or a crash would)."""
    lost_connections.append(connection.connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    return HttpResponse("unreachable")


urlpatterns = [
    path("test/write-a-skill", write_a_skill, name="test-write-a-skill"),
    path("test/call-a-service", call_a_service, name="test-call-a-service"),
    path("test/fail-in-scope", fail_in_scope, name="test-fail-in-scope"),
    path("test/lose-the-connection", lose_the_connection, name="test-lose-the-connection"),
    *app_urlpatterns,
]

__all__ = ["handler500", "urlpatterns"]
