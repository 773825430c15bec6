"""`occupancy demo`: click command (the work is in deploy.demo.run)."""

from __future__ import annotations

import click

from deploy.demo.run import SAMPLE, DemoOptions, result_json, run_demo
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
def demo(speed: float, seed: int, duration: float | None, headless: bool) -> None:
    """Run the whole pipeline with simulated traffic and a live board (Ctrl-C stops it).

    Uses OCC_MQTT_URL and OCC_KAFKA_BOOTSTRAP when set; otherwise starts embedded brokers.
    """
    settings = load_settings()
    site = load_site(settings.site_file or SAMPLE / "site.yaml")
    options = DemoOptions(speed=speed, seed=seed, duration_s=duration, headless=headless)
    result = run_demo(settings, site, options)
    if headless:
        click.echo(result_json(result))
