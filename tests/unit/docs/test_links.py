"""The guides point at what exists: relative links, repository paths, `OCC_` names and
`occupancy` commands with their options."""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import fields
from pathlib import Path

import click
import pytest

from deploy.cli import main
from deploy.local.stack import StackPorts, port_variable
from ingest.settings import Settings
from tests.unit.docs.markdown import GUIDES, REPO, spans

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.MULTILINE)
_VARIABLE = re.compile(r"\bOCC_[A-Z0-9_]+\b")
# A repository path in a code span: a top-level folder of ours, then a plain path.
_PATH = re.compile(r"(?:ingest|processors|alerts|deploy|tests|bench|docs)/[\w./-]*")
# What the operator makes on the production host, described but never in the repository.
_MADE_BY_OPERATORS = re.compile(
    r"^deploy/(secrets|mosquitto/auth|mosquitto/certs)/.+|^deploy/\.env$"
)


def _id(path: Path) -> str:
    return str(path.relative_to(REPO))


def _anchors(path: Path) -> set[str]:
    """GitHub's ids of the headings: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {
        re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-") for title in _HEADING.findall(text)
    }


@pytest.mark.parametrize("guide", GUIDES, ids=_id)
def test_every_relative_link_reaches_a_file_and_its_heading(guide: Path) -> None:
    for target in _LINK.findall(guide.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        file, _, anchor = target.partition("#")
        reached = (guide.parent / file).resolve() if file else guide
        assert reached.exists(), f"{_id(guide)}: the link {target} reaches no file"
        if anchor:
            assert anchor in _anchors(reached), (
                f"{_id(guide)}: the link {target} names no heading of {_id(reached)}"
            )


@pytest.mark.parametrize("guide", GUIDES, ids=_id)
def test_every_repository_path_in_code_exists(guide: Path) -> None:
    for path in filter(_PATH.fullmatch, spans(guide.read_text(encoding="utf-8"))):
        if _MADE_BY_OPERATORS.match(path):
            continue
        assert (REPO / path).exists(), f"{_id(guide)}: `{path}` is not in the repository"


@pytest.mark.parametrize("guide", GUIDES, ids=_id)
def test_every_occ_name_is_one_the_code_reads(guide: Path) -> None:
    unknown = sorted(set(_VARIABLE.findall(guide.read_text(encoding="utf-8"))) - _known())
    assert not unknown, (
        f"{_id(guide)} names {unknown}, which no code reads: a setting of ingest/settings.py "
        "(then see docs/configuration.md) or a variable read with os.environ"
    )


@functools.cache
def _known() -> frozenset[str]:
    """The settings, the local stack's port variables, and every `"OCC_…"` literal the
    code reads from the environment itself (`OCC_SECRETS_DIR`, `OCC_STACK_DIR`)."""
    known = {f"OCC_{name.upper()}" for name in Settings.model_fields}
    known |= {port_variable(field.name) for field in fields(StackPorts)}
    for package in ("ingest", "processors", "alerts", "deploy"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    known |= {v for v in _VARIABLE.findall(node.value) if v == node.value}
    return frozenset(known)


@pytest.mark.parametrize("guide", GUIDES, ids=_id)
def test_every_occupancy_command_and_option_exists(guide: Path) -> None:
    for line in _commands(guide.read_text(encoding="utf-8")):
        words = [w.strip("[]") for w in line.split() if w.strip("[]")]
        command: click.Command = main
        while isinstance(command, click.Group) and words and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        if isinstance(command, click.Group) and words and "|" in words[0]:
            assert set(words.pop(0).split("|")) <= set(command.commands), f"{_id(guide)}: {line}"
            continue  # `devices add|remove`: the options differ between them
        assert command is not main, f"{_id(guide)}: `occupancy {line}` is no command"
        options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
        for word in words:
            if word.startswith("--"):
                option = word.split("=")[0]
                assert option in options, f"{_id(guide)}: `occupancy {line}` has no {option}"


def _commands(text: str) -> list[str]:
    """What follows `occupancy ` in code spans and in ```bash blocks, up to a comment or
    the next command of the line."""
    found = [s.removeprefix(".venv/bin/") for s in spans(text)]
    for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for line in block.splitlines():
            found += re.split(r"&&|;|\$\(", line.split(" #")[0])
    commands = []
    for piece in found:
        match = re.match(r"\s*(?:\S*/)?occupancy ([a-z].*)", piece)
        if match:
            commands.append(match[1].replace("\\|", "|").strip(' )"'))
    return commands
