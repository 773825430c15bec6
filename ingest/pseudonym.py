"""Pseudonyms: a keyed hash that stands for an employee id outside the attendance tables and
reports (alert messages, log lines, dead-letter reasons).

`p-` and 16 characters of base32 (80 bits) of HMAC-SHA256 under `OCC_PSEUDONYM_KEY`. The
same key gives the same pseudonym in every worker and after restarts; without the key, a
pseudonym cannot be tied to an id (employee ids are few and guessable, so a plain hash
would not do). Security finds the person with `occupancy roster reveal`, which needs the key
and the roster. Unset, each process draws a random key: pseudonyms then hold within one
process only, and nobody can reveal them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Iterable

from ingest.errors import ConfigError
from ingest.logs import kv
from ingest.settings import Settings

__all__ = ["MIN_KEY_LENGTH", "PATTERN", "Pseudonyms", "is_pseudonym", "without_employee_id"]

log = logging.getLogger(__name__)

PATTERN = re.compile(r"^p-[a-z2-7]{16}$")
"""What every pseudonym looks like."""

MIN_KEY_LENGTH = 16
"""A shorter key could be guessed, and with it every employee id tried against a pseudonym."""

# Domain separation: the same key used for something else never yields these tokens.
_CONTEXT = b"occupancy/employee\x00"

_process_key: bytes | None = None


def is_pseudonym(text: str) -> bool:
    return PATTERN.match(text) is not None


class Pseudonyms:
    """Employee id → pseudonym under one key; and back, by trying the ids of a roster."""

    def __init__(self, key: bytes, *, stable: bool = True) -> None:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"a pseudonym key has at least {MIN_KEY_LENGTH} bytes")
        self._key = key
        self.stable = stable
        """False for a per-process random key: the pseudonyms change with every restart."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Pseudonyms:
        """With `OCC_PSEUDONYM_KEY`, or a random key for this process (a warning, once)."""
        if settings.pseudonym_key is not None:
            return cls(_checked_key(settings), stable=True)
        return cls(_random_process_key(), stable=False)

    @classmethod
    def required(cls, settings: Settings) -> Pseudonyms:
        """With `OCC_PSEUDONYM_KEY`, or a ConfigError: a random key could reveal nothing."""
        if settings.pseudonym_key is None:
            raise ConfigError(
                "Setting OCC_PSEUDONYM_KEY is not set: pseudonyms can only be made and "
                "revealed with the key the workers use."
            )
        return cls(_checked_key(settings), stable=True)

    def __call__(self, employee_id: str) -> str:
        digest = hmac.new(self._key, _CONTEXT + employee_id.encode(), hashlib.sha256).digest()
        return "p-" + base64.b32encode(digest[:10]).decode("ascii").lower()

    def reveal(self, pseudonym: str, employee_ids: Iterable[str]) -> str | None:
        """The one of `employee_ids` that `pseudonym` stands for, or None."""
        for employee_id in employee_ids:
            if hmac.compare_digest(self(employee_id), pseudonym):
                return employee_id
        return None


# The `employee_id` member of a kiosk payload, also in JSON that does not parse as a whole.
_EMPLOYEE_ID = re.compile(rb'("employee_id"\s*:\s*")((?:[^"\\]|\\.)*)(")')


def without_employee_id(payload: bytes, pseudonyms: Pseudonyms) -> bytes:
    """A kiosk payload with each `employee_id` value replaced by its pseudonym, every other
    byte as it was (a dead letter stays debuggable without naming the person)."""

    def replace(match: re.Match[bytes]) -> bytes:
        try:
            employee = str(json.loads(b'"' + match[2] + b'"'))
        except ValueError:  # not a valid JSON string: the bytes as they came
            employee = match[2].decode("utf-8", "replace")
        return match[1] + pseudonyms(employee).encode() + match[3]

    return _EMPLOYEE_ID.sub(replace, payload)


def _checked_key(settings: Settings) -> bytes:
    assert settings.pseudonym_key is not None
    key = settings.pseudonym_key.get_secret_value().encode()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"Setting OCC_PSEUDONYM_KEY is too short: give it at least {MIN_KEY_LENGTH} "
            "characters (e.g. from `openssl rand -hex 32`)."
        )
    return key


def _random_process_key() -> bytes:
    global _process_key  # noqa: PLW0603 - one key per process, drawn when first needed
    if _process_key is None:
        _process_key = secrets.token_bytes(32)
        log.warning(
            kv(
                "pseudonym_key_unset",
                detail="OCC_PSEUDONYM_KEY is not set: employee pseudonyms in alerts and logs "
                "use a random key of this process, differ between workers and restarts, "
                "and cannot be revealed",
            )
        )
    return _process_key
