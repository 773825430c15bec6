"""The audit trail: every action that changes state or reveals a person, in `occupancy.audit`.

A record says who (`actor`, with the `role` they acted in), did what (`action`), to what
(`target`), and anything that makes it clear (`detail`), at the pipeline clock's `ts`. The
topic is append-only (not compacted) and kept for `ingest.kafka.AUDIT_RETENTION_DAYS`;
records name employees by pseudonym, never by id or name.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from ingest.kafka import ensure_topics, make_producer
from ingest.settings import Settings

Role = Literal["viewer", "security", "operator", "admin", "system", "cli"]
"""The board's roles; `system` for what a process does by itself, `cli` for an operator's
command run on a host (the actor is then the operating-system user)."""

Action = Literal[
    "login",
    "login_failed",
    "logout",
    "account_locked",
    "ack",
    "resolve",
    "limit_set",
    "limit_cleared",
    "policy_set",
    "account_added",
    "account_removed",
    "account_changed",
    "pseudonym_revealed",
    "report_exported",
]

Text = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class AuditRecord(BaseModel):
    """One line of the audit trail, as written to `occupancy.audit` (keyed by actor)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ts: AwareDatetime
    actor: Text
    role: Role
    action: Action
    target: Text
    detail: Annotated[str, StringConstraints(max_length=1024)] = ""


def operating_system_user() -> str:
    """Who runs this command on this host (the actor of an operator's CLI action)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no such uid in the password database (a container)
        return "unknown"


async def write_audit(settings: Settings, record: AuditRecord) -> None:
    """Append one record to the audit topic and wait until Kafka has it (for the CLI; the
    long-running processes send through their own producer)."""
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.kafka_topic("audit"),
            record.model_dump_json().encode(),
            key=record.actor.encode(),
        )
    finally:
        await producer.stop()
