"""Reading YAML files for people: keep the line of every key, explain errors in one sentence."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ingest.errors import ConfigError

Location = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (YAML silently keeps the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


class YamlDocument:
    """A parsed YAML file plus the line on which each key path starts."""

    def __init__(self, path: Path, data: Any, lines: dict[Location, int]) -> None:
        self.path = path
        self.data = data
        self._lines = lines

    @classmethod
    def load(cls, path: Path) -> YamlDocument:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: the file does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read ({exc}).") from None
        try:
            node = yaml.compose(text, Loader=_UniqueKeyLoader)
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"{path}{where}: not valid YAML ({problem}).") from None
        lines: dict[Location, int] = {}
        if node is not None:
            _index(node, (), lines)
        return cls(path, data, lines)

    def line_of(self, location: Location) -> int | None:
        """The line of the deepest part of `location` that the file itself contains."""
        for end in range(len(location), -1, -1):
            line = self._lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return None

    def where(self, location: Location) -> str:
        """`file line N (key.path)`: how errors name a place in the file."""
        line = self.line_of(location)
        key = format_location(location)
        at = f" line {line}" if line is not None else ""
        return f"{self.path}{at} ({key})" if key else f"{self.path}{at}"

    def validate(self, model: type[M], context: dict[str, Any] | None = None) -> M:
        """The document as `model`, or a ConfigError naming the first problem's key and line."""
        try:
            return model.model_validate(self.data, context=context)
        except ValidationError as exc:
            raise self.error_from(exc) from None

    def error_from(self, exc: ValidationError) -> ConfigError:
        errors = exc.errors()
        located = [(tuple(p for p in e["loc"] if not _is_union_tag(p)), e) for e in errors]
        # A union reports one error per member tried; the deepest one is usually the real one.
        base = located[0][0]
        location, first = max(
            (pair for pair in located if pair[0][: len(base)] == base), key=lambda p: len(p[0])
        )
        problems = {loc for loc, _ in located}
        message = str(first["msg"]).removeprefix("Value error, ")
        value = first.get("input")
        # Our own checks name the value in their message; containers are too long to echo.
        quiet = first["type"] in {"missing", "value_error"} or isinstance(value, dict | list)
        got = "" if quiet else f" (got {_short(value)})"
        more = f"; {len(problems) - 1} more problem(s) after it" if len(problems) > 1 else ""
        return ConfigError(f"{self.where(location)}: {_lower_first(message)}{got}{more}.")


def format_location(location: Location) -> str:
    out = ""
    for part in location:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _index(node: yaml.Node, location: Location, lines: dict[Location, int]) -> None:
    lines.setdefault(location, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*location, key_node.value)
            lines[key] = key_node.start_mark.line + 1
            _index(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, (*location, i), lines)


_UNION_TAGS = frozenset({"str", "int", "float", "bool", "none", "list", "dict"})


def _is_union_tag(part: str | int) -> bool:
    # pydantic adds the tried type's name to the location for unions; people don't need it.
    return isinstance(part, str) and (
        "[" in part or part in _UNION_TAGS or part.startswith(("constrained-", "function-"))
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text
