"""Text from files people edit (HR names, site names) made safe for where it is shown: a
spreadsheet that opens a CSV, a terminal that renders rich markup and escape sequences."""

from __future__ import annotations

import re
from collections.abc import Iterable

from rich.text import Text

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...), +cmd,
# -2+3, @SUM); tab and CR start one in some importers too.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# C0 and C1 control characters but none that lay text out (newlines stay out of cells too):
# ESC starts ANSI sequences that recolour, move the cursor or set the window title.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading `'`
    (OWASP's advice for CSV injection); numbers are written as they are."""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_row(values: Iterable[object]) -> list[str]:
    return [csv_cell(v) for v in values]


def plain_text(value: str) -> str:
    """Text for a terminal: control characters dropped."""
    return _CONTROL.sub("", value)


def terminal_text(value: str) -> Text:
    """Text rich prints as it is: control characters dropped, and never read as markup
    (`[bold]`, `[link=…]`): a Text is not parsed, where an escaped string still could be
    (rich's escape doubles a trailing backslash)."""
    return Text(plain_text(value))
