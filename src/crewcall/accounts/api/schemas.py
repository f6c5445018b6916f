"""What accounts look like over the API (out) and what may be sent (in, strict).

No password hash and no token hash ever leaves: the out schemas simply have no such field.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from crewcall.core.api.inputs import Id, Input, text

RoleName = Literal["admin", "dispatcher", "viewer", "employee"]


class UserOut(Schema):
    id: int
    version: int
    username: str
    email: str
    first_name: str
    last_name: str
    role: str
    is_active: bool
    is_superuser: bool
    can_sign_in: bool = Field(description="Has a password (accounts without one use API tokens only)")
    last_login: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_can_sign_in(obj: object) -> bool:
        return bool(obj.has_usable_password())  # type: ignore[attr-defined]


class UserIn(Input):
    username: text(150, blank=False)  # type: ignore[valid-type]
    role: RoleName
    email: text(254) = ""  # type: ignore[valid-type]
    first_name: text(150) = ""  # type: ignore[valid-type]
    last_name: text(150) = ""  # type: ignore[valid-type]
    password: text(128, blank=False) | None = None  # type: ignore[valid-type]


class UserPatch(Input):
    role: RoleName = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    email: text(254) = None  # type: ignore[valid-type]
    first_name: text(150) = None  # type: ignore[valid-type]
    last_name: text(150) = None  # type: ignore[valid-type]


class TokenOut(Schema):
    id: int
    user_id: int
    username: str = Field(validation_alias="user.username")
    name: str
    prefix: str = Field(description="The first characters of the secret, to tell tokens apart")
    created_at: dt.datetime
    created_by_id: int | None
    last_used_at: dt.datetime | None = Field(description="Recorded at most once a minute")
    revoked_at: dt.datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret, shown this once: store it now, it cannot be read again")


class TokenIn(Input):
    user_id: Id
    name: text(80, blank=False)  # type: ignore[valid-type]
