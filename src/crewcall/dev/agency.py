"""The agency the demo and the fairness simulation share: a Munich catering and event-staffing
agency's roles, skills, employment types and their caps, and who may be always needed.

The demo loads it into the database (dev/demo.py); the simulation builds it in memory
(dev/simulation_agency.py). Each draws its own people from these tables with its own
random.Random, so a seed gives the same agency every time. Dict order is part of the
definition: the weighted draws walk it.
"""

from __future__ import annotations

import random

# role key: name, in the order the demo creates them.
ROLES = {
    "bartender": "Bartender",
    "waiter": "Waiter",
    "cook": "Cook",
    "runner": "Runner",
    "lead": "Shift lead",
    "barista": "Barista",
    "host": "Host",
}
ROLE_WEIGHTS = {"waiter": 31, "bartender": 22, "cook": 14, "runner": 12, "barista": 7, "host": 7, "lead": 7}
SKILLS = {
    "cocktails": "Cocktails",
    "wine": "Wine service",
    "forklift": "Forklift licence",
    "first_aid": "First aid",
    "english": "English",
    "french": "French",
    "sommelier": "Sommelier",
    "coffee": "Coffee / espresso",
}
# The chance that someone in a role has a skill.
ROLE_SKILLS: dict[str, dict[str, float]] = {
    "bartender": {"cocktails": 0.75, "wine": 0.3, "english": 0.6, "first_aid": 0.15},
    "waiter": {"wine": 0.5, "sommelier": 0.06, "french": 0.12, "english": 0.55, "first_aid": 0.15},
    "cook": {"first_aid": 0.35, "english": 0.3},
    "runner": {"forklift": 0.35, "first_aid": 0.2, "english": 0.4},
    "barista": {"coffee": 0.95, "english": 0.6},
    "host": {"english": 0.9, "french": 0.4, "first_aid": 0.2},
    "lead": {"first_aid": 0.8, "english": 0.8, "wine": 0.5, "forklift": 0.2},
}
EMPLOYMENT_WEIGHTS = {"mini_job": 36, "part_time": 28, "full_time": 14, "freelance": 22}
# employment type: (monthly hours cap, monthly earnings cap); the mini-job caps are the legal ones.
LIMITS: dict[str, tuple[str | None, str | None]] = {
    "mini_job": ("43.00", "556.00"),
    "part_time": ("80.00", None),
    "full_time": (None, None),
    "freelance": (None, None),
}
# The always-needed core comes from experienced roles not bound by a mini-job's caps.
ALWAYS_NEEDED_ROLES = ("lead", "bartender", "waiter", "cook")


def may_be_always_needed(*, role: str, employment_type: str) -> bool:
    return role in ALWAYS_NEEDED_ROLES and employment_type != "mini_job"


def weighted_choice(rng: random.Random, weights: dict[str, int]) -> str:
    """One key of `weights`, drawn with its weight (one draw from `rng`)."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]
