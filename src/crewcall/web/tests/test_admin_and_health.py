"""Every model is reachable in the admin; /healthz answers without touching the database."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from crewcall.people.models import Role
from crewcall.testing.audit import tracked_models

pytestmark = pytest.mark.django_db


def test_every_domain_model_has_an_admin_page_or_inline() -> None:
    shown = set(admin.site._registry)
    for model_admin in admin.site._registry.values():
        shown |= {inline.model for inline in model_admin.inlines}
    missing = [m.__name__ for m in tracked_models() if m not in shown]
    assert missing == []


def test_admin_lists_and_pages_open_for_an_admin(client, alice, agency) -> None:
    event = agency.event()
    agency.area(event)
    agency.accepted(event, agency.employee())
    client.force_login(alice)
    for model, _ in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        response = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert response.status_code == 200, info
        obj = model._default_manager.first()
        if obj is not None:
            page = client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            assert page.status_code == 200, info


def test_a_change_in_the_admin_is_audited_with_its_actor(client, alice, agency) -> None:
    client.force_login(alice)
    role = agency.bartender
    response = client.post(
        reverse("admin:people_role_change", args=[role.pk]),
        {"name": "Barkeeper", "is_active": "on", "read_version": role.version},
    )
    assert response.status_code == 302
    row = role.history.filter(pgh_label="update").get()
    assert row.name == "Barkeeper"
    assert row.pgh_context["user"] == alice.pk and row.pgh_context["source"] == "web"
    assert row.pgh_context["action"] == "people.role_update"


def test_an_admin_save_from_a_stale_version_writes_nothing(client, alice, agency) -> None:
    client.force_login(alice)
    role = agency.bartender
    url = reverse("admin:people_role_change", args=[role.pk])
    read = role.version
    Role.objects.filter(pk=role.pk).update(name="Mixologist")  # someone else, meanwhile
    response = client.post(url, {"name": "Barkeeper", "is_active": "on", "read_version": read}, follow=True)
    role.refresh_from_db()
    assert role.name == "Mixologist"
    assert "changed by someone else" in response.content.decode()


def test_users_are_read_only_in_the_admin_but_for_setting_a_password(client, alice, bob) -> None:
    client.force_login(alice)
    bob.set_password("an old password of bob's")
    bob.save()
    page = client.get(reverse("admin:accounts_user_change", args=[bob.pk])).content.decode()
    assert bob.password not in page and bob.password.split("$")[-1] not in page
    change = client.post(reverse("admin:accounts_user_change", args=[bob.pk]), {"username": "robert"})
    assert change.status_code == 403
    bob.refresh_from_db()
    assert bob.username == "bob"
    password = reverse("admin:auth_user_password_change", args=[bob.pk])
    new = "a long and new password 42"
    answer = client.post(password, {"password1": new, "password2": new, "usable_password": "true"})
    assert answer.status_code == 302
    bob.refresh_from_db()
    assert bob.check_password(new)


def test_healthz_answers_without_a_query(client, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_dashboard_needs_a_login_and_then_shows_counts(client, alice, agency) -> None:
    assert client.get("/").status_code == 302
    agency.event("Sommerfest")
    client.force_login(alice)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Sommerfest" in response.content
