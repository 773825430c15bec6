"""`occupancy stack up|down|status|env`: the local Mosquitto, Kafka and InfluxDB without Docker."""

from __future__ import annotations

import shlex
import time

import click
from rich.console import Console
from rich.table import Table

from deploy.command_group import CommandGroup
from deploy.local.stack import ServiceStatus, default_stack

EXIT_NOT_UP = 3


@click.group(cls=CommandGroup)
def stack() -> None:
    """The local stack on 127.0.0.1, kept in OCC_STACK_DIR (default .run/stack).

    Ports move with OCC_STACK_MQTT_PORT, OCC_STACK_KAFKA_PORT, OCC_STACK_KAFKA_CONTROLLER_PORT,
    OCC_STACK_INFLUX_PORT, OCC_STACK_INFLUX_RPC_PORT and OCC_STACK_INFLUX_PROXY_PORT.
    """


@stack.command()
def up() -> None:
    """Install what is missing, start what is not running, wait until every service answers."""
    local = default_stack()
    started: list[str] = []

    def report(status: ServiceStatus, was_started: bool) -> None:
        if was_started:
            started.append(status.name)
        state = "up" if was_started else "already up"
        click.echo(f"{status.name:<13} 127.0.0.1:{status.port:<6} {state} (pid {status.pid})")

    began = time.monotonic()
    local.up(report)
    if started:
        click.echo(
            f"stack ready in {time.monotonic() - began:.1f} s, started {', '.join(started)};"
            f" data in {local.run_dir}"
        )
    else:
        click.echo(f"stack already up, nothing started; data in {local.run_dir}")


@stack.command()
def down() -> None:
    """Stop the services `up` started (and only those)."""
    local = default_stack()
    running = [s for s in local.status() if s.running]
    local.down()
    for status in running:
        click.echo(f"{status.name:<13} stopped (pid {status.pid})")
    if not running:
        click.echo("nothing of this stack was running")


@stack.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Show each service; exit status 0 when all are up and answering, 3 otherwise."""
    statuses = default_stack().status()
    table = Table("service", "port", "pid", "state")
    for s in statuses:
        table.add_row(s.name, str(s.port), str(s.pid or "-"), _state(s))
    Console().print(table)
    if not all(s.running and s.answering for s in statuses):
        ctx.exit(EXIT_NOT_UP)


@stack.command()
def env() -> None:
    """Print `export OCC_…=…` lines pointing the pipeline at the stack: eval "$(… stack env)"."""
    for key, value in default_stack().env().items():
        click.echo(f"export {key}={shlex.quote(value)}")


def _state(status: ServiceStatus) -> str:
    if status.running:
        return "up" if status.answering else "running, not answering"
    if status.answering:
        return "down (another process answers on its port)"
    return "down"
