"""The benchmarks' generated sites and rosters load as the pipeline would load them: a change
to the roster's rules (home rooms, say) must not break a benchmark that is run by hand, and
only months later (bench/period_report.py did, when units got home rooms)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.period_report import SAMPLE, big_roster
from bench.plan import generated
from ingest.site import load_site


def test_the_period_reports_roster_keeps_the_samples_mix_and_loads(tmp_path: Path) -> None:
    site = load_site(SAMPLE / "site.yaml")
    roster = big_roster(tmp_path, site, 500, seed=18)
    # The generated people, beside the few the sample's roster names inline.
    assert sum(e.id.startswith("b0") for e in roster.employees) == 500
    # Every unit of the sample, each in the building its home rooms are in.
    assert {e.unit for e in roster.employees} == {u.id for u in roster.units}
    buildings = Counter((e.unit, e.building) for e in roster.employees)
    assert len(buildings) < 2 * len(roster.units), buildings


def test_the_planners_generated_site_and_roster_agree() -> None:
    site, roster = generated(employees=400, rooms=8, buildings=2)
    assert len(roster.employees) == 400
    assert len(site.buildings) == 2
    assert {e.building for e in roster.employees} <= {b.id for b in site.buildings}
