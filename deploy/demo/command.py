"""`occupancy demo`: click command (the work is in deploy.demo.run)."""

from __future__ import annotations

from datetime import datetime

import click

from deploy.demo.run import SAMPLE, DemoOptions, result_json, run_demo
from ingest.roster import load_roster
from ingest.settings import load_settings
from ingest.site import load_site


@click.command()
@click.option(
    "--speed",
    type=float,
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second (60: an office day in ~12 minutes).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="The simulator's seed.")
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The office day to replay (default: the latest one up to today).",
)
@click.option(
    "--duration",
    type=float,
    default=None,
    help="Stop after this many seconds (default: run until Ctrl-C).",
)
@click.option(
    "--headless",
    is_flag=True,
    help="No terminal board; print a JSON summary at the end (for scripts and tests).",
)
def demo(
    speed: float, seed: int, day: datetime | None, duration: float | None, headless: bool
) -> None:
    """Run the whole pipeline with simulated traffic and a live board (Ctrl-C stops it).

    Every process runs on a replay clock of the simulated day, so check-ins, day close and
    reminders happen in simulated time, whatever the hour and weekday. Uses OCC_MQTT_URL and
    OCC_KAFKA_BOOTSTRAP when set; otherwise starts embedded brokers.
    """
    settings = load_settings()
    site = load_site(settings.site_file or SAMPLE / "site.yaml")
    roster = load_roster(settings.roster_file or SAMPLE / "roster.yaml", site)
    options = DemoOptions(
        speed=speed,
        seed=seed,
        day=day.date() if day is not None else None,
        duration_s=duration,
        headless=headless,
    )
    result = run_demo(settings, site, roster, options)
    if headless:
        click.echo(result_json(result))
