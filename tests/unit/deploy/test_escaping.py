"""HR and site text made safe for spreadsheets and terminals (deploy/escaping.py)."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from deploy.escaping import csv_cell, csv_row, plain_text, terminal_text


@given(st.text())
def test_no_csv_cell_starts_like_a_formula_and_the_text_stays(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (text, "'" + text)
    # Written and read back by the csv module: the cell as it was made.
    out = io.StringIO()
    csv.writer(out).writerow(csv_row(["E1", text]))
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["E1", cell]


def test_formulas_are_neutralised_numbers_are_not() -> None:
    assert csv_cell('=HYPERLINK("http://evil","click")') == '\'=HYPERLINK("http://evil","click")'
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\tcmd") == "'\tcmd"
    assert csv_cell("Dian Setiawan") == "Dian Setiawan"
    assert csv_cell(7.5) == "7.5"


@given(st.text())
def test_rich_prints_the_text_and_nothing_else(text: str) -> None:
    console = Console(file=io.StringIO(), width=400, color_system=None, legacy_windows=False)
    console.print(terminal_text(text), end="", soft_wrap=True)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert printed == plain_text(text)  # markup shown as typed, control characters gone
    assert "\x1b" not in printed


def test_markup_and_escape_sequences_reach_a_table_as_text() -> None:
    name = "[bold red]Boss[/] \x1b]0;pwned\x07\x1b[31mred"
    out = io.StringIO()
    table = Table()
    table.add_column("name")
    table.add_row(terminal_text(name))
    Console(file=out, width=200, color_system=None).print(table)
    assert "[bold red]Boss[/]" in out.getvalue()
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
