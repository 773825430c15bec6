"""The period report's outputs: the terminal tables, plain CSV and a spreadsheet (XlsxWriter)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from rich.console import Console
from rich.table import Table

from deploy.escaping import csv_row, terminal_text
from processors.attendance_period import COUNTS, EmployeePeriod, Figures, PeriodReport, UnitPeriod

EMPLOYEE_COLUMNS = ["employee", "name", "unit", "group", "building"]
UNIT_COLUMNS = ["unit", "headcount"]
FIGURE_COLUMNS = [*COUNTS, "hours_present", "compliance"]


def figure_cells(figures: Figures) -> list[Any]:
    """The counts, hours (2 decimals) and compliance (a fraction to 4 decimals, None when
    there was no office day)."""
    compliance = figures.compliance
    return [
        *figures.counts(),
        round(figures.hours_present, 2),
        None if compliance is None else round(compliance, 4),
    ]


def employee_cells(row: EmployeePeriod) -> list[Any]:
    e = row.employee
    return [e.id, e.name or "", e.unit, e.group, e.building, *figure_cells(row.figures)]


def unit_cells(row: UnitPeriod) -> list[Any]:
    return [row.unit, row.headcount, *figure_cells(row.figures)]


def write_csv(report: PeriodReport, per: str, out: IO[str]) -> None:
    """One header and one row per employee (`per` "employee") or unit ("unit")."""
    writer = csv.writer(out, lineterminator="\n")
    if per == "unit":
        writer.writerow([*UNIT_COLUMNS, *FIGURE_COLUMNS])
        rows = [unit_cells(u) for u in report.units]
    else:
        writer.writerow([*EMPLOYEE_COLUMNS, *FIGURE_COLUMNS])
        rows = [employee_cells(e) for e in report.employees]
    for row in rows:
        writer.writerow(csv_row(_plain(row)))


def _plain(row: list[Any]) -> list[str]:
    return [
        "" if cell is None else f"{cell:.2f}" if isinstance(cell, float) else str(cell)
        for cell in row[:-1]
    ] + ["" if row[-1] is None else f"{row[-1]:.4f}"]


def write_xlsx(report: PeriodReport, path: Path) -> None:
    """A workbook with the sheets Units and Employees (bold frozen header, filters, widths
    fitted to the content, compliance as a percentage) and About (the period covered)."""
    # Cells are data: a name starting with `=` or holding a URL stays text, never a formula
    # or a link that a spreadsheet would follow.
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        header = book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "text_wrap": True, "valign": "top"}
        )
        formats = {
            "hours_present": book.add_format({"num_format": "0.00"}),
            "compliance": book.add_format({"num_format": "0.0%"}),
        }
        _sheet(
            book,
            "Units",
            [*UNIT_COLUMNS, *FIGURE_COLUMNS],
            [unit_cells(u) for u in report.units],
            header=header,
            formats=formats,
        )
        _sheet(
            book,
            "Employees",
            [*EMPLOYEE_COLUMNS, *FIGURE_COLUMNS],
            [employee_cells(e) for e in report.employees],
            header=header,
            formats=formats,
        )
        about = book.add_worksheet("About")
        period = report.period
        about.write_row(0, 0, ["from", period.first.isoformat()])
        about.write_row(1, 0, ["to", period.last.isoformat()])
        about.write_row(2, 0, ["asked", f"{period.asked_from} to {period.asked_to}"])
        about.write(3, 0, period.note or "The report covers the whole period asked for.")
        about.set_column(0, 0, 12)
        about.set_column(1, 1, 24)
    finally:
        book.close()


def _sheet(
    book: xlsxwriter.Workbook,
    name: str,
    columns: list[str],
    rows: list[list[Any]],
    *,
    header: Any,
    formats: dict[str, Any],
) -> None:
    sheet = book.add_worksheet(name)
    sheet.write_row(0, 0, [c.replace("_", " ") for c in columns], header)
    for n, row in enumerate(rows, start=1):
        sheet.write_row(n, 0, row)
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, len(rows), len(columns) - 1)
    for index, column in enumerate(columns):
        widest = max((len(str(r[index])) for r in rows[:1000] if r[index] is not None), default=0)
        # Headers wrap onto two lines; figures stay at least wide enough to read at a glance.
        width = min(40, max(8, widest + 2, len(column) // 2 + 2))
        sheet.set_column(index, index, width, formats.get(column))


def print_tables(report: PeriodReport, console: Console) -> None:
    """The employees' table then the units', with the period (and any shortfall) as titles."""
    period = report.period
    title = f"Attendance {period.first.isoformat()} to {period.last.isoformat()}"
    short = {
        "office_days": "office",
        "late_minutes": "late min",
        "early_leave": "early",
        "half_day": "half",
        "auto_closed": "no out",
        "unscheduled": "unsched",
        "no_record": "no rec",
    }
    names = [short.get(c, c) for c in COUNTS] + ["hours", "compl."]
    table = Table(title=title)
    for column in ("employee", "name", "unit"):
        table.add_column(column)
    for column in names:
        table.add_column(column, justify="right")
    for row in report.employees:
        cells = employee_cells(row)
        table.add_row(*(terminal_text(str(c)) for c in cells[:3]), *_shown(cells[5:]))
    console.print(table)
    units = Table(title="Per unit")
    units.add_column("unit")
    for column in ("headcount", *names):
        units.add_column(column, justify="right")
    for unit in report.units:
        cells = unit_cells(unit)
        units.add_row(terminal_text(str(cells[0])), str(cells[1]), *_shown(cells[2:]))
    console.print(units)
    if period.note is not None:
        console.print(period.note)


def _shown(cells: list[Any]) -> list[str]:
    *counts, hours, compliance = cells
    return [
        *(str(c) for c in counts),
        f"{hours:.2f}",
        "—" if compliance is None else f"{compliance:.0%}",
    ]
