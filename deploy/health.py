"""`occupancy health`: a container health check that says whether the health file the bridge
or a worker touches while it makes progress (`OCC_HEALTH_FILE`, ingest/health.py) is fresh."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ingest.errors import ConfigError
from ingest.settings import load_settings

# How long `occupancy health` accepts since the last touch by default. The bridge checks
# every second, a worker every few seconds (see processors/watchdog.py): this leaves room for
# a garbage collection, a rebalance or a slow Kafka round trip without flapping.
DEFAULT_MAX_AGE_S = 30.0
EXIT_UNHEALTHY = 1


def check(path: Path, max_age_s: float, now: float | None = None) -> tuple[bool, str]:
    """Whether `path` was touched within `max_age_s`, and one sentence saying so."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return False, f"unhealthy: {path} is missing (not started, or no progress yet)."
    except OSError as exc:
        return False, f"unhealthy: {path} cannot be read ({exc.strerror or type(exc).__name__})."
    age = max(0.0, (time.time() if now is None else now) - mtime)
    if age > max_age_s:
        return False, f"unhealthy: {path} is stale since {age:.0f} s (allowed {max_age_s:g} s)."
    return True, f"healthy: {path} touched {age:.0f} s ago."


@click.command()
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The health file (default: OCC_HEALTH_FILE).",
)
@click.option(
    "--max-age",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MAX_AGE_S,
    show_default=True,
    help="Seconds since the last touch that still count as healthy.",
)
def health(file: Path | None, max_age: float) -> None:
    """Exit 0 if the bridge or worker here touched its health file lately, else 1."""
    if file is None:
        file = load_settings().health_file
        if file is None:
            raise ConfigError(
                "Setting OCC_HEALTH_FILE is not set: give --file or point it at the file "
                "the bridge or worker touches."
            )
    healthy, sentence = check(file, max_age)
    click.echo(sentence, err=not healthy)
    if not healthy:
        raise SystemExit(EXIT_UNHEALTHY)
