"""docs/configuration.md is generated from ingest/settings.py:Settings and must match it.

When a test here fails after a setting was added or changed, give the setting a
`Field(description=...)` and run `.venv/bin/python -m deploy.docs_config`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from pydantic import Field, SecretStr

from deploy.docs_config import PAGE, REGENERATE, MissingDescriptionError, render, variable
from ingest.settings import Settings


def test_the_page_is_what_the_generator_writes_now() -> None:
    written = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    assert written == render(), (
        f"{PAGE.name} is stale against ingest/settings.py: run `{REGENERATE}` and commit "
        f"docs/{PAGE.name}."
    )


def test_every_setting_has_a_row_with_its_variable_and_description() -> None:
    page = render()
    for name, info in Settings.model_fields.items():
        assert info.description, f"Settings.{name}: add Field(description=...)"
        row = next(line for line in page.splitlines() if line.startswith(f"| `{variable(name)}` |"))
        assert info.description.replace("|", "\\|") in row


def test_a_setting_without_a_description_stops_the_generator_and_says_what_to_do() -> None:
    class Undocumented(Settings):
        new_knob: int = 3

    with pytest.raises(MissingDescriptionError) as raised:
        render(Undocumented)
    assert "new_knob" in str(raised.value)
    assert "Field(description=" in str(raised.value)
    assert REGENERATE in str(raised.value)


def test_a_secret_shows_as_secret_and_never_its_default() -> None:
    class WithSecret(Settings):
        vault_token: Annotated[SecretStr, Field(description="A token.")] = SecretStr("hunter2-x")
        maybe_token: Annotated[SecretStr | None, Field(description="Another.")] = None

    page = render(WithSecret)
    assert "hunter2-x" not in page
    for name in ("OCC_VAULT_TOKEN", "OCC_MAYBE_TOKEN"):
        row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.split(" | ")[1:3] == ["secret text", "secret"], row


def test_types_bounds_and_defaults_are_shown_as_a_user_types_them() -> None:
    page = render()
    rows = {line.split(" | ")[0].strip("| `"): line.split(" | ") for line in page.splitlines()}
    assert rows["OCC_KAFKA_PARTITIONS"][1:3] == ["integer, ≥ 1, ≤ 1000", "`6`"]
    assert rows["OCC_KAFKA_IDEMPOTENCE"][1:3] == ["`true` or `false`", "`true`"]
    assert rows["OCC_WORKER_STORE"][1] == "text, one of `auto`, `memory`, `rocksdb`"
    assert rows["OCC_SITE_FILE"][1:3] == ["path", "unset"]
    assert rows["OCC_ALERT_DEBOUNCE_S"][2] == "`0`"


def test_settings_of_other_shapes_are_named_as_a_user_writes_them() -> None:
    class Shapes(Settings):
        mode: Annotated[Literal["fast", "safe"], Field(description="A mode.")] = "safe"
        hosts: Annotated[tuple[str, ...], Field(description="Hosts.")] = ()
        ratio: Annotated[float | int, Field(description="A ratio.")] = 1

    rows = {
        line.split(" | ")[0].strip("| `"): line.split(" | ") for line in render(Shapes).splitlines()
    }
    assert rows["OCC_MODE"][1:3] == ["one of `fast`, `safe`", "`safe`"]
    assert rows["OCC_HOSTS"][1] == "JSON list of text"
    assert rows["OCC_RATIO"][1] == "number or integer"
