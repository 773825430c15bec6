"""`occupancy worker`: the Faust app with every domain registered on it, run until SIGTERM."""

from __future__ import annotations

import asyncio
import os

import faust

from ingest.kafka import ensure_topics
from ingest.models import utcnow
from ingest.settings import Settings
from ingest.site import Site
from processors.app import build_app
from processors.occupancy import Occupancy
from processors.policy import PolicyFollower
from processors.publisher import MqttPublisher


class Workers:
    """The app and its parts, wired; kept together so tests and later domains can reach them."""

    def __init__(self, settings: Settings, site: Site) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self.publisher = MqttPublisher(
            settings, client_id=f"{settings.kafka_topic_prefix}-worker-{os.getpid()}"
        )
        self.policy = PolicyFollower(settings, site)
        self.occupancy = Occupancy(self.app, settings, site, self.publisher, self.policy)
        self.policy.listeners.append(self._rerate_soon)
        self.app.task(self._follow_policy)

    async def _follow_policy(self) -> None:
        await self.policy.follow()

    def _rerate_soon(self, level: str) -> None:
        asyncio.get_running_loop().create_task(self._rerate())

    async def _rerate(self) -> None:
        """Every room this worker holds gets its state again under the new limit."""
        now = utcnow()
        for count in list(self.occupancy.rooms.values()):
            await self.occupancy.publish_state(count, now)


def run_worker(settings: Settings, site: Site, loglevel: str = "INFO") -> None:
    """Create the topics, then run one worker of the group until SIGTERM."""
    # Faust subscribes only to topics that exist when it starts.
    asyncio.run(ensure_topics(settings))
    workers = Workers(settings, site)
    workers.publisher.start()
    try:
        faust.Worker(workers.app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        workers.publisher.stop()
