"""Our own commands run as real subprocesses, the way an operator starts them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


class Command:
    """`occupancy <args>` in its own process group, output to a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._handle = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", *args],
            env={**os.environ, **env},
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM and wait; the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._close()

    def kill(self) -> None:
        """SIGKILL: no chance to drain or say goodbye."""
        self.process.kill()
        self.process.wait(10)
        self._close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Wait until `text` appears in the output (e.g. a readiness log line)."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.process.poll() is None, f"exited early:\n{self.output()[-2000:]}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()[-2000:]}"
            time.sleep(0.1)

    def _close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._handle.close()
