"""The request of a signed-in user, as the views behind `reader`, `editor` and
`admin_only` get it: its `user` is a User, so `actor=request.user` type-checks."""

from __future__ import annotations

from django.http import HttpRequest

from crewcall.accounts.models import User


class SignedInRequest(HttpRequest):
    """Only a type: Django builds the request; the access guard lets only users through."""

    user: User


def actor_of(request: HttpRequest) -> User:
    """The signed-in user of a request whose type does not say so (the admin's hooks)."""
    user = request.user
    if not isinstance(user, User):
        raise TypeError("A write needs a signed-in user.")
    return user
