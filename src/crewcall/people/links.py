"""An employee's personal link (`/r/<token>/`): made, read and checked here.

The token is `<employee id>.<link version>[.<last day, YYYYMMDD>]` signed with SECRET_KEY
under a salt that includes the installation's link epoch (people.models.LinkKey). So a
link stops working when

- the employee's `link_version` moves on (the dispatcher replaced it: services
  `employee_link_rotate`), whatever else stays the same;
- the day it names as its last has passed (in the agency's time zone);
- a restore renews the epoch: the restored rows cannot know which links were replaced
  after the backup was taken, so every link made before the restore dies with it;
- the employee is archived or anonymised, or SECRET_KEY changes.

Reading a token first checks its signature (`link_claim`, no employee row needed: the
personal pages use the id to enter the employee's database scope), then the claim against
the row (`link_employee`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crewcall.core.errors import NotFound, ValidationFailed
from crewcall.people.models import Employee

SALT = "crewcall.employee-link"
MAX_TOKEN_LENGTH = 200
_PAYLOAD = re.compile(r"^([1-9][0-9]{0,17})\.([1-9][0-9]{0,9})(?:\.([0-9]{8}))?$")


class LinkInvalid(Exception):
    """Forged, altered, from another installation or from before a restore."""


class LinkGone(Exception):
    """Genuine, but replaced by a newer link or past its last day: the holder may be told
    (in the language of `employee`)."""

    def __init__(self, employee: Employee) -> None:
        super().__init__(employee.pk)
        self.employee = employee


@dataclass(frozen=True)
class LinkClaim:
    """What a genuine token says (not yet checked against the employee's row)."""

    employee_id: int
    version: int
    last_day: dt.date | None


@dataclass(frozen=True)
class EmployeeLink:
    employee_id: int
    link_version: int
    last_day: dt.date | None
    token: str
    url: str


def link_epoch() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT epoch FROM people_linkkey WHERE id = 1")
        row = cur.fetchone()
    if row is None:  # the migration writes it and a trigger keeps it
        raise RuntimeError("people_linkkey has no row: run `crewcall migrate`.")
    return str(row[0])


def _signer(epoch: str) -> signing.Signer:
    return signing.Signer(salt=f"{SALT}:{epoch}")


def today() -> dt.date:
    return timezone.localdate()


def employee_link(*, employee_id: int, last_day: dt.date | None = None) -> EmployeeLink:
    """The employee's current link, valid through `last_day` (None: until replaced)."""
    row = Employee.objects.filter(pk=employee_id).values_list("link_version", "anonymised_at").first()
    if row is None:
        raise NotFound(_("Employee %(id)s does not exist.") % {"id": employee_id})
    version, anonymised_at = row
    if anonymised_at is not None:
        raise ValidationFailed.single("__all__", _("An anonymised employee has no link."))
    if last_day is not None and last_day < today():
        raise ValidationFailed.single("last_day", _("The last day cannot be in the past."))
    return _signed(employee_id, version, last_day)


def _signed(employee_id: int, version: int, last_day: dt.date | None) -> EmployeeLink:
    payload = f"{employee_id}.{version}" + (f".{last_day:%Y%m%d}" if last_day else "")
    token = _signer(link_epoch()).sign(payload)
    url = settings.PUBLIC_URL.rstrip("/") + reverse("employee-page", args=[token])
    return EmployeeLink(
        employee_id=employee_id, link_version=version, last_day=last_day, token=token, url=url
    )


def employee_page_url(employee: Employee) -> str:
    """The current link (no last day) of an employee already loaded, for a message: one
    query (the epoch). Empty for someone archived or anonymised, who gets no messages
    about shifts and whose link would not open."""
    if not employee.is_active or employee.anonymised_at is not None:
        return ""
    return _signed(employee.pk, employee.link_version, None).url


def link_claim(token: str) -> LinkClaim:
    """The claim of a genuine token, or LinkInvalid (checks the signature only)."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise LinkInvalid
    try:
        payload = _signer(link_epoch()).unsign(token)
    except signing.BadSignature:
        raise LinkInvalid from None
    match = _PAYLOAD.match(payload)
    if match is None:
        raise LinkInvalid
    last_day = None
    if match[3]:
        try:
            last_day = dt.datetime.strptime(match[3], "%Y%m%d").date()  # noqa: DTZ007 - a day
        except ValueError:
            raise LinkInvalid from None
    return LinkClaim(employee_id=int(match[1]), version=int(match[2]), last_day=last_day)


def link_employee(claim: LinkClaim) -> Employee:
    """The active employee a genuine token names; LinkInvalid (archived, anonymised) or
    LinkGone (replaced or expired)."""
    employee = Employee.objects.filter(
        pk=claim.employee_id, is_active=True, anonymised_at__isnull=True
    ).first()
    if employee is None:
        raise LinkInvalid
    if claim.version != employee.link_version or (claim.last_day is not None and claim.last_day < today()):
        raise LinkGone(employee)
    return employee
