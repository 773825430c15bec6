"""The `occupancy` command line: one entry point for operators, vendors and tests."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

from deploy.command_group import CommandGroup
from deploy.escaping import csv_row, plain_text, terminal_text
from ingest.errors import ConfigError
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site

if TYPE_CHECKING:
    from ingest.roster import Roster


@click.group(cls=CommandGroup)
@click.option("--log-level", default="INFO", show_default=True, help="Python log level.")
@click.pass_context
def main(ctx: click.Context, log_level: str) -> None:
    """Occupancy and attendance monitoring pipeline."""
    from ingest.logs import setup_logging

    setup_logging(log_level)
    ctx.ensure_object(dict)["log_level"] = log_level


def _settings() -> Settings:
    return load_settings()


def _site(settings: Settings) -> Site:
    if settings.site_file is None:
        raise ConfigError("Setting OCC_SITE_FILE is not set: point it at a site file (YAML).")
    return load_site(settings.site_file)


@main.command()
def bridge() -> None:
    """Move door and kiosk messages from MQTT into Kafka (runs until SIGTERM)."""
    from ingest.bridge import Bridge

    settings = _settings()
    site = _site(settings)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await Bridge(settings, site, metrics).run(stop)

    metrics = None
    if settings.influx_url is not None:
        from ingest.metrics import MetricsWriter

        metrics = MetricsWriter(settings, "bridge")
    try:
        asyncio.run(run())
    finally:
        if metrics is not None:
            metrics.close()


@main.command()
@click.pass_context
def worker(ctx: click.Context) -> None:
    """Run one worker: occupancy per room and capacity alerts (joins the group; until SIGTERM)."""
    # Until Faust takes SIGTERM over, a stop ends the start-up (loading a ministry's roster
    # takes seconds) as a clean exit, not a kill by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    from deploy.worker import run_worker

    settings = _settings()
    run_worker(settings, _site(settings), loglevel=ctx.obj["log_level"])


def _exit_cleanly(signum: int, _frame: object) -> None:
    raise SystemExit(0)


@main.group()
def policy() -> None:
    """The occupancy policy level that turns capacities into limits."""


@policy.command("set")
@click.argument("level")
@click.option("--building", help="Only this building (the others keep the site's level).")
@click.option("--by", default=lambda: os.environ.get("USER", "cli"), help="Who changes it.")
def policy_set(level: str, building: str | None, by: str) -> None:
    """Make LEVEL the active policy level; every worker re-rates every room at once."""
    from deploy.console import audit
    from processors.policy import set_policy

    settings = _settings()
    change = asyncio.run(set_policy(settings, _site(settings), level, by, building))
    audit(settings, "policy_set", building or "site", f"level {level}")
    where = f" in {building}" if building else ""
    click.echo(f"policy level {change.level}{where} set by {change.by} at {change.ts.isoformat()}")


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def schema(folder: Path) -> None:
    """Write the JSON Schemas of every MQTT payload into FOLDER."""
    from ingest.schema import write_schemas

    for path in write_schemas(folder):
        click.echo(str(path))


ROOMS_LISTED = 1000
"""Above this many rooms, `site check` prints a line per building instead of every room."""


@main.group()
def site() -> None:
    """Site files: buildings, rooms, sensors, kiosks, policy levels."""


@site.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the resolved site as JSON.")
@click.option("--level", help="Resolve limits under this policy level (default: active).")
def site_check(file: Path, as_json: bool, level: str | None) -> None:
    """Validate a site file and summarise it."""
    loaded = load_site(file)
    if level is not None and level not in loaded.policy.levels:
        raise ConfigError(
            f"{file}: policy level {level!r} is not one of "
            f"{', '.join(sorted(loaded.policy.levels))}."
        )
    resolved = loaded.resolved(level)
    if as_json:
        click.echo(json.dumps(resolved, indent=2, ensure_ascii=False))
        return
    _print_site(file, resolved)


def _print_site(file: Path, resolved: dict[str, Any]) -> None:
    console = Console()
    policy = resolved["policy"]
    console.print(
        f"[bold]{file}[/bold]: valid — policy level [bold]{policy['active']}[/bold] "
        f"(levels: {', '.join(policy['levels'])}; warning at {policy['warn_ratio']:.0%})"
    )
    if sum(len(b["rooms"]) for b in resolved["buildings"]) > ROOMS_LISTED:
        _print_buildings(console, resolved)
        return
    for building in resolved["buildings"]:
        title = f"{building['name']} ({building['id']}, {building['timezone']})"
        table = Table(title=terminal_text(title))
        for column in ("floor", "room", "type", "capacity", "limit", "sensors"):
            table.add_column(column, justify="right" if column in {"capacity", "limit"} else "left")
        sensors: dict[str, int] = {}
        for s in building["sensors"]:
            sensors[s["room"]] = sensors.get(s["room"], 0) + 1
        for room in building["rooms"]:
            limit = str(room["limit"]) + (" (fixed)" if room["explicit_limit"] else "")
            table.add_row(
                "" if room["floor"] is None else str(room["floor"]),
                terminal_text(f"{room['id']} — {room['name']}"),
                room["type"],
                str(room["capacity"]),
                limit,
                str(sensors.get(room["id"], 0)),
            )
        console.print(table)
        kiosks = ", ".join(k["id"] for k in building["kiosks"]) or "none"
        console.print(
            f"  {len(building['rooms'])} rooms, {len(building['sensors'])} door sensors, "
            f"kiosks: {kiosks}; daily reset {building['reset_time']}"
        )


def _print_buildings(console: Console, resolved: dict[str, Any]) -> None:
    """A line per building: a ministry's 10,000 rooms took Rich 20 s to lay out, and no one
    reads them on a terminal (`--json` lists every room with its limit)."""
    table = Table(title="Buildings (every room: --json)")
    for column in ("building", "time zone", "rooms", "capacity", "limits", "sensors", "kiosks"):
        table.add_column(column, justify="left" if column in {"building", "time zone"} else "right")
    for b in resolved["buildings"]:
        table.add_row(
            f"{b['id']} — {b['name']}",
            b["timezone"],
            str(len(b["rooms"])),
            str(sum(r["capacity"] for r in b["rooms"])),
            str(sum(r["limit"] for r in b["rooms"])),
            str(len(b["sensors"])),
            str(len(b["kiosks"])),
        )
    console.print(table)
    rooms = sum(len(b["rooms"]) for b in resolved["buildings"])
    sensors = sum(len(b["sensors"]) for b in resolved["buildings"])
    console.print(
        f"  {len(resolved['buildings'])} buildings, {rooms} rooms, {sensors} door sensors"
    )


@main.group()
def roster() -> None:
    """Roster files: units, work groups and their office days, employees."""


@roster.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--site",
    "site_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The site file the buildings are checked against (default: OCC_SITE_FILE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the resolved roster as JSON.")
def roster_check(file: Path, site_file: Path | None, as_json: bool) -> None:
    """Validate a roster file (and its employee CSV) against the site and summarise it."""
    from ingest.roster import load_roster

    if site_file is None:
        site_file = _settings().site_file
    if site_file is None:
        raise ConfigError(
            "A roster is checked against a site file: pass --site FILE or set OCC_SITE_FILE."
        )
    loaded_site = load_site(site_file)
    resolved = load_roster(file, loaded_site).resolved()
    if as_json:
        click.echo(json.dumps(resolved, indent=2, ensure_ascii=False))
        return
    _print_roster(file, resolved, loaded_site)


@roster.command("pseudonym")
@click.argument("employee_id")
def roster_pseudonym(employee_id: str) -> None:
    """Print the pseudonym that stands for EMPLOYEE_ID in alerts and logs (OCC_PSEUDONYM_KEY)."""
    from ingest.pseudonym import Pseudonyms

    click.echo(Pseudonyms.required(_settings())(employee_id))


@roster.command("reveal")
@click.argument("pseudonym")
@click.option(
    "--roster",
    "roster_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The roster whose employees are tried (default: OCC_ROSTER_FILE).",
)
@click.option(
    "--site",
    "site_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The site file the roster is loaded against (default: OCC_SITE_FILE).",
)
@click.option(
    "--by",
    help="On whose behalf, as detail of the audit record (the actor is the system user).",
)
def roster_reveal(
    pseudonym: str, roster_file: Path | None, site_file: Path | None, by: str | None
) -> None:
    """Find the employee of the roster behind PSEUDONYM (from a `health_screening` alert);
    written to the audit trail (`occupancy.audit`) first, or nothing is revealed."""
    from aiokafka.errors import KafkaError

    from ingest.audit import AuditRecord, operating_system_user, write_audit
    from ingest.pseudonym import PATTERN, Pseudonyms
    from ingest.roster import load_roster

    settings = _settings()
    names = Pseudonyms.required(settings)
    if not PATTERN.match(pseudonym):
        raise ConfigError(
            f"{pseudonym!r} is not a pseudonym: a pseudonym is p- and 16 characters of a-z and 2-7."
        )
    roster_file = roster_file or settings.roster_file
    if roster_file is None:
        raise ConfigError(
            "A pseudonym is looked up in a roster: pass --roster FILE or set OCC_ROSTER_FILE."
        )
    site_file = site_file or settings.site_file
    if site_file is None:
        raise ConfigError(
            "A roster is loaded against a site file: pass --site FILE or set OCC_SITE_FILE."
        )
    loaded = load_roster(roster_file, load_site(site_file))
    found = names.reveal(pseudonym, (e.id for e in loaded.employees))
    employee = loaded.employee(found) if found is not None else None
    if employee is None:
        raise ConfigError(
            f"Pseudonym {pseudonym} is no employee of the roster file {roster_file} under this "
            "OCC_PSEUDONYM_KEY."
        )
    # Who looked someone up, on the audit trail before anything is shown: the actor is the
    # operating-system user (not a name the caller types), the target the pseudonym only.
    record = AuditRecord(
        ts=settings.pipeline_clock.now(),
        actor=operating_system_user(),
        role="cli",
        action="pseudonym_revealed",
        target=pseudonym,
        detail=f"on behalf of {by}" if by else "",
    )
    try:
        asyncio.run(write_audit(settings, record))
    except (KafkaError, OSError) as exc:
        raise ConfigError(
            f"The reveal could not be written to the audit trail {settings.kafka_topic('audit')}"
            f" at {settings.kafka_bootstrap} ({type(exc).__name__}), so nothing is revealed."
        ) from None
    fields = (employee.id, employee.name or "", employee.unit, employee.group, employee.building)
    click.echo("\t".join(plain_text(f) for f in fields))


def _print_roster(file: Path, resolved: dict[str, Any], loaded_site: Site) -> None:
    console = Console()
    employees = resolved["employees"]
    groups = [g["id"] for g in resolved["groups"]]
    console.print(
        f"[bold]{file}[/bold]: valid — {len(employees)} employees in "
        f"{len(resolved['units'])} units and {len(groups)} groups; "
        f"calendar: {_calendar_summary(resolved)} (see `occupancy holidays list`)"
    )

    # Counted in one pass: a count per cell over the whole list took 40 s at 100k employees.
    by_group = Counter(e["group"] for e in employees)
    by_unit = Counter(e["unit"] for e in employees)
    by_unit_group = Counter((e["unit"], e["group"]) for e in employees)
    by_building = Counter(e["building"] for e in employees)

    table = Table(title="Groups")
    for column in ("group", "office days", "WFH days", "start window", "hours", "grace"):
        table.add_column(column)
    for column in ("check-in from", "half day / absent below", "employees"):
        table.add_column(column, justify="right" if column == "employees" else "left")
    for g in resolved["groups"]:
        office = " ".join(g["office_days"]) or "—"
        if g["office_weeks"] != "all":
            office += f" ({g['office_weeks']} weeks)"
        if g["on_duty_days"]:
            office += f"; on duty {' '.join(g['on_duty_days'])}"
        window = g["start_window"]
        opens = g["check_in_window_minutes"]
        thresholds = " / ".join(
            "—" if h is None else f"{h:g} h"
            for h in (g["half_day_below_hours"], g["absent_below_hours"])
        )
        table.add_row(
            terminal_text(g["id"] + (f" — {g['name']}" if g["name"] else "")),
            office,
            _wfh_days(g),
            f"{window['from']}-{window['to']}",
            f"{g['required_hours']:g} h",
            f"{g['grace_minutes']} min",
            "—" if opens is None else f"{opens} min before",
            thresholds,
            str(by_group[g["id"]]),
        )
    console.print(table)

    units = Table(title="Employees per unit and group")
    units.add_column("unit")
    for group_id in groups:
        units.add_column(group_id, justify="right")
    units.add_column("total", justify="right")
    for u in resolved["units"]:
        cells = [str(by_unit_group[u["id"], group_id] or "") for group_id in groups]
        name = f"{u['id']} — {u['name']}" if u["name"] else u["id"]
        if u["rooms"]:
            name += f" (sits in {', '.join(u['rooms'])})"
        units.add_row(terminal_text(name), *cells, str(by_unit[u["id"]]))
    console.print(units)

    buildings = Table(title="Employees per building")
    for column in ("building", "time zone", "employees"):
        buildings.add_column(column, justify="right" if column == "employees" else "left")
    for b in loaded_site.buildings:
        buildings.add_row(terminal_text(f"{b.id} — {b.name}"), b.timezone, str(by_building[b.id]))
    console.print(buildings)


def _calendar_summary(resolved: dict[str, Any]) -> str:
    calendar = resolved["calendar"]
    if calendar["country"] is None:
        parts = ["no national holidays"]
    else:
        cuti = " and cuti bersama" if calendar["cuti_bersama"] else ""
        parts = [f"{calendar['country']} national holidays{cuti}"]
    if resolved["holidays"]:
        parts.append(f"{len(resolved['holidays'])} days off of the roster's own")
    if calendar["not_holidays"]:
        parts.append(f"{len(calendar['not_holidays'])} worked")
    if calendar["buildings"]:
        parts.append(f"days of their own in {', '.join(calendar['buildings'])}")
    return ", ".join(parts)


def _wfh_days(group: dict[str, Any]) -> str:
    """The WFH column: the work days left over from the office days, and any listed ones."""
    left = [d for d in group["work_days"] if d not in group["office_days"]]
    if group["office_weeks"] != "all":
        left = [*left, f"(and outside the {group['office_weeks']} weeks)"]
    days = dict.fromkeys([*left, *group["wfh_days"]])
    return " ".join(days) or "—"


def _roster(settings: Settings, loaded_site: Site) -> Roster:
    from ingest.roster import load_roster

    if settings.roster_file is None:
        raise ConfigError("Setting OCC_ROSTER_FILE is not set: point it at a roster file (YAML).")
    return load_roster(settings.roster_file, loaded_site)


@main.group()
def report() -> None:
    """Attendance reports and the muster list, read from Kafka."""


@report.command("attendance")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="One local date.")
@click.option(
    "--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="A period's first local date."
)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="A period's last local date.")
@click.option("--building", help="Only the employees of this building.")
@click.option("--unit", help="Only the employees of this unit.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["table", "csv", "xlsx"]),
    default="table",
    show_default=True,
    help="xlsx (a period only) needs --output.",
)
@click.option(
    "--per",
    type=click.Choice(["employee", "unit"]),
    default="employee",
    show_default=True,
    help="A period's CSV: one row per employee or per unit.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CSV or spreadsheet to this file instead of the terminal.",
)
def report_attendance(  # noqa: PLR0912, PLR0917 - one click option each, each checked
    day: Any,
    first: Any,
    last: Any,
    building: str | None,
    unit: str | None,
    form: str,
    per: str,
    output: Path | None,
) -> None:
    """Per employee status and minutes late on DATE, and totals per unit; or, with --from and
    --to, per employee and unit what the period's days added up to."""
    from processors.attendance import read_latest
    from processors.attendance_report import attendance_rows, check_reportable, unit_totals
    from processors.attendance_rules import DailyRecord

    if building is not None and unit is not None:
        raise ConfigError("Give --building or --unit, not both.")
    if day is not None and (first is not None or last is not None):
        raise ConfigError("Give --date for one day or --from and --to for a period, not both.")
    if day is None and (first is None or last is None):
        raise ConfigError("Give --date for one day, or --from and --to for a period.")
    if form == "xlsx" and output is None:
        raise ConfigError("A spreadsheet is written to a file: give --output FILE.xlsx.")
    settings = _settings()
    loaded_site = _site(settings)
    loaded = _roster(settings, loaded_site)
    if building is not None and loaded_site.building(building) is None:
        raise ConfigError(f"Building {building!r} is not in the site file {settings.site_file}.")
    if unit is not None and loaded.unit(unit) is None:
        raise ConfigError(f"Unit {unit!r} is not in the roster file {settings.roster_file}.")
    homes = {
        e.building
        for e in loaded.employees
        if building in {None, e.building} and unit in {None, e.unit}
    }
    home_buildings = [b for b in loaded_site.buildings if b.id in homes]
    if day is None:
        _period_report(
            settings,
            loaded,
            home_buildings,
            (first.date(), last.date()),
            building=building,
            unit=unit,
            form=form,
            per=per,
            output=output,
        )
        return
    if form == "xlsx":
        raise ConfigError("A spreadsheet is made for a period: give --from and --to.")
    check_reportable(
        day.date(),
        home_buildings,
        settings.pipeline_clock.now(),
        settings.attendance_retention_days,
    )
    suffix = f"/{day.date().isoformat()}".encode()
    records = asyncio.run(read_latest(settings, "attendance", DailyRecord, suffix))
    rows = attendance_rows(
        loaded, loaded_site, records.values(), day.date(), building=building, unit=unit
    )
    totals = unit_totals(rows)
    scope = f"building {building}" if building else f"unit {unit}" if unit else "all units"
    _audit_report(
        settings, "attendance", f"{day.date().isoformat()}, {scope}, {form}, {len(rows)} employees"
    )
    if form == "csv":
        out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "employee",
                "name",
                "unit",
                "group",
                "building",
                "scheduled",
                "status",
                "late_minutes",
                "first_check_in",
                "last_check_out",
                "hours_present",
            ]
        )
        for row in rows:
            writer.writerow(csv_row(row.cells()))
        if output is not None:
            out.close()
        return
    console = Console()
    table = Table(title=f"Attendance on {day.date().isoformat()}")
    for column in (
        "employee",
        "name",
        "unit",
        "group",
        "scheduled",
        "status",
        "late (min)",
        "check-in",
        "check-out",
        "hours",
    ):
        table.add_column(column, justify="right" if column in {"late (min)", "hours"} else "left")
    for row in rows:
        cells = [terminal_text(c) for c in row.cells()]
        table.add_row(*cells[:4], *cells[5:])
    console.print(table)
    summary = Table(title="Per unit")
    for column in ("unit", "planned WFO", "present", "late", "absent", "WFH", "holiday"):
        summary.add_column(column, justify="left" if column == "unit" else "right")
    for total in totals:
        summary.add_row(terminal_text(total.unit), *(str(n) for n in total.figures()))
    console.print(summary)


def _period_report(
    settings: Settings,
    loaded: Roster,
    homes: list[Any],
    dates: tuple[Any, Any],
    *,
    building: str | None,
    unit: str | None,
    form: str,
    per: str,
    output: Path | None,
) -> None:
    from deploy.period_report import print_tables, write_csv, write_xlsx
    from processors.attendance_period import period_report, read_period, reportable_period

    period = reportable_period(
        dates[0],
        dates[1],
        homes,
        settings.pipeline_clock.now(),
        settings.attendance_retention_days,
    )
    recorded = read_period(settings, period.first, period.last)
    report = period_report(loaded, recorded, period, building=building, unit=unit)
    scope = f"building {building}" if building else f"unit {unit}" if unit else "all units"
    _audit_report(
        settings,
        "attendance",
        f"{period.first.isoformat()} to {period.last.isoformat()}, {scope}, {form}, "
        f"{len(report.employees)} employees",
    )
    if form == "table":
        print_tables(report, Console(width=240))
        return
    if period.note is not None:
        click.echo(period.note, err=True)
    if form == "xlsx":
        assert output is not None, "checked by the command"
        write_xlsx(report, output)
        click.echo(f"Wrote {output}.", err=True)
        return
    if output is None:
        write_csv(report, per, sys.stdout)
        return
    with output.open("w", newline="", encoding="utf-8") as out:
        write_csv(report, per, out)


def _audit_report(settings: Settings, target: str, detail: str) -> None:
    """A report of named people leaves the pipeline: the audit trail says who took which."""
    from ingest.audit import AuditRecord, operating_system_user, write_audit

    record = AuditRecord(
        ts=settings.pipeline_clock.now(),
        actor=operating_system_user(),
        role="cli",
        action="report_exported",
        target=target,
        detail=detail,
    )
    asyncio.run(write_audit(settings, record))


@report.command("presence")
@click.option("--building", required=True, help="The building to muster.")
@click.option(
    "--format", "form", type=click.Choice(["table", "csv"]), default="table", show_default=True
)
def report_presence(building: str, form: str) -> None:
    """The muster list: who is in BUILDING now, by the kiosk taps (an evacuation's roll)."""
    from processors.attendance import read_latest
    from processors.attendance_days import Presence

    settings = _settings()
    loaded_site = _site(settings)
    loaded = _roster(settings, loaded_site)
    where = loaded_site.building(building)
    if where is None:
        raise ConfigError(f"Building {building!r} is not in the site file {settings.site_file}.")
    latest = asyncio.run(read_latest(settings, "presence", Presence))
    inside = sorted(
        (p for p in latest.values() if p.building == building), key=lambda p: p.employee
    )
    zone = where.zone
    rows = []
    for presence in inside:
        employee = loaded.employee(presence.employee)
        since = presence.since.astimezone(zone) if presence.since is not None else None
        rows.append(
            [
                presence.employee,
                (employee.name or "") if employee is not None else "",
                employee.unit if employee is not None else "",
                employee.group if employee is not None else "",
                since.isoformat(timespec="seconds") if since is not None else "",
            ]
        )
    columns = ["employee", "name", "unit", "group", "since"]
    _audit_report(settings, "presence", f"muster list of {building}, {form}, {len(rows)} people")
    if form == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(csv_row(row) for row in rows)
        return
    table = Table(title=f"In {building} now: {len(inside)}")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(terminal_text(cell) for cell in row))
    Console(width=200).print(table)


@main.group()
def kafka() -> None:
    """The pipeline's Kafka topics and access rights (run with an admin login)."""


@kafka.command("setup")
def kafka_setup() -> None:
    """Create every pipeline topic that is missing and grant each account its rights
    (deploy/kafka_acls.py: bridge, worker, cli, reports); run again after an upgrade."""
    from deploy.kafka_acls import acls, apply_acls
    from ingest.kafka import ensure_topics

    settings = _settings()
    created = asyncio.run(ensure_topics(settings))
    grants = acls(settings.kafka_topic_prefix)
    asyncio.run(apply_acls(settings, grants))
    click.echo(f"topics created: {', '.join(created) or 'none'}; {len(grants)} grants applied")


@main.group()
def grafana() -> None:
    """Grafana: the InfluxDB datasource, the Occupancy folder and the dashboards."""


@grafana.command("provision")
def grafana_provision() -> None:
    """Create or update them in Grafana at OCC_GRAFANA_URL through its API (idempotent)."""
    from deploy.grafana.provision import print_summary, provision

    print_summary(provision(_settings()))


def _add_stack_commands() -> None:
    from deploy.local.commands import stack

    main.add_command(stack)


_add_stack_commands()


def _add_demo_command() -> None:
    from deploy.demo.command import demo

    main.add_command(demo)


_add_demo_command()


def _add_devices_command() -> None:
    from deploy.devices import devices

    main.add_command(devices)


_add_devices_command()


def _add_simulate_command() -> None:
    from deploy.simulator.command import simulate

    main.add_command(simulate)


_add_simulate_command()


def _add_plan_command() -> None:
    from deploy.plan_command import plan
    from deploy.plan_report import report_plan

    roster.add_command(plan)
    report.add_command(report_plan)


_add_plan_command()


def _add_holidays_command() -> None:
    from deploy.holidays import holidays

    main.add_command(holidays)


_add_holidays_command()


def _add_console_commands() -> None:
    from deploy.console import audit_command, limit, users

    main.add_command(users)
    main.add_command(limit)
    main.add_command(audit_command)


_add_console_commands()


def _add_health_command() -> None:
    from deploy.health import health

    main.add_command(health)


_add_health_command()

if __name__ == "__main__":
    sys.exit(main())
