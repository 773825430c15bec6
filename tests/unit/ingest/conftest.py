"""Fixtures for the contract tests: a validator over the sample site."""

from __future__ import annotations

import pytest

from ingest.site import Site
from ingest.validation import Validator


@pytest.fixture(scope="session")
def validator(sample_site: Site) -> Validator:
    return Validator(sample_site, "occupancy")
