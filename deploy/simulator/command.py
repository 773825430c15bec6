"""`occupancy simulate`: click command (the day is in deploy.simulator.day, the pacing in
deploy.simulator.publisher)."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from deploy.simulator.clock import Window, check_not_ahead, parse_time, pick_date, real_seconds
from deploy.simulator.faults import FAULTS, Fault, Faults
from ingest.clock import Clock, ReplayClock
from ingest.errors import ConfigError
from ingest.logs import kv
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site

if TYPE_CHECKING:
    from deploy.simulator.day import Day

log = logging.getLogger("deploy.simulator")

DRAIN_TIMEOUT_S = 30.0
DEFAULT_SPEED = 60.0


@click.command()
@click.option(
    "--site",
    "site_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The site file (default: OCC_SITE_FILE).",
)
@click.option(
    "--roster",
    "roster_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The roster file (default: OCC_ROSTER_FILE).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same messages.")
@click.option(
    "--speed",
    type=float,
    help="Simulated seconds per real second (default 60: an hour a minute). On a replay "
    "clock (OCC_CLOCK) the clock's own speed.",
)
@click.option(
    "--date",
    "day",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The date to simulate (default: on a replay clock its date; on the wall clock the "
    "latest day with people in the office that a run started now can finish without getting "
    "ahead of the clock).",
)
@click.option("--start", default="06:00", show_default=True, help="Local time the day starts.")
@click.option("--end", default="19:00", show_default=True, help="Local time the day ends.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    type=click.Choice(FAULTS),
    help="Inject a fault; repeat the option for more.",
)
@click.option(
    "--silent-minutes",
    type=click.IntRange(1, 24 * 60),
    default=90,
    show_default=True,
    help="How long the `silent` fault keeps a sensor quiet (simulated minutes).",
)
@click.option(
    "--duplicates",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Share of door messages sent twice (QoS-1 redelivery).",
)
@click.option(
    "--heartbeat",
    type=click.IntRange(1, 3600),
    default=120,
    show_default=True,
    help="A sensor idle this long (simulated seconds) sends a heartbeat.",
)
@click.option("--rate", type=float, help="Load mode: door messages a second (with --duration).")
@click.option("--duration", type=float, help="Load mode: seconds to keep the rate up.")
@click.option("--dry-run", is_flag=True, help="Print what would be published; no broker.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print every message as a JSON line; no broker."
)
@click.option("--client-id", help="MQTT client id (default: occupancy-sim-<pid>).")
def simulate(
    *,
    site_file: Path | None,
    roster_file: Path | None,
    seed: int,
    speed: float | None,
    day: datetime | None,
    start: str,
    end: str,
    faults: tuple[Fault, ...],
    silent_minutes: int,
    duplicates: float,
    heartbeat: int,
    rate: float | None,
    duration: float | None,
    dry_run: bool,
    as_json: bool,
    client_id: str | None,
) -> None:
    """Publish a realistic office day (or a steady load) to MQTT, as sensors and kiosks would.

    On a replay clock (OCC_CLOCK=replay:…, shared with the bridge and workers) each message
    goes when the pipeline's clock reaches its time. On the wall clock a past day runs at
    --speed, and no message is stamped ahead of the clock.
    """
    settings = load_settings()
    site_path = site_file or settings.site_file
    if site_path is None:
        raise ConfigError("Setting OCC_SITE_FILE is not set and no --site was given.")
    site = load_site(site_path)
    client = client_id or f"occupancy-sim-{os.getpid()}"
    if (rate is None) != (duration is None):
        raise ConfigError("Load mode takes both --rate and --duration.")
    if rate is not None and duration is not None:
        _load(
            site,
            settings.mqtt_prefix,
            seed=seed,
            rate=rate,
            duration=duration,
            dry_run=dry_run,
            client=client,
            clock=settings.pipeline_clock,
        )
        return
    clock = settings.pipeline_clock
    pace = _pace(clock, speed)
    from deploy.simulator.day import Options, plan_day
    from ingest.roster import load_roster

    roster_path = roster_file or settings.roster_file
    if roster_path is None:
        raise ConfigError("Setting OCC_ROSTER_FILE is not set and no --roster was given.")
    roster = load_roster(roster_path, site)
    opens, closes = parse_time(start, "--start"), parse_time(end, "--end")
    if isinstance(clock, ReplayClock):
        window = Window(_replay_date(clock, site, day), opens, closes)
    elif day is not None:
        window = Window(day.date(), opens, closes)
    else:
        chosen = pick_date(site, roster, start=opens, end=closes, speed=pace, now=clock.now())
        window = Window(chosen, opens, closes)
    options = Options(
        seed=seed,
        prefix=settings.mqtt_prefix,
        heartbeat_s=heartbeat,
        duplicates=duplicates,
        faults=Faults(enabled=frozenset(faults), silent_minutes=silent_minutes),
    )
    planned = plan_day(site, roster, window, options)
    if as_json:
        out = sys.stdout
        for message in planned.messages:
            out.write(message.json_line() + "\n")
        return
    if dry_run:
        from rich.console import Console

        from deploy.simulator.summary import print_summary

        print_summary(planned, site, pace, Console())
        return
    if not isinstance(clock, ReplayClock):
        check_not_ahead(window, site, pace, clock.now())
    _publish_day(planned, site, pace, settings, client)


def _pace(clock: Clock, speed: float | None) -> float:
    """Simulated seconds per real second: a replay clock's own, else --speed."""
    if speed is not None and speed <= 0:
        raise ConfigError(f"--speed must be above 0 (got {speed:g}).")
    if not isinstance(clock, ReplayClock):
        return speed or DEFAULT_SPEED
    if speed is not None and speed != clock.speed:
        raise ConfigError(
            f"--speed {speed:g} disagrees with the replay clock of OCC_CLOCK "
            f"({clock.spec}): leave --speed out, the clock sets the pace."
        )
    return clock.speed


def _replay_date(clock: ReplayClock, site: Site, day: datetime | None) -> date:
    """The day a replay clock is on (in the first building), which --date must not contradict."""
    today = clock.now().astimezone(site.buildings[0].zone).date()
    if day is not None and day.date() != today:
        raise ConfigError(
            f"--date {day.date()} disagrees with the replay clock of OCC_CLOCK, which is on "
            f"{today} ({clock.spec}): leave --date out or replay that date."
        )
    return today


def _publish_day(planned: Day, site: Site, speed: float, settings: Settings, client: str) -> None:
    from deploy.simulator.publisher import Publisher, compressed, on_clock, run_day

    window = planned.window
    origin, _ = window.span(site)
    clock = settings.pipeline_clock
    due_in = on_clock(clock) if isinstance(clock, ReplayClock) else compressed(origin, speed)
    publisher = Publisher(settings, client)
    publisher.connect()
    log.info(
        kv(
            "simulate_start",
            date=window.date,
            start=f"{window.start:%H:%M}",
            end=f"{window.end:%H:%M}",
            seed=planned.options.seed,
            speed=speed,
            messages=len(planned.messages),
            real_s=round(real_seconds(window, site, speed), 1),
            faults=",".join(sorted(planned.options.faults.enabled)) or "none",
            clock=clock.spec,
        )
    )
    stop = _stop_on_signals()
    try:
        sent = run_day(publisher, planned.messages, due_in, stop)
        unacked = publisher.drain(DRAIN_TIMEOUT_S)
    finally:
        publisher.close()
    log.info(
        kv(
            "simulate_done",
            sent=sent,
            of=len(planned.messages),
            acked=publisher.acked,
            unacked=unacked,
            stopped=stop.is_set(),
        )
    )
    if unacked:
        raise ConfigError(f"The MQTT broker did not acknowledge {unacked} of {sent} messages.")


def _load(
    site: Site,
    prefix: str,
    *,
    seed: int,
    rate: float,
    duration: float,
    dry_run: bool,
    client: str,
    clock: Clock,
) -> None:
    from deploy.simulator.load import LoadStream
    from deploy.simulator.publisher import Publisher, run_load

    if rate <= 0 or duration <= 0:
        raise ConfigError("--rate and --duration must be above 0.")
    stream = LoadStream(site, prefix, seed)
    total = int(rate * duration)
    if dry_run:
        click.echo(
            f"load: {total} door messages, {rate:g}/s for {duration:g} s, round "
            f"{stream.sensors} sensors ({rate / stream.sensors:.1f}/s each), QoS 1"
        )
        return
    publisher = Publisher(load_settings(), client)
    publisher.connect()
    stop = _stop_on_signals()
    started = time.monotonic()
    try:
        sent = run_load(publisher, stream, rate, duration, stop, clock=clock)
        unacked = publisher.drain(DRAIN_TIMEOUT_S)
    finally:
        publisher.close()
    elapsed = time.monotonic() - started
    log.info(
        kv(
            "load_done",
            sent=sent,
            acked=publisher.acked,
            unacked=unacked,
            seconds=elapsed,
            rate=sent / elapsed if elapsed > 0 else 0.0,
        )
    )
    if unacked:
        raise ConfigError(f"The MQTT broker did not acknowledge {unacked} of {sent} messages.")


def _stop_on_signals() -> threading.Event:
    """SIGTERM or Ctrl-C: stop publishing, let the broker acknowledge what went, exit 0."""
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
