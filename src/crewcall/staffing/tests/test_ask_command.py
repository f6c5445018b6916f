"""`crewcall ask`: the preview shows who and why without writing; asking is repeatable."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from crewcall.staffing.models import Invitation

pytestmark = pytest.mark.django_db


def test_preview_then_ask_then_repeat(agency) -> None:
    for i in range(4):
        agency.employee(name=f"Kim {i}")
    event = agency.event(employees_needed=1, employees_to_ask=2)
    out = StringIO()
    call_command("ask", str(event.pk), "--preview", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2 and all("Kim" in line for line in lines)
    assert not Invitation.objects.exists()
    out = StringIO()
    call_command("ask", str(event.pk), "--wave", "1", stdout=out)
    assert out.getvalue().startswith("Asked wave 1: 2 invitations.")
    out = StringIO()
    call_command("ask", str(event.pk), "--wave", "1", stdout=out)
    assert out.getvalue().startswith("Already asked in wave 1: 2 invitations.")
    assert Invitation.objects.count() == 2
    with pytest.raises(CommandError):
        call_command("ask", "999999", stdout=StringIO())
