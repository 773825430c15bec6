"""A ministry-sized deployment for `bench/scale.py` and the tests: a site of 200 buildings ×
50 rooms (door sensors and kiosks in each, in WIB, WITA and WIT) and a roster of 100,000
employees in 400 units."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
"""WIB, WITA and WIT: buildings take them in turn."""

ROOM_TYPES = ("workroom", "workroom", "meeting", "service", "lobby", "other")
GROUPS = ("A", "B", "layanan", "pimpinan")


@dataclass(frozen=True)
class Scale:
    """The size of a generated deployment."""

    buildings: int = 200
    rooms: int = 50
    sensors: int = 100
    kiosks: int = 2
    employees: int = 100_000
    units: int = 400


MINISTRY = Scale()
SMALL = Scale(buildings=6, rooms=5, sensors=10, kiosks=2, employees=600, units=12)


@dataclass(frozen=True)
class Deployment:
    """The files written: the site, the roster YAML and its employee CSV."""

    site: Path
    roster: Path
    employees_csv: Path
    scale: Scale

    def building(self, index: int) -> str:
        return building_id(index)


def building_id(index: int) -> str:
    return f"b{index:03d}"


def room_id(index: int) -> str:
    return f"r{index:02d}"


def sensor_id(index: int) -> str:
    return f"d{index:03d}"


def sensor_room(scale: Scale, sensor: int) -> int:
    """The room a sensor's door opens into: sensors are spread evenly over the rooms."""
    return sensor % scale.rooms


def employee_id(index: int) -> str:
    return f"{199000000000000000 + index:018d}"


def home_of(scale: Scale, employee: int) -> int:
    return employee % scale.buildings


def generate(directory: Path, scale: Scale = MINISTRY) -> Deployment:
    """Write `site.yaml`, `roster.yaml` and `employees.csv` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    site = directory / "site.yaml"
    roster = directory / "roster.yaml"
    employees = directory / "employees.csv"
    site.write_text(_site_yaml(scale), encoding="utf-8")
    roster.write_text(_roster_yaml(scale), encoding="utf-8")
    with employees.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(("id", "name", "unit", "group", "building"))
        for n in range(scale.employees):
            writer.writerow(
                (
                    employee_id(n),
                    f"Pegawai {n}",
                    f"u{n % scale.units:03d}",
                    GROUPS[n % len(GROUPS)],
                    building_id(home_of(scale, n)),
                )
            )
    return Deployment(site=site, roster=roster, employees_csv=employees, scale=scale)


def _site_yaml(scale: Scale) -> str:
    lines = [
        "policy:",
        "  active: transition",
        "  warn_ratio: 0.8",
        "  levels:",
        "    normal: 1.0",
        "    transition: {default: 0.5, service: 0.6}",
        "    strict: {default: 0.25, meeting: 0.2}",
        "buildings:",
    ]
    for b in range(scale.buildings):
        lines += [
            f"  - id: {building_id(b)}",
            f"    name: Gedung {b}",
            f"    timezone: {ZONES[b % len(ZONES)]}",
            '    reset_time: "03:00"',
            "    rooms:",
        ]
        for r in range(scale.rooms):
            kind = ROOM_TYPES[r % len(ROOM_TYPES)]
            lines.append(
                f"      - {{id: {room_id(r)}, name: Ruang {r}, type: {kind}, "
                f"floor: {r // 10 + 1}, capacity: {20 + r % 7 * 10}}}"
            )
        lines.append("    sensors:")
        lines += [
            f"      - {{id: {sensor_id(s)}, room: {room_id(sensor_room(scale, s))}}}"
            for s in range(scale.sensors)
        ]
        lines.append("    kiosks:")
        lines += [f"      - {{id: k{k}, name: Kios {k}}}" for k in range(scale.kiosks)]
    return "\n".join(lines) + "\n"


def _roster_yaml(scale: Scale) -> str:
    units = "\n".join(f"  - {{id: u{u:03d}, name: Unit {u}}}" for u in range(scale.units))
    return f"""units:
{units}
groups:
  - id: A
    office_days: [mon, wed, fri]
    start_window: "07:00-09:00"
    required_hours: 7.5
    grace_minutes: 15
    check_in_window_minutes: 60
    half_day_below_hours: 4
    absent_below_hours: 1
  - id: B
    office_days: [tue, thu]
    start_window: "07:00-09:00"
    required_hours: 7.5
    grace_minutes: 15
    check_in_window_minutes: 60
    half_day_below_hours: 4
    absent_below_hours: 1
  - id: layanan
    office_days: [mon, tue, wed, thu, fri]
    start_window: "07:30-08:00"
    required_hours: 8
    grace_minutes: 5
  - id: pimpinan
    office_days: [mon, tue, wed, thu, fri]
    start_window: "07:00-08:00"
    required_hours: 8
calendar:
  country: ID
  cuti_bersama: true
holidays: []
employees_csv: employees.csv
"""
