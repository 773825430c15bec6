"""The floor any Faust agent pays here: one agent doing the baseline's work and nothing more.

Run by bench/processor.py as `python bench/faust_floor.py worker -l warn` with FLOOR_APP,
FLOOR_BOOTSTRAP, FLOOR_TOPIC and FLOOR_N set. It reads the pre-loaded door topic from the
start (its own consumer group), decodes each value with the worker's codec, keeps a dict of
counts per room (what the aiokafka baseline does) and prints `FLOOR <events/s>` for the
first to the n-th event, then exits at once.
"""

from __future__ import annotations

import os
import time

import faust

from ingest.models import DoorRecord
from processors.codec import pydantic_topic

N = int(os.environ["FLOOR_N"])
app = faust.App(
    os.environ["FLOOR_APP"],
    broker=f"kafka://{os.environ['FLOOR_BOOTSTRAP']}",
    store="memory://",
    web_enabled=False,
    autodiscover=False,
    consumer_auto_offset_reset="earliest",
)
topic = pydantic_topic(app, os.environ["FLOOR_TOPIC"], DoorRecord)
counts: dict[str, int] = {}


@app.agent(topic, concurrency=1)
async def count(stream: faust.StreamT[DoorRecord]) -> None:
    seen = 0
    started = 0.0
    async for record in stream:
        if seen == 0:
            started = time.perf_counter()
        counts[record.key] = max(0, counts.get(record.key, 0) + record.entered - record.exited)
        seen += 1
        if seen == N:
            rate = N / max(time.perf_counter() - started, 1e-6)
            os.write(1, f"FLOOR {rate:.1f}\n".encode())  # fd 1: Faust redirects sys.stdout
            os._exit(0)  # the measurement is done; Faust's orderly shutdown takes seconds


if __name__ == "__main__":
    app.main()
