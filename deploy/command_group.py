"""The click group every `occupancy` command hangs from: errors as one sentence, exit 2."""

from __future__ import annotations

from typing import Any

import click

from ingest.errors import OccupancyError

EXIT_CONFIG = 2


class CommandGroup(click.Group):
    """Turns our own errors into one sentence on stderr and exit status 2, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OccupancyError as exc:
            click.echo(f"occupancy: {exc}", err=True)
            ctx.exit(EXIT_CONFIG)
