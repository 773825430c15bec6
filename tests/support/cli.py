"""`occupancy …` run in-process through click's CliRunner: the same exit codes, stdout and
stderr as the console script, without a Python start-up per call."""

from __future__ import annotations

import io
import logging
import os
import threading
import traceback
from dataclasses import dataclass

from click.testing import CliRunner

from deploy.cli import main


@dataclass(frozen=True)
class CliResult:
    """What a subprocess of the console script would have given."""

    returncode: int
    stdout: str
    stderr: str


# CliRunner swaps sys.stdout, sys.stderr and os.environ for the whole process: one at a time.
_ONE_AT_A_TIME = threading.Lock()


def occupancy(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """Run `occupancy *args` with no OCC_ setting of the test process, plus `env`. Safe to
    call from several threads (they take turns)."""
    with _ONE_AT_A_TIME:
        return _invoke(list(args), env or {})


def _invoke(args: list[str], env: dict[str, str]) -> CliResult:
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OCC_")}
    # The command's log lines go to stderr as in its own process; in pytest's the root
    # logger already has handlers, so the command's logging.basicConfig adds none.
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    # Only the command's own lines: a server the test runs in another thread logs too.
    caller = threading.get_ident()
    handler.addFilter(lambda record: record.thread == caller)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        result = CliRunner().invoke(
            main, args, env={**unset, "COLUMNS": "160", **env}, catch_exceptions=True
        )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    stderr = logged.getvalue() + result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # What Python prints for an uncaught exception: the tests look for tracebacks.
        assert result.exc_info is not None
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return CliResult(result.exit_code, result.stdout, stderr)
