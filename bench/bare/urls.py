"""Plain Django views running the same queries as the API operations they stand beside."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from crewcall.core.versioning import update_versioned
from crewcall.people.models import Employee, Skill


def _row(e: Employee) -> dict[str, Any]:
    return {
        "id": e.pk, "version": e.version, "name": e.name, "phone_number": e.phone_number,
        "primary_role": e.primary_role.key, "skills": sorted(s.key for s in e.skills.all()),
        "employment_type": e.employment_type, "is_always_needed": e.is_always_needed,
        "is_active": e.is_active, "notes": e.notes, "preferred_language": e.preferred_language,
        "user_id": e.user_id, "anonymised_at": e.anonymised_at, "created_at": e.created_at,
        "updated_at": e.updated_at,
    }  # fmt: skip


def _qs() -> Any:
    return Employee.objects.select_related("primary_role").prefetch_related(
        Prefetch("skills", queryset=Skill.objects.only("id", "key"))
    )


def one(request: HttpRequest, pk: int) -> HttpResponse:
    e = _qs().select_related("stats").filter(pk=pk).first()
    if e is None:
        return JsonResponse({"detail": "not found"}, status=404)
    body = _row(e)
    body["stats"] = {"total_hours_worked": e.stats.total_hours_worked} if hasattr(e, "stats") else None
    response = JsonResponse(body)
    response["ETag"] = f'"{e.version}"'
    return response


def listing(request: HttpRequest) -> HttpResponse:
    rows = _qs().filter(primary_role__key=request.GET.get("role", "waiter")).order_by("name", "id")[:51]
    return JsonResponse({"items": [_row(e) for e in rows[:50]], "next": None})


def patch(request: HttpRequest, pk: int) -> HttpResponse:
    changes = json.loads(request.body)
    expected = int(request.headers["If-Match"].strip('"'))
    try:
        update_versioned(Employee, pk=pk, expected_version=expected, values=changes)
    except Exception as exc:  # the stale case, as a plain 412
        return JsonResponse({"detail": str(exc)}, status=412)
    return one(request, pk)


def route(request: HttpRequest, pk: int) -> HttpResponse:
    return patch(request, pk) if request.method == "PATCH" else one(request, pk)


urlpatterns = [
    path("employees/<int:pk>", route),
    path("employees", listing),
]
