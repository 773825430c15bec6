"""The project's error family: configuration errors stop a command, rejections go to dead-letter."""

from __future__ import annotations


class OccupancyError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(OccupancyError):
    """A setting, site file or roster file is wrong; the message is one sentence naming it."""


class PayloadRejected(OccupancyError):  # noqa: N818 - the name says what happened to the payload
    """An incoming MQTT message broke the contract.

    `reason` is a short machine-readable code (it becomes the dead-letter record's
    `reason` and a metric label); `detail` is a sentence for the humans reading it.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
