"""`python -m tests.support.pinned_wall 2026-11-29T23:59:00+07:00 -- pytest ARGS`: run ARGS
with every Python process's wall clock at that instant (and ticking)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    target = datetime.fromisoformat(argv[0])
    if target.tzinfo is None:
        print("the instant needs a UTC offset, e.g. 2026-11-29T23:59:00+07:00", file=sys.stderr)
        return 2
    offset = (target - datetime.now(UTC)).total_seconds()
    here = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "OCC_TEST_WALL_OFFSET_S": f"{offset:.3f}", "PYTHONPATH": path}
    return subprocess.call(argv[2:], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
