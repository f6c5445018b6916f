"""`crewcall simulate_season [--json] [--seed N]` (also spelt simulate-season):
the fairness simulation with its Gini figures.

Runs in memory on a simulated agency (dev/simulation_agency.py, run by staffing.simulation);
it neither reads nor writes the database, so it is safe against production data and takes a
few seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from crewcall.dev.simulation_agency import build_agency
from crewcall.staffing.simulation import (
    STRATEGIES,
    TARGET_VS_FAVOURITES,
    TARGET_VS_RANDOM,
    describe,
    report,
    simulate_season,
)

DEFAULT_SEED = 2026


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


class Command(BaseCommand):
    help = "Simulate a season of asking with the fair picker, at random and by favourites; print the Gini."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="Picks the simulated agency and its answers."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        seed: int = options["seed"]
        began = time.monotonic()
        outcomes = simulate_season(build=build_agency, seed=seed)
        result = report(outcomes, seed=seed)
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        agency = build_agency(seed=seed)
        first, last = agency.season
        self.stdout.write(
            f"Season {first} to {last}: {len(agency.world.people)} employees, {len(agency.events)} events, "
            f"seed {seed}."
        )
        self.stdout.write(
            f"{'strategy':45} {'Gini':>6} {'vs random':>10} {'vs favs':>8} {'filled':>11} "
            f"{'asked':>6} {'cap violations':>15}"
        )
        for name in STRATEGIES:
            o = outcomes[name]
            versus = result.get(f"{name}_vs", {})
            self.stdout.write(
                f"{describe(name):45} {o.gini:6.3f} {_percent(versus.get('vs_random')):>10} "
                f"{_percent(versus.get('vs_favourites')):>8} {o.filled:>5}/{o.places:<5} "
                f"{o.invitations:>6} {o.cap_violations:>15}"
            )
        groups = outcomes["picker"].groups
        self.stdout.write(
            f"Gini of season hours within {groups} groups of the same employment type and role "
            "(always-needed left out), averaged weighted by group size. 0 = everyone alike."
        )
        met = result["picker_vs"]["target_met"]
        self.stdout.write(
            f"Target: picker ≤ {TARGET_VS_RANDOM:.0%} of random and ≤ {TARGET_VS_FAVOURITES:.0%} of "
            f"favourites, no cap violations: {'met' if met else 'not met'} "
            f"({time.monotonic() - began:.1f} s). See docs/fairness.md."
        )
