"""Just enough Markdown for the docs tests: sections by heading, table rows, code spans."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs"
GUIDES = sorted([REPO / "README.md", REPO / "deploy" / "README.md", *DOCS.glob("*.md")])
"""Every page a user reads: the README, the deploy guide and docs/."""

_HEADING = re.compile(r"^(#{1,6}) (.+?)\s*$")
_SPAN = re.compile(r"`([^`]+)`")


@dataclass
class Section:
    """A heading and the lines up to the next heading of the same or a higher level."""

    title: str
    level: int
    lines: list[str] = field(default_factory=list)
    children: dict[str, Section] = field(default_factory=dict)

    def child(self, title: str) -> Section:
        assert title in self.children, (
            f"docs/contract.md has no section {'#' * (self.level + 1)} {title} under "
            f"{'#' * self.level} {self.title}"
        )
        return self.children[title]

    def rows(self) -> list[list[str]]:
        """The cells of every table row in this section's own text (header rows and
        separators left out)."""
        rows: list[list[str]] = []
        header = True
        for line in self.lines:
            if not line.startswith("|"):
                header = True
                continue
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if header:
                header = False  # the column names
                continue
            if all(set(c) <= set("-: ") for c in cells):
                continue
            rows.append(cells)
        return rows

    def first_column(self) -> list[str]:
        """The code span opening each row's first cell: the name the row is about."""
        names = []
        for cells in self.rows():
            found = _SPAN.match(cells[0])
            assert found, f"section {self.title!r}: the row {cells} does not start with `a name`"
            names.append(found[1])
        return names


def parse(path: Path) -> Section:
    """The document as a tree of sections; the root holds everything before the first
    heading, and each section's `children` are keyed by their title."""
    root = Section(title=path.name, level=0)
    stack = [root]
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            stack[-1].lines.append(line)
            continue
        level = len(heading[1])
        while stack[-1].level >= level:
            stack.pop()
        section = Section(title=heading[2], level=level)
        stack[-1].children[section.title] = section
        stack.append(section)
    return root


def spans(text: str) -> list[str]:
    """The code spans of `text` outside fenced blocks (whose backticks would pair wrongly)."""
    return _SPAN.findall(_FENCED.sub("", text))


_FENCED = re.compile(r"^```.*?^```[^\n]*$", re.MULTILINE | re.DOTALL)


def name_of(title: str) -> str:
    """`DoorEvent` from the heading "`DoorEvent`"; the title itself when it has no span."""
    found = _SPAN.fullmatch(title)
    return found[1] if found else title
