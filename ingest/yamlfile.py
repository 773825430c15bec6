"""Reading YAML files for people: keep the line of every key, explain errors in one sentence."""

from __future__ import annotations

import contextlib
import functools
import gc
from collections.abc import Hashable, Iterator
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


# libyaml's parser reads a ministry's site (1.35 MB) ten times faster than PyYAML's own;
# both compose the same nodes, with the same marks, for the checks below.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()


@functools.lru_cache(maxsize=1 << 16)
def _scalar_tag(value: str, implicit: tuple[bool, bool]) -> str:
    tag: str = _RESOLVER.resolve(yaml.ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
    return tag


class _UniqueKeyLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses a key given twice (YAML silently keeps the last one)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # A site repeats its room ids, types and sizes in every building: each plain scalar
        # is matched against the implicit types once.
        if kind is yaml.ScalarNode and not self.resolver_exact_paths:
            return _scalar_tag(value, implicit)
        tag: str = super().resolve(kind, value, implicit)
        return tag


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _STR:
            key = key_node.value  # what the constructor makes of it, without its detour
        else:
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


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile: loading a ministry's files makes a million
    objects, no cycles among them, and each collection went through all of them again
    (a third of the roster's load time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class YamlDocument:
    """A parsed YAML file plus the line on which each key path starts."""

    def __init__(self, path: Path, data: Any, node: yaml.Node | None) -> None:
        self.path = path
        self.data = data
        self._node = node
        self._lines: dict[Location, int] | None = None

    @classmethod
    def load(cls, path: Path) -> YamlDocument:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{path}: the file does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read ({exc}).") from None
        try:
            # libyaml refuses control characters too, in words of its own: PyYAML's reader
            # check comes first so the message names the character as before.
            yaml.reader.Reader(text)
            loader = _UniqueKeyLoader(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({_problem(exc)}).") from None
        try:
            # Parsed once, into nodes that are sized (only a document with an anchor can
            # stand for more than it has) and built into values; their lines are looked up
            # only for an error.
            node = loader.get_single_node()
            if node is not None and "&" in text and _expanded_size(node, {}) > MAX_NODES:
                raise ConfigError(
                    f"{path}: its aliases expand it beyond {MAX_NODES} values (or into itself)."
                )
            data = loader.construct_document(node) if node is not None else None
        except yaml.YAMLError as exc:
            problem = _problem(exc)
            if "maximum nesting depth" in problem:  # libyaml's words for it
                raise ConfigError(f"{path}: not valid YAML (nested too deeply).") from None
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}{where}: not valid YAML ({problem}).") from None
        except (ValueError, KeyError, AttributeError, OverflowError) as exc:
            # PyYAML's constructors fail so on a value its form or tag cannot hold
            # (2026-02-30, `!!int abc`, `!!bool maybe`).
            problem = str(exc) if isinstance(exc, ValueError) else "a value its tag cannot hold"
            raise ConfigError(f"{path}: not valid YAML ({problem}).") from None
        except RecursionError:
            raise ConfigError(f"{path}: not valid YAML (nested too deeply).") from None
        finally:
            loader.dispose()
        return cls(path, data, node)

    def line_of(self, location: Location) -> int | None:
        """The line of the deepest part of `location` that the file itself contains."""
        lines = self._indexed()
        for end in range(len(location), -1, -1):
            line = lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return None

    def _indexed(self) -> dict[Location, int]:
        if self._lines is None:
            self._lines = {}
            if self._node is not None:
                # Deeper than the walk can go (libyaml takes 1,000 levels): named at the
                # deepest line it reached.
                with contextlib.suppress(RecursionError):
                    _Index(self._lines).visit(self._node, ())
        return self._lines

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


def _problem(exc: yaml.YAMLError) -> str:
    return " ".join(str(getattr(exc, "problem", None) or exc).split())


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


class _Index:
    """The line of every key path, found in one walk that stops at `MAX_NODES` values (its
    aliases expanded) or at a node met inside itself."""

    def __init__(self, lines: dict[Location, int]) -> None:
        self.lines = lines
        self.count = 0
        self._open: set[int] = set()
        self._seen: set[int] = set()
        self._sizes: dict[int, int] = {}

    def visit(self, node: yaml.Node, location: Location) -> bool:
        if id(node) in self._open:
            return False
        self.lines.setdefault(location, node.start_mark.line + 1)
        if id(node) in self._seen:
            # An alias: sized without walking it again (a billion laughs is refused at
            # once); a key under it is named at the alias.
            self.count += _expanded_size(node, self._sizes)
            return self.count <= MAX_NODES
        self._seen.add(id(node))
        self.count += 1
        self._open.add(id(node))
        within = self.count <= MAX_NODES and all(
            self.visit(child, at) for child, at in self._children(node, location)
        )
        self._open.discard(id(node))
        return within and self.count <= MAX_NODES

    def _children(
        self, node: yaml.Node, location: Location
    ) -> Iterator[tuple[yaml.Node, Location]]:
        if isinstance(node, yaml.SequenceNode):
            yield from ((item, (*location, i)) for i, item in enumerate(node.value))
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                self.count += 1
                key = (*location, key_node.value)
                self.lines[key] = key_node.start_mark.line + 1
                yield value_node, key
            else:
                # A key that is a list or mapping: the constructor refuses it, once this
                # walk has made sure that building it is bounded.
                self.count += _expanded_size(key_node, {})


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
