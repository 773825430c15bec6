"""The benchmarks' generated sites and rosters load as the pipeline would load them: a change
to the roster's rules (home rooms, say) must not break a benchmark that is run by hand, and
only months later (bench/period_report.py did, when units got home rooms)."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

from ingest.site import load_site

BENCH = Path(__file__).resolve().parents[3] / "bench"
SAMPLE = BENCH.parent / "deploy" / "sample"


def script(name: str) -> ModuleType:
    """A benchmark script by its path: the scripts are run from `bench/`, not a package."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def test_the_period_reports_roster_keeps_the_samples_mix_and_loads(tmp_path: Path) -> None:
    site = load_site(SAMPLE / "site.yaml")
    roster = script("period_report").big_roster(tmp_path, site, 500, seed=18)
    # The generated people, beside the few the sample's roster names inline.
    assert sum(e.id.startswith("b0") for e in roster.employees) == 500
    # Every unit of the sample, each in the building its home rooms are in.
    assert {e.unit for e in roster.employees} == {u.id for u in roster.units}
    buildings = Counter((e.unit, e.building) for e in roster.employees)
    assert len(buildings) < 2 * len(roster.units), buildings


def test_the_planners_generated_site_and_roster_agree() -> None:
    site, roster = script("plan").generated(employees=400, rooms=8, buildings=2)
    assert len(roster.employees) == 400
    assert len(site.buildings) == 2
    assert {e.building for e in roster.employees} <= {b.id for b in site.buildings}
