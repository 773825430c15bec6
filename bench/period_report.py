"""How long a month's period report takes for a big agency: a generated roster (the sample's
units, groups and buildings; 100,000 employees by default), a month of their day records in a
compacted attendance topic of the run's own, then `read_period` + `period_report` timed.

Kafka: `--bootstrap HOST:PORT`, else a private local stack on free ports, stopped at the end.
Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from deploy.local.stack import Stack, StackPorts
from deploy.period_report import write_csv, write_xlsx
from ingest.kafka import ensure_topics, make_producer
from ingest.roster import Roster, load_roster
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site
from processors.attendance_period import Period, period_report, read_period
from processors.attendance_rules import DailyRecord

SAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "sample"
progress = Console(stderr=True)

# Of an office day's records: (status, weight); WFH days are wfh but for a few visits.
_OFFICE = [("on_time", 70), ("late", 12), ("early_leave", 6), ("half_day", 4), ("absent", 8)]


def big_roster(folder: Path, site: Site, employees: int, seed: int) -> Roster:
    """The sample roster's units, groups and calendar with `employees` generated people."""
    text = (SAMPLE / "roster.yaml").read_text()
    sample = load_roster(SAMPLE / "roster.yaml", site)
    rng = random.Random(seed)
    # The sample's mix of unit, group and home building (which the unit's home rooms are
    # in), drawn per generated employee.
    places = [(e.unit, e.group, e.building) for e in sample.employees]
    lines = ["id,name,unit,group,building"]
    for n in range(employees):
        unit, group, building = rng.choice(places)
        lines.append(f"b{n:07d},,{unit},{group},{building}")
    (folder / "employees.csv").write_text("\n".join(lines) + "\n")
    (folder / "roster.yaml").write_text(text)
    return load_roster(folder / "roster.yaml", site)


def records(
    roster: Roster, site: Site, days: list[date], seed: int
) -> Iterator[tuple[bytes, bytes]]:
    """A closed record per employee and day not off, as the worker would send them (with
    their taps, so the values are the real size)."""
    rng = random.Random(seed)
    statuses, weights = zip(*_OFFICE, strict=True)
    template = None
    for employee in roster.employees:
        zone = site.building(employee.building)
        assert zone is not None, "the roster is loaded against the site"
        for day in days:
            scheduled = roster.scheduled(employee, day)
            if scheduled == "off":
                continue
            if scheduled == "wfo":
                status = rng.choices(statuses, weights)[0]
            else:
                status = "unscheduled" if rng.random() < 0.03 else scheduled
            came = status not in {"absent", "wfh", "holiday"}
            start = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
            start += timedelta(minutes=rng.randint(0, 120))
            hours = {"half_day": 3.5, "early_leave": 6.5}.get(status, 8.5) if came else 0
            taps = []
            if came:
                out = start + timedelta(hours=hours)
                taps = [
                    {
                        "identity": f"{employee.building}/kiosk-main/{employee.id}-{day}-{k}",
                        "action": action,
                        "at": at.isoformat(),
                        "ts": at.isoformat(),
                        "building": employee.building,
                    }
                    for k, (action, at) in enumerate((("check_in", start), ("check_out", out)))
                ]
            value = {
                "employee": employee.id,
                "date": day.isoformat(),
                "building": employee.building,
                "scheduled": scheduled,
                "status": status,
                "first_check_in": start.isoformat() if came else None,
                "last_check_out": (start + timedelta(hours=hours)).isoformat() if came else None,
                "time_present": f"PT{hours}H" if came else "PT0S",
                "late_minutes": rng.randint(1, 90) if status == "late" else 0,
                "closed": True,
                "flags": [],
                "taps": taps,
            }
            encoded = json.dumps(value).encode()
            if template is None:  # the generated shape is a valid record
                template = DailyRecord.model_validate_json(encoded)
            yield f"{employee.id}/{day.isoformat()}".encode(), encoded


async def produce(settings: Settings, items: Iterator[tuple[bytes, bytes]]) -> int:
    await ensure_topics(settings)
    producer = make_producer(settings, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    sent = 0
    try:
        pending = []
        for key, value in items:
            pending.append(await producer.send(settings.kafka_topic("attendance"), value, key=key))
            sent += 1
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending = []
                if sent % 200_000 == 0:
                    progress.print(f"  {sent:,} records sent")
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def month_of(day: date) -> list[date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return [first + timedelta(days=n) for n in range((following - first).days)]


def run(  # noqa: PLR0917 - the command's options
    bootstrap: str,
    employees: int,
    month: date,
    seed: int,
    folder: Path,
    reuse: str | None,
    processes: int,
) -> dict[str, float]:
    site = load_site(SAMPLE / "site.yaml")
    prefix = reuse or f"bench-{secrets.token_hex(4)}"
    settings = load_settings(
        kafka_bootstrap=bootstrap,
        site_file=SAMPLE / "site.yaml",
        kafka_topic_prefix=prefix,
        mqtt_prefix=prefix,
    )
    began = time.perf_counter()
    roster = big_roster(folder, site, employees, seed)
    days = month_of(month)
    if reuse is None:
        progress.print(f"roster of {len(roster.employees):,} loaded; sending {days[0]:%B %Y}")
        sent = asyncio.run(produce(settings, records(roster, site, days, seed)))
        loaded = time.perf_counter() - began
        progress.print(f"{sent:,} records in {prefix}.attendance after {loaded:.0f} s")
    else:
        sent = sum(1 for _ in records(roster, site, days, seed))
    progress.print("reading them back")

    t0 = time.perf_counter()
    recorded = read_period(settings, days[0], days[-1], processes=processes)
    t1 = time.perf_counter()
    report = period_report(roster, recorded, Period(days[0], days[-1], days[0], days[-1]))
    t2 = time.perf_counter()
    with (folder / "month.csv").open("w", encoding="utf-8") as out:
        write_csv(report, "employee", out)
    t3 = time.perf_counter()
    write_xlsx(report, folder / "month.xlsx")
    t4 = time.perf_counter()
    read = sum(bin(r.days).count("1") for r in recorded.values())
    if read != sent:
        raise SystemExit(f"read {read} records back of {sent} sent")
    return {
        "employees": float(len(roster.employees)),
        "records": float(sent),
        "processes": float(processes),
        "read_s": t1 - t0,
        "compute_s": t2 - t1,
        "report_s": t2 - t0,
        "csv_s": t3 - t2,
        "xlsx_s": t4 - t3,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument(
        "--month", type=date.fromisoformat, default=date(2026, 11, 1), help="any day of it"
    )
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--bootstrap", help="an existing Kafka (else a private local stack)")
    parser.add_argument(
        "--reuse",
        metavar="PREFIX",
        help="with --bootstrap: the topics a run of the same options loaded (its prefix)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="processes sharing the topic's partitions"
    )
    args = parser.parse_args(argv)
    if args.reuse and not args.bootstrap:
        parser.error("--reuse reads a topic of an existing Kafka: give --bootstrap too")
    with tempfile.TemporaryDirectory(prefix="bench-period-") as name:
        folder = Path(name)
        if args.bootstrap:
            figures = run(
                args.bootstrap,
                args.employees,
                args.month,
                args.seed,
                folder,
                args.reuse,
                args.processes,
            )
        else:
            stack = Stack(run_dir=folder / "stack", ports=StackPorts.free())
            progress.print("starting a private stack on free ports")
            try:
                stack.up()
                bootstrap = stack.env()["OCC_KAFKA_BOOTSTRAP"]
                figures = run(
                    bootstrap, args.employees, args.month, args.seed, folder, None, args.processes
                )
            finally:
                stack.down()
    table = Table(title=f"Period report of a month ({args.month:%B %Y})")
    columns = ("employees", "records", "processes", "read s", "compute s", "report s")
    for column in (*columns, "csv s", "xlsx s"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{figures['employees']:,.0f}",
        f"{figures['records']:,.0f}",
        f"{figures['processes']:.0f}",
        *(f"{figures[k]:.2f}" for k in ("read_s", "compute_s", "report_s", "csv_s", "xlsx_s")),
    )
    Console(width=120).print(table)
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
