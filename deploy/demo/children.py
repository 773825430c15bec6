"""The demo's child processes (bridge, worker, simulator): each in a session of its own, so
stopping one stops everything it started, and none outlives the demo: stopped in order when
the demo stops, and sent SIGTERM by the kernel when the demo dies without stopping them
(SIGKILL, the OOM killer) where util-linux's `setpriv` can ask for that."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ingest.errors import OccupancyError


def tied_to_demo(argv: Sequence[str]) -> list[str]:
    """`argv` run so that it gets SIGTERM when the demo (its parent) dies, on Linux with
    `setpriv` (util-linux, on every Debian); as it is elsewhere."""
    setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
    if setpriv is None:
        return list(argv)
    return [setpriv, "--pdeathsig", "TERM", "--", *argv]


class Child:
    """`occupancy <args>` with its output in `log`; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                tied_to_demo([sys.executable, "-m", "deploy.cli", *args]),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    async def wait_for(self, text: str, timeout_s: float) -> None:
        """Until `text` appears in the log; an error naming the log when it does not."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log.read_text(errors="replace"):
            if not self.running():
                raise OccupancyError(
                    f"The demo's {self.name} stopped while starting (exit "
                    f"{self.process.returncode}); see {self.log}."
                )
            if time.monotonic() > deadline:
                raise OccupancyError(
                    f"The demo's {self.name} did not start within {timeout_s:.0f} s; "
                    f"see {self.log}."
                )
            await asyncio.sleep(0.2)

    async def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM to its whole session, SIGKILL after `timeout_s`; its exit status."""
        if self.running():
            self._signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.process.wait, timeout_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                await asyncio.to_thread(self.process.wait)
        # Anything it started and left behind goes with its session.
        self._signal(signal.SIGKILL)
        return self.process.returncode

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)
