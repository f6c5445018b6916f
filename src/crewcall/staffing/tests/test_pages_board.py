"""The event's staffing board through Django's test client: what it shows, asking (preview
then ask), nudging, status changes by hand, placing and removing, each refusal shown as a
message with nothing written, who may do what, and bounded queries."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crewcall.conftest import Agency
from crewcall.staffing.event_lifecycle import event_cancel
from crewcall.staffing.forms import next_statuses
from crewcall.staffing.models import Assignment, Invitation
from crewcall.staffing.placement import assignment_create
from crewcall.staffing.services import invitation_create, invitation_set_status

pytestmark = [pytest.mark.django_db]


def board_url(event: Any, rest: str = "") -> str:
    return f"/events/{event.pk}/board/{rest}"


def texts(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def gala(agency: Agency) -> dict[str, Any]:
    event = agency.event("Gala", employees_needed=3, employees_to_ask=5)
    crew = [agency.employee(name) for name in ("Ada", "Ben", "Cem")]
    return {
        "event": event,
        "bar": agency.area(event, "Bar", capacity=1, role_requirements={"bartender": 1}),
        "floor": agency.area(event, "Floor", capacity=3),
        "crew": crew,
        "accepted": [agency.accepted(event, person) for person in crew[:2]],
        "asked": invitation_create(
            actor=agency.actor,
            event_id=event.pk,
            employee_id=crew[2].pk,
            pick_reason="Bartender for Bar: 1 open",
        ),
    }


def test_the_board_shows_the_event_areas_and_invitations_by_status(client, carol, gala) -> None:
    client.force_login(carol)
    page = client.get(board_url(gala["event"])).content.decode()
    assert "Gala" in page and "status-recruiting" in page
    assert "2 / 3 needed" in page
    for status in ("asked", "accepted", "waitlisted", "declined", "expired", "cancelled"):
        assert f'id="group-{status}"' in page
    assert 'data-area="Bar"' in page and "1 \N{MULTIPLICATION SIGN} bartender" in page and "0 / 1" in page
    asked = page[page.index('id="group-asked"') : page.index('id="group-accepted"')]
    assert "Cem" in asked and "Bartender for Bar: 1 open" in asked
    assert 'data-live="staffing_invitation events_assignment events_workarea"' in page
    assert "data-live-since=" in page
    # A viewer reads only: no forms to change anything.
    assert 'name="version"' not in page and "Preview who would be asked" not in page


def test_a_live_refresh_answers_with_the_fragment_alone(client, carol, gala) -> None:
    client.force_login(carol)
    part = client.get(board_url(gala["event"], "?part=invitations"), headers={"HX-Request": "true"})
    body = part.content.decode()
    assert body.lstrip().startswith('<div id="board-invitations"') and "<html" not in body
    areas = client.get(
        board_url(gala["event"], "?part=areas"), headers={"HX-Request": "true"}
    ).content.decode()
    assert areas.lstrip().startswith('<div id="board-areas"')


def test_a_dispatcher_sees_the_actions(client, bob, gala) -> None:
    client.force_login(bob)
    page = client.get(board_url(gala["event"])).content.decode()
    assert "Preview who would be asked" in page and "Remind everyone" in page
    assert page.count('name="work_area"') == 2  # the two accepted, not yet placed
    assert f'invitations/{gala["asked"].pk}/status"' in page  # its status form, on demand
    detail = client.get(f"/events/{gala['event'].pk}/").content.decode()
    assert f'href="/events/{gala["event"].pk}/board/"' in detail


def test_remind_everyone_shows_only_when_someone_has_not_answered(client, bob, agency) -> None:
    event = agency.event("Quiet")
    agency.accepted(event, agency.employee("Ada"))
    client.force_login(bob)
    page = client.get(board_url(event)).content.decode()
    assert "Preview who would be asked" in page and "Remind everyone" not in page


def test_the_board_of_a_missing_event_or_template_is_404(client, bob) -> None:
    client.force_login(bob)
    assert client.get("/events/999999/board/").status_code == 404


def test_the_board_reads_in_the_same_number_of_queries_for_5_and_60_invitations(
    client, carol, agency
) -> None:
    def count_for(n: int) -> int:
        event = agency.event(f"E{n}", employees_needed=n, employees_to_ask=n)
        area = agency.area(event, "Hall", capacity=n)
        for i in range(n):
            inv = agency.accepted(event, agency.employee(f"P{n}-{i}"))
            if i % 2:
                assignment_create(
                    actor=agency.actor,
                    invitation_id=inv.pk,
                    work_area_id=area.pk,
                    role_id=agency.bartender.pk,
                )
        client.force_login(carol)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(board_url(event))
        assert response.status_code == 200
        assert response.content.decode().count("<li data-invitation=") == n
        return len(queries)

    assert count_for(5) == count_for(60)


# ── asking ──────────────────────────────────────────────────────────────────


def test_preview_asks_nobody_then_ask_these_n_asks_them(client, bob, agency) -> None:
    event = agency.event("Ball", employees_needed=2, employees_to_ask=4)
    for i in range(4):
        agency.employee(f"W{i}")
    client.force_login(bob)
    preview = client.get(board_url(event, "ask?count=2"))
    page = preview.content.decode()
    assert preview.status_code == 200 and "Ask these 2" in page and 'name="wave" value="1"' in page
    assert page.count('<tr><td class="num">') == 2
    assert not Invitation.objects.filter(event=event).exists()
    done = client.post(board_url(event, "ask"), {"count": "2", "wave": "1"}, follow=True)
    assert Invitation.objects.filter(event=event, status="asked", wave=1).count() == 2
    assert "Asked 2 people." in texts(done)
    # The same click again (a double submit) asks nobody twice.
    again = client.post(board_url(event, "ask"), {"count": "2", "wave": "1"}, follow=True)
    assert Invitation.objects.filter(event=event).count() == 2
    assert "nobody was asked twice" in " ".join(texts(again))


def test_a_preview_of_a_cancelled_event_says_why_not(client, bob, agency) -> None:
    event = agency.event("Off")
    event = event_cancel(actor=agency.actor, event_id=event.pk, expected_version=event.version)
    client.force_login(bob)
    page = client.get(board_url(event, "ask")).content.decode()
    assert "does not ask anyone" in page and "Ask these" not in page
    done = client.post(board_url(event, "ask"), {"wave": "1"}, follow=True)
    assert any("does not ask anyone" in t for t in texts(done))
    assert not Invitation.objects.filter(event=event).exists()


def test_nudge_reminds_those_who_have_not_answered(client, bob, gala) -> None:
    client.force_login(bob)
    done = client.post(board_url(gala["event"], "nudge"), follow=True)
    assert "Reminded 1 person." in texts(done)
    again = client.post(board_url(gala["event"], "nudge"), follow=True)
    assert any("Nobody to remind" in t for t in texts(again))


# ── status by hand ────────────────────────────────────────────────────────────


def test_the_status_form_comes_on_demand_with_only_the_allowed_statuses(client, bob, carol, gala) -> None:
    asked = gala["asked"]
    url = board_url(gala["event"], f"invitations/{asked.pk}/status")
    client.force_login(bob)
    board = client.get(board_url(gala["event"])).content.decode()
    assert f'hx-get="{url}"' in board and 'name="note"' not in board  # rows carry no form
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith("<form") and f'action="{url}"' in fragment
    options = re.findall(r'<option value="(\w+)"', fragment)
    assert options == [value for value, _label in next_statuses("asked")] and "completed" not in options
    assert f'name="version" value="{asked.version}"' in fragment
    page = client.get(url)  # without JavaScript: a page with the form
    assert page.status_code == 200 and "<form" in page.content.decode() and "<html" in page.content.decode()
    client.force_login(carol)
    assert client.get(url).status_code == 403  # a viewer changes nothing
    other = board_url(gala["event"], "invitations/999999/status")
    client.force_login(bob)
    assert client.get(other).status_code == 404


def test_a_status_change_by_hand_is_recorded_as_manual(client, bob, gala) -> None:
    asked = gala["asked"]
    client.force_login(bob)
    url = board_url(gala["event"], f"invitations/{asked.pk}/status")
    done = client.post(url, {"version": asked.version, "status": "declined", "note": "phoned"}, follow=True)
    asked.refresh_from_db()
    assert (asked.status, asked.response_method) == ("declined", "manual")
    assert "Cem is now declined." in texts(done)


def test_a_stale_version_changes_nothing_and_says_so(client, bob, gala) -> None:
    asked = gala["asked"]
    stale = asked.version
    invitation_set_status(
        actor=bob, invitation_id=asked.pk, expected_version=stale, status="waitlisted", method="web"
    )
    client.force_login(bob)
    url = board_url(gala["event"], f"invitations/{asked.pk}/status")
    done = client.post(url, {"version": stale, "status": "declined"}, follow=True)
    asked.refresh_from_db()
    assert asked.status == "waitlisted"
    assert any("changed by someone else meanwhile" in t for t in texts(done))


def test_a_move_the_state_machine_forbids_is_refused_with_its_reason(client, bob, gala) -> None:
    accepted = gala["accepted"][0]
    client.force_login(bob)
    url = board_url(gala["event"], f"invitations/{accepted.pk}/status")
    done = client.post(url, {"version": accepted.version, "status": "declined"}, follow=True)
    accepted.refresh_from_db()
    assert accepted.status == "accepted"
    assert any("cannot go from accepted to declined" in t for t in texts(done))


# ── placing ─────────────────────────────────────────────────────────────────


def test_placing_and_removing_and_a_full_area_refused(client, bob, agency, gala) -> None:
    ada, ben = gala["accepted"]
    bar = gala["bar"]
    client.force_login(bob)
    post = {"invitation": ada.pk, "work_area": bar.pk, "role": agency.bartender.pk}
    done = client.post(board_url(gala["event"], "place"), post, follow=True)
    assert "Ada is placed in Bar as Bartender." in texts(done)
    placed = Assignment.objects.get(invitation=ada)
    full = client.post(board_url(gala["event"], "place"), {**post, "invitation": ben.pk}, follow=True)
    assert not Assignment.objects.filter(invitation=ben).exists()
    assert any(t.startswith("Ben was not placed: ") and "full" in t for t in texts(full)), texts(full)
    # Remove with a stale version: refused; with the current one: gone.
    url = board_url(gala["event"], f"placements/{placed.pk}/remove")
    stale = client.post(url, {"version": placed.version + 1}, follow=True)
    assert Assignment.objects.filter(pk=placed.pk).exists()
    assert any("changed by someone else meanwhile" in t for t in texts(stale))
    gone = client.post(url, {"version": placed.version}, follow=True)
    assert not Assignment.objects.filter(pk=placed.pk).exists()
    assert "Ada is no longer placed." in texts(gone)


def test_someone_not_accepted_cannot_be_placed(client, bob, agency, gala) -> None:
    client.force_login(bob)
    post = {"invitation": gala["asked"].pk, "work_area": gala["floor"].pk, "role": agency.waiter.pk}
    done = client.post(board_url(gala["event"], "place"), post, follow=True)
    assert not Assignment.objects.exists()
    assert any("Only someone who accepted can be placed." in t for t in texts(done)), texts(done)


# ── who may ─────────────────────────────────────────────────────────────────


def test_a_viewer_posts_nothing(client, carol, agency, gala) -> None:
    client.force_login(carol)
    event, asked, ada = gala["event"], gala["asked"], gala["accepted"][0]
    posts = {
        "ask": {"wave": "2"},
        "nudge": {},
        f"invitations/{asked.pk}/status": {"version": asked.version, "status": "declined"},
        "place": {"invitation": ada.pk, "work_area": gala["floor"].pk, "role": agency.waiter.pk},
    }
    for rest, data in posts.items():
        assert client.post(board_url(event, rest), data).status_code == 403, rest
    assert client.get(board_url(event, "ask")).status_code == 403
    asked.refresh_from_db()
    assert asked.status == "asked" and not Assignment.objects.exists()
    assert Invitation.objects.filter(event=event).count() == 3


def test_a_cancelled_events_board_offers_no_asking(client, bob, gala) -> None:
    event = gala["event"]
    event_cancel(actor=bob, event_id=event.pk, expected_version=event.version)
    client.force_login(bob)
    page = client.get(board_url(event)).content.decode()
    assert "Preview who would be asked" not in page and "Remind everyone" not in page
