"""Structured logging: one line per event, `event=name key=value …`, never a secret."""

from __future__ import annotations

import logging
import sys
from typing import Any


def kv(event: str, **fields: Any) -> str:
    """Format an event and its fields as `event=name key=value` (values quoted when needed)."""
    parts = [f"event={event}"]
    for key, value in fields.items():
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        if not text or any(c in text for c in ' ="') or not text.isprintable():
            text = text.replace("\\", "\\\\").replace('"', '\\"')
            # A line break or control character from outside (an ack's `by`, say) must not
            # start a forged log line: written as its escape, like repr() would.
            text = '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in text) + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


def setup_logging(level: str = "INFO") -> None:
    """Log lines to stderr with time, level and logger; quiet the chatty libraries."""
    logging.basicConfig(
        level=level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
