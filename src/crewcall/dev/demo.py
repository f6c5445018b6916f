"""What the demo agency consists of: the agency of dev/agency.py, with names and events.

Data tables, the pure planning of its people, the small rules the loader shares (shift
times, places left in a work area), the demo user and the summary of what was loaded. The
loader itself, `crewcall.dev.management.commands.demo`, writes it all through the services.
Every choice comes from one random.Random(SEED) and every date is relative to today, so two
loads into empty databases on the same day give the same data.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

import pghistory
from django.db.models import Count, Q, Sum
from django.utils import timezone

from crewcall.accounts.models import User
from crewcall.core.context import current_context
from crewcall.dev.agency import (
    EMPLOYMENT_WEIGHTS,
    ROLE_SKILLS,
    ROLE_WEIGHTS,
    may_be_always_needed,
    weighted_choice,
)
from crewcall.events.models import Event, WorkArea
from crewcall.people.models import Absence, Employee, EmploymentTypeLimit, Role, Skill
from crewcall.staffing.models import Assignment, Invitation, WorkLog

SEED = 2026
DEMO_USERNAME = "demo-dispatcher"

# origin: (weight, share preferring English, given names, family names)
# fmt: off
NAMES: dict[str, tuple[int, float, str, str]] = {
    "de": (
        60,
        0.0,
        "Anna Lena Marie Sophie Laura Julia Lea Hannah Katharina Johanna Clara Paula Emma Mia Sarah Nina "
        "Franziska Theresa Vroni Sabine Petra Birgit Heike Lukas Jonas Leon Felix Maximilian Paul Tim "
        "Niklas Jan Moritz David Simon Tobias Florian Sebastian Stefan Markus Jens Uwe Klaus Korbinian",
        "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Bauer "
        "Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hartmann Lange Schmitt Werner Krause "
        "Meier Lehmann Huber Gruber Wimmer Obermaier Steiner Moser Lechner Kessler Vogt Berger Maurer",
    ),
    "tr": (9, 0.2, "Mehmet Ayşe Elif Emre Can Zeynep Deniz Burak Selin Murat",
           "Yılmaz Kaya Demir Şahin Çelik Öztürk Aydın Arslan Doğan Koç"),  # noqa: RUF001
    "pl": (6, 0.4, "Aleksandra Piotr Katarzyna Tomasz Magdalena Kamil Agnieszka Paweł",
           "Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Szymański"),
    "it": (5, 0.4, "Luca Giulia Marco Sofia Francesca Matteo Chiara Alessandro",
           "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci"),
    "es": (4, 0.5, "Carlos Lucía Pablo María Diego Carmen Javier Elena",
           "García Fernández López Martínez Sánchez Romero Navarro Torres"),
    "ua": (4, 0.5, "Olena Dmytro Iryna Andrii Oksana Taras",
           "Kovalenko Bondarenko Shevchenko Tkachenko Melnyk"),
    "ar": (4, 0.5, "Amir Yasmin Omar Fatima Karim Leila Samir Nour", "Haddad Khalil Nasser Saleh Mansour"),
    "vn": (2, 0.5, "Minh Linh Thao Duc Hoa", "Nguyen Tran Le Pham Hoang"),
    "en": (3, 1.0, "Emily James Siobhan Oliver Grace Liam", "Smith O'Brien Taylor Walsh Murphy Clarke"),
    "gh": (2, 1.0, "Kwame Amara Kofi Abena Chidi", "Mensah Okafor Boateng Asante Adeyemi"),
    "fr": (2, 0.7, "Chloé Théo Camille Louis Manon", "Martin Bernard Dubois Laurent Moreau"),
}
# fmt: on
NOTES = (
    "Has a car, can give lifts.",
    "Weekends only.",
    "Student: more time in the semester break.",
    "Hygiene instruction (IfSG §43) done.",
    "Not before 16:00 on weekdays.",
    "Prefers bar over service.",
    "Good with large buffets.",
    "Trains new colleagues.",
)
ABSENCE_NOTES = {
    "vacation": ("Summer holiday", "Visiting family", "Ski trip", ""),
    "sick": ("Doctor's note received", "Flu", ""),
    "blocked": ("Exam", "Family celebration", "Moving house"),
}
ABSENCE_COUNT = 36  # employees with one or two absences
ARCHIVED_COUNT = 5  # of whom one is anonymised
MOBILE_PREFIXES = ("151", "152", "157", "160", "170", "171", "172", "176", "177", "178", "179")
EMPLOYEE_COUNT = 150
ALWAYS_NEEDED_COUNT = 8

# A work area: (name, capacity, role requirements, required skills, priority, colour).
Area = tuple[str, int, dict[str, int], tuple[str, ...], str, str]


@dataclass(frozen=True)
class TemplateSpec:
    title: str
    start: time
    end: time | None
    next_day: bool
    rate: str
    needed: int
    ask: int
    description: str
    specialties: str
    areas: tuple[Area, ...]


TEMPLATES: dict[str, TemplateSpec] = {
    "wedding": TemplateSpec(
        "Wedding", time(15, 0), time(1, 0), True, "16.50", 10, 14,
        "Reception, seated dinner and party until late.",
        "Champagne reception at arrival; speeches before the main course.",
        (
            ("Service", 6, {"waiter": 5, "lead": 1}, ("wine",), "high", "blue"),
            ("Bar", 3, {"bartender": 2}, ("cocktails",), "medium", "amber"),
            ("Kitchen", 3, {"cook": 2}, ("first_aid",), "medium", "green"),
        ),
    ),
    "corporate": TemplateSpec(
        "Corporate dinner", time(18, 0), time(23, 30), False, "17.00", 8, 11,
        "Four-course dinner for a company's guests.",
        "Dark suit, white shirt. Guests partly international.",
        (
            ("Service", 5, {"waiter": 4, "lead": 1}, ("wine", "english"), "high", "blue"),
            ("Bar", 2, {"bartender": 2}, ("wine",), "medium", "amber"),
            ("Entrance", 2, {"host": 1}, ("english",), "low", "purple"),
        ),
    ),
    "christmas": TemplateSpec(
        "Christmas party", time(19, 0), time(2, 0), True, "16.00", 12, 16,
        "Company Christmas party with buffet and DJ.",
        "Mulled wine at the entrance; cloakroom tickets are numbered.",
        (
            ("Bar", 4, {"bartender": 3}, ("cocktails",), "high", "red"),
            ("Service", 5, {"waiter": 4}, (), "medium", "blue"),
            ("Kitchen", 3, {"cook": 2, "runner": 1}, (), "medium", "green"),
            ("Cloakroom", 2, {"host": 1}, (), "low", "gray"),
        ),
    ),
    "festival": TemplateSpec(
        "Festival bar", time(14, 0), time(1, 0), True, "15.00", 14, 20,
        "Open-air bars with cashless payment.",
        "Sturdy shoes; rain gear is provided.",
        (
            ("Main bar", 6, {"bartender": 4, "runner": 1}, ("cocktails",), "critical", "orange"),
            ("Cocktail bar", 4, {"bartender": 3}, ("cocktails",), "high", "pink"),
            ("Coffee truck", 2, {"barista": 2}, ("coffee",), "medium", "amber"),
            ("Storage", 2, {"runner": 2}, ("forklift",), "low", "gray"),
        ),
    ),
    "conference": TemplateSpec(
        "Conference catering", time(7, 30), time(17, 0), False, "15.50", 9, 12,
        "Coffee breaks, lunch buffet and registration desk.",
        "Name badges are handed out at the registration desk.",
        (
            ("Coffee station", 3, {"barista": 2}, ("coffee",), "high", "amber"),
            ("Lunch buffet", 4, {"waiter": 3, "cook": 1}, (), "medium", "green"),
            ("Registration", 2, {"host": 2}, ("english", "french"), "medium", "teal"),
        ),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class EventSpec:
    """One event: made from `template`, or a one-off with the fields after it.

    A cancelled event in the past was cancelled while recruiting, one ahead as a draft.
    """

    offset: int  # days from today
    status: str  # the state it ends in
    title: str
    location: str
    template: str | None = None
    start: time = time(18, 0)
    end: time | None = time(23, 0)
    needed: int = 4
    ask: int = 6
    rate: str = "16.00"
    description: str = ""
    areas: tuple[Area, ...] = ()


GALLERY_AREAS: tuple[Area, ...] = (
    ("Bar", 3, {"bartender": 2}, ("wine",), "high", "amber"),
    ("Floor", 3, {"waiter": 2}, (), "medium", "blue"),
)
GARDEN_AREAS: tuple[Area, ...] = (
    ("Beer garden", 4, {"bartender": 2, "runner": 1}, (), "high", "green"),
    ("Grill", 2, {"cook": 2}, ("first_aid",), "medium", "red"),
)

EVENTS: tuple[EventSpec, ...] = (
    EventSpec(-75, "completed", "Wedding Hoffmann & Yılmaz", "Gut Sonnenhausen, Glonn", "wedding"),  # noqa: RUF001
    EventSpec(-61, "completed", "Conference catering MedTech Forum", "Messe München, Hall B0", "conference"),
    EventSpec(-48, "completed", "Corporate dinner Brandl AG", "Seehaus im Englischen Garten", "corporate"),
    EventSpec(-40, "completed", "Festival bar Isarrauschen", "Flaucher, Isarauen", "festival"),
    EventSpec(-33, "completed", "Gallery opening Lenbach", "Kunstbau, Königsplatz", None, time(19, 0), None,
              4, 6, "16.00", "Vernissage with wine and finger food; open end.", GALLERY_AREAS),
    EventSpec(-26, "completed", "Team party Kessler Software", "Kesselhaus, Lilienthalallee", "christmas"),
    EventSpec(-19, "completed", "Wedding Berger & Novak", "Kloster Seeon", "wedding"),
    EventSpec(-12, "completed", "Corporate dinner Vogt & Partner", "Postpalast, Wredestraße", "corporate"),
    EventSpec(-8, "cancelled", "Garden party Stadtwerke Freising", "Luitpoldanlage, Freising", None,
              time(16, 0), time(22, 0), 6, 8, "15.50", "Cancelled: storm warning.", GARDEN_AREAS),
    EventSpec(-5, "completed", "Conference catering Bayern Digital", "ICM München", "conference"),
    EventSpec(-2, "completed", "Product launch Aurelia Cosmetics", "Alte Kongresshalle", None, time(17, 0),
              time(22, 30), 5, 7, "17.50", "Launch with press; standing reception.", GALLERY_AREAS),
    EventSpec(0, "staffed", "Corporate dinner Hallberg Bank", "Bayerischer Hof, Palais Keller", "corporate"),
    EventSpec(3, "staffed", "Wedding Schmid & Okafor", "Schloss Hohenkammer", "wedding"),
    EventSpec(6, "staffed", "Festival bar Tollwood Opening", "Theresienwiese", "festival"),
    EventSpec(9, "recruiting", "Conference catering Mobility Summit", "Messe München, ICM", "conference"),
    EventSpec(12, "recruiting", "Winter party Alpina Versicherung", "Zenith, Lilienthalallee", "christmas"),
    EventSpec(14, "cancelled", "Charity gala Kinderhilfe", "Künstlerhaus am Lenbachplatz", None, time(18, 30),
              time(23, 30), 8, 10, "17.00", "Postponed by the client.", ()),
    EventSpec(17, "recruiting", "Wedding Lehmann & Rossi", "Gut Kaltenbrunn, Gmund", "wedding"),
    EventSpec(20, "staffed", "Corporate dinner Feldmann Architekten", "Literaturhaus München", "corporate"),
    EventSpec(24, "recruiting", "Festival bar Werksviertel Open Air", "Werksviertel-Mitte", "festival"),
    EventSpec(31, "recruiting", "Vernissage Galerie Nord", "Galerie Nord, Schwabing", None, time(19, 0), None,
              4, 6, "16.00", "Wine and finger food; open end.", GALLERY_AREAS),
    EventSpec(38, "draft", "Conference catering FinTech Days", "Munich Urban Colab", "conference"),
    EventSpec(45, "draft", "Wedding Kaya & Meier", "Schloss Fürstenried", "wedding"),
    EventSpec(60, "draft", "Christmas party Brauerei Huber", "Huber Bräustüberl", "christmas"),
    EventSpec(80, "draft", "Summer reception Consulate", "Residenz, Kaisersaal", None, time(18, 0),
              time(22, 0), 6, 8, "18.00", "Details to follow from the client."),
)  # fmt: skip


@dataclass(frozen=True)
class PersonSpec:
    name: str
    phone: str
    role: str
    skills: tuple[str, ...]
    employment_type: str
    language: str
    always_needed: bool
    notes: str


def plan_people(rng: random.Random, count: int = EMPLOYEE_COUNT) -> list[PersonSpec]:
    """Unique names and mobile numbers, roles, skills and employment types."""
    origins = {key: weight for key, (weight, *_rest) in NAMES.items()}
    names: set[str] = set()
    phones: set[str] = set()
    people: list[PersonSpec] = []
    while len(people) < count:
        origin = weighted_choice(rng, origins)
        _, english, given, family = NAMES[origin]
        name = f"{rng.choice(given.split())} {rng.choice(family.split())}"
        phone = f"+49{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7, 10**8)}"
        if name in names or phone in phones:
            continue
        names.add(name)
        phones.add(phone)
        role = weighted_choice(rng, ROLE_WEIGHTS)
        people.append(
            PersonSpec(
                name=name,
                phone=phone,
                role=role,
                skills=tuple(key for key, chance in ROLE_SKILLS[role].items() if rng.random() < chance),
                employment_type=weighted_choice(rng, EMPLOYMENT_WEIGHTS),
                language="en" if rng.random() < english else "de",
                always_needed=False,
                notes=rng.choice(NOTES) if rng.random() < 0.15 else "",
            )
        )
    core = [
        i for i, p in enumerate(people)
        if may_be_always_needed(role=p.role, employment_type=p.employment_type)
    ]  # fmt: skip
    always = set(rng.sample(core, min(ALWAYS_NEEDED_COUNT, len(core))))
    return [replace(p, always_needed=True) if i in always else p for i, p in enumerate(people)]


@dataclass
class Slot:
    """A work area's places, counted the way the database's assignment trigger counts them."""

    area_id: int
    capacity: int
    requirements: dict[str, int]
    taken: Counter[str] = field(default_factory=Counter)

    def fits(self, role: str) -> bool:
        if sum(self.taken.values()) >= self.capacity:
            return False
        if role in self.requirements:
            return self.taken[role] < self.requirements[role]
        unlisted = sum(n for key, n in self.taken.items() if key not in self.requirements)
        return unlisted < self.capacity - sum(self.requirements.values())


def break_minutes(shift: timedelta) -> int:
    """The German working-time act: 30 minutes beyond six hours, 45 beyond nine."""
    if shift > timedelta(hours=9):
        return 45
    return 30 if shift > timedelta(hours=6) else 0


def shift_of(event: Event) -> tuple[datetime, datetime]:
    """Planned start and end of an event (an open end is taken as five hours)."""
    assert event.event_date is not None  # noqa: S101 - only events with a date are staffed
    start = timezone.make_aware(datetime.combine(event.event_date, event.start_time))
    if event.end_time is None:
        return start, start + timedelta(hours=5)
    end_day = event.event_date + timedelta(days=1 if event.ends_next_day else 0)
    return start, timezone.make_aware(datetime.combine(end_day, event.end_time))


def demo_actor() -> User:
    """The dispatcher the demo acts as, created (without a usable password) if absent."""
    ctx = current_context()
    with pghistory.context(user=None, source=ctx.source, request_id=ctx.request_id, action="demo.actor"):
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME,
            defaults={
                "role": User.Role.DISPATCHER,
                "first_name": "Demo",
                "last_name": "Dispatcher",
                "is_staff": True,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    return user


def demo_summary() -> list[str]:
    """What the database holds, one line per kind of thing."""

    def by_status(rows: Any) -> str:
        return ", ".join(f"{row['status']} {row['n']}" for row in rows.order_by("status"))

    staff = Employee.objects.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        archived=Count("pk", filter=Q(is_active=False, anonymised_at__isnull=True)),
        anonymised=Count("pk", filter=Q(anonymised_at__isnull=False)),
        always=Count("pk", filter=Q(is_always_needed=True)),
    )
    plain = Event.objects.filter(is_template=False)
    logs = WorkLog.objects.aggregate(n=Count("pk"), approved=Count("approved_at"), hours=Sum("hours"))
    return [
        f"Roles {Role.objects.count()}, skills {Skill.objects.count()}, "
        f"employment-type limits {EmploymentTypeLimit.objects.count()}",
        f"Employees {staff['total']}: {staff['active']} active, {staff['archived']} archived, "
        f"{staff['anonymised']} anonymised, {staff['always']} always needed; "
        f"absences {Absence.objects.count()}",
        f"Templates {Event.objects.filter(is_template=True).count()} with "
        f"{WorkArea.objects.filter(event__is_template=True).count()} work areas",
        f"Events {plain.count()} ({by_status(plain.values('status').annotate(n=Count('pk')))}) with "
        f"{WorkArea.objects.filter(event__is_template=False).count()} work areas",
        f"Invitations {Invitation.objects.count()} "
        f"({by_status(Invitation.objects.values('status').annotate(n=Count('pk')))})",
        f"Assignments {Assignment.objects.count()}",
        f"Work logs {logs['n']} ({logs['approved']} approved), {logs['hours'] or 0} h",
    ]
