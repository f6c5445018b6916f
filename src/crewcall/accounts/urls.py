"""User and API token management for admins (mounted in crewcall/urls.py at /users/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from crewcall.accounts import views

app_name = "accounts"
urlpatterns: list[URLPattern] = [
    path("", views.user_list, name="list"),
    path("new", views.user_create, name="create"),
    path("<int:user_id>/", views.user_detail, name="detail"),
    path("<int:user_id>/edit", views.user_edit, name="edit"),
    path("<int:user_id>/password", views.user_password, name="password"),
    path("<int:user_id>/tokens/new", views.token_create, name="token-create"),
    path("<int:user_id>/tokens/<int:token_id>/revoke", views.token_revoke, name="token-revoke"),
]
