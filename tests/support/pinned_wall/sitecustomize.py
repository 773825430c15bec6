"""Moves the wall clock of every Python process of a test run by one offset, to show that no
test depends on the real time of day or weekday.

Put this folder first on PYTHONPATH and set OCC_TEST_WALL_OFFSET_S (seconds, from
`python -m tests.support.pinned_wall`, which also prints the command). time-machine moves
`time.time`, `datetime.now` and their kin, not the monotonic clock, so timeouts and
asyncio keep real time; every process moves by the same offset, so they agree with each
other. Kafka, Mosquitto and InfluxDB (not Python) keep the real time.
"""

import os

_offset = os.environ.get("OCC_TEST_WALL_OFFSET_S")
if _offset:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_offset), tick=True).start()
