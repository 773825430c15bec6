"""docs/configuration.md, generated from `ingest.settings.Settings`: `python -m deploy.docs_config`.

The settings class is the one truth of every `OCC_*` name, type, default and meaning; the
page is rendered from it so the two cannot drift apart (tests/unit/docs/test_configuration_doc.py
fails when the page is stale). Secrets show as secret: their defaults are never printed.
"""

from __future__ import annotations

import re
import sys
import types
from datetime import date
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AwareDatetime, BaseModel, SecretStr
from pydantic.fields import FieldInfo

from ingest.settings import Settings

REPO = Path(__file__).resolve().parent.parent
PAGE = REPO / "docs" / "configuration.md"
REGENERATE = ".venv/bin/python -m deploy.docs_config"

_HEAD = f"""\
# Configuration

<!-- Generated from ingest/settings.py by `{REGENERATE}`; do not edit by hand. -->

Every process of the pipeline (bridge, workers, simulator, demo, command line) reads one
settings object from environment variables with the prefix `OCC_`, or from a `.env` file in
the working directory; the environment wins over the file. `occupancy stack env` prints the
ones that point at the local stack.

With `OCC_SECRETS_DIR` set to a folder (Docker secrets: `/run/secrets`), a file there named
after a setting in lower case (`occ_mqtt_url`, `occ_webhook_secret`) gives its value; the
environment still wins. Secrets are held as `SecretStr` and never logged or echoed.

A bad value stops the command with one sentence naming the variable (exit status 2);
passwords and tokens are never repeated in it.

| variable | type | default | meaning |
|---|---|---|---|
"""


class MissingDescriptionError(ValueError):
    """A setting without a description: the page would leave a user guessing."""


def render(model: type[BaseModel] = Settings) -> str:
    """The whole page for `model`'s fields, in their declaration order."""
    missing = [name for name, info in model.model_fields.items() if not info.description]
    if missing:
        raise MissingDescriptionError(
            f"{model.__name__} field(s) {', '.join(missing)} have no description: add "
            "`Field(description=...)` in ingest/settings.py saying what the setting does for a "
            f"user, then run `{REGENERATE}`."
        )
    rows = [_row(name, info) for name, info in model.model_fields.items()]
    return _HEAD + "".join(rows)


def variable(name: str) -> str:
    return f"OCC_{name.upper()}"


def _row(name: str, info: FieldInfo) -> str:
    cells = [
        f"`{variable(name)}`",
        _type(info),
        "secret" if _is_secret(info.annotation) else _default(info.default),
        _cell(info.description or ""),
    ]
    return "| " + " | ".join(cells) + " |\n"


def _is_secret(annotation: Any) -> bool:
    return annotation is SecretStr or SecretStr in get_args(annotation)


_NAMES: dict[Any, str] = {
    str: "text",
    int: "integer",
    float: "number",
    bool: "`true` or `false`",
    Path: "path",
    date: "date (YYYY-MM-DD)",
    AwareDatetime: "time (ISO 8601 with offset)",
    SecretStr: "secret text",
}


def _type(info: FieldInfo) -> str:
    words = [_name_of(info.annotation)]
    for rule in info.metadata:
        words += _constraint(rule)
    return _cell(", ".join(words))


def _name_of(annotation: Any) -> str:
    """How a user writes a value of this type in an environment variable."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        named = [_name_of(a) for a in args if a is not type(None)]
        return " or ".join(named)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"JSON list of {_name_of(args[0])}" if args else "JSON list"
    if origin is dict or annotation is dict:
        return "JSON object"
    if annotation not in _NAMES:
        raise ValueError(
            f"deploy/docs_config.py has no name for the type {annotation!r}: add how a user "
            "writes it to _NAMES."
        )
    return _NAMES[annotation]


_BOUNDS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
)


def _constraint(rule: object) -> list[str]:
    for kind, attribute, sign in _BOUNDS:
        if isinstance(rule, kind):
            return [f"{sign} {_number(getattr(rule, attribute))}"]
    pattern = getattr(rule, "pattern", None)
    if pattern is None:
        return []
    choices = re.fullmatch(r"\^\(([A-Za-z0-9_|-]+)\)\$", pattern)
    if choices:
        return ["one of " + ", ".join(f"`{c}`" for c in choices[1].split("|"))]
    return [f"matching `{pattern}`"]


def _default(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"`{_number(value)}`"
    return f"`{value}`"


def _number(value: object) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def _cell(text: str) -> str:
    """Markdown table cells end at a `|`, even inside backticks."""
    return text.replace("|", "\\|")


def main() -> None:
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {PAGE.relative_to(REPO)}\n")


if __name__ == "__main__":
    main()
