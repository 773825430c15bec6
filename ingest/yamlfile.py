"""Reading YAML files for people: keep the line of every key, explain errors in one sentence."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from ingest.errors import ConfigError

Location = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)

MAX_NODES = 1_000_000
"""A document may stand for this many values once its aliases are expanded: a few hundred
bytes of nested aliases (a "billion laughs") would otherwise take minutes and gigabytes."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (YAML silently keeps the last one)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, Hashable):
            raise yaml.constructor.ConstructorError(
                None, None, "a key is a list or a mapping", key_node.start_mark
            )
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
        lines: dict[Location, int] = {}
        try:
            node = yaml.compose(text, Loader=_UniqueKeyLoader)
            if node is not None and _expanded_size(node, {}) > MAX_NODES:
                raise ConfigError(
                    f"{path}: its aliases expand it beyond {MAX_NODES} values (or into itself)."
                )
            data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
            if node is not None:
                _index(node, (), lines)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
            raise ConfigError(f"{path}{where}: not valid YAML ({problem}).") from None
        except (ValueError, KeyError, AttributeError, OverflowError) as exc:
            # PyYAML's constructors fail so on a value its form or tag cannot hold
            # (2026-02-30, `!!int abc`, `!!bool maybe`).
            problem = str(exc) if isinstance(exc, ValueError) else "a value its tag cannot hold"
            raise ConfigError(f"{path}: not valid YAML ({problem}).") from None
        except RecursionError:
            raise ConfigError(f"{path}: not valid YAML (nested too deeply).") from None
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
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        name = part if part.isprintable() else repr(part)  # a line break, an escape code
        out += f".{name}" if out else name
    return out


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes `node` stands for with its aliases expanded (an alias is the very node
    it names, so each is counted once and then looked up); one inside itself is too many."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_NODES + 1  # met again before it is counted: it contains itself
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    total = 1
    for child in children:
        total += _expanded_size(child, sizes)
        if total > MAX_NODES:
            break
    sizes[id(node)] = total
    return total


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
