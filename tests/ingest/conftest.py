"""Fixtures for the contract tests: the sample site and a validator over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.site import Site, load_site
from ingest.validation import Validator

SAMPLE_SITE = Path(__file__).resolve().parents[2] / "deploy" / "sample" / "site.yaml"


@pytest.fixture(scope="session")
def sample_site() -> Site:
    return load_site(SAMPLE_SITE)


@pytest.fixture(scope="session")
def validator(sample_site: Site) -> Validator:
    return Validator(sample_site, "occupancy")
