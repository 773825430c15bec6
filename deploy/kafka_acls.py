"""Kafka least privilege: which account may do what on which topic and group, and applying
it to a broker (StandardAuthorizer, SASL/SCRAM logins).

The bridge writes what devices send; workers read that and write their outputs and
changelogs; the operator's CLI writes policy and limits (`occupancy.config`) and the audit
trail; reports read. Every account may list the pipeline's topics (Describe on the prefix):
the bridge and workers check that each exists at start, and names are no secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from aiokafka.protocol.admin import CreateAclsRequest

from ingest.kafka import make_admin
from ingest.settings import Settings


class Resource(IntEnum):
    """Kafka's resource type codes (org.apache.kafka.common.resource.ResourceType)."""

    TOPIC = 2
    GROUP = 3


class Pattern(IntEnum):
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's ACL operation codes (org.apache.kafka.common.acl.AclOperation)."""

    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


_ALLOW = 3
ACCOUNTS = ("bridge", "worker", "cli", "reports")


@dataclass(frozen=True)
class Acl:
    account: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation


def acls(topic_prefix: str, accounts: dict[str, str] | None = None) -> list[Acl]:
    """Every grant for a deployment's topics; `accounts` maps a role to its SCRAM user name
    (default: the role's name)."""
    user = {role: role for role in ACCOUNTS} | (accounts or {})
    app_id = f"{topic_prefix}-workers"  # processors.app.app_id: changelogs and group

    def topic(role: str, operation: Operation, *names: str) -> list[Acl]:
        return [
            Acl(user[role], Resource.TOPIC, f"{topic_prefix}.{n}", Pattern.LITERAL, operation)
            for n in names
        ]

    listing = [
        Acl(user[role], Resource.TOPIC, f"{topic_prefix}.", Pattern.PREFIXED, Operation.DESCRIBE)
        for role in ACCOUNTS
    ]
    return [
        *listing,
        *topic("bridge", Operation.WRITE, "door", "checkin", "alert-ack", "deadletter"),
        *topic("worker", Operation.READ, "door", "checkin", "alert-ack", "config"),
        # Every worker follows the room states, alerts (its web board), attendance, presence.
        *topic("worker", Operation.READ, "room-state", "alerts", "attendance", "presence"),
        *topic("worker", Operation.WRITE, "room-state", "alerts", "attendance", "presence"),
        # Kiosk taps the worker cannot take (unknown employee) are dead-lettered.
        *topic("worker", Operation.WRITE, "deadletter"),
        # Its web board: an operator's limit or level goes to the config topic, a manual
        # resolve to the acks, every action to the audit trail, whose latest it shows admins.
        *topic("worker", Operation.WRITE, "config", "alert-ack", "audit"),
        *topic("worker", Operation.READ, "audit"),
        # Faust's changelogs and assignor topic, and its consumer group (the app id).
        Acl(user["worker"], Resource.TOPIC, f"{app_id}-", Pattern.PREFIXED, Operation.ALL),
        Acl(user["worker"], Resource.GROUP, app_id, Pattern.PREFIXED, Operation.READ),
        *topic("cli", Operation.WRITE, "config", "audit"),
        *topic("cli", Operation.READ, "config"),
        *topic("reports", Operation.READ, "attendance", "presence", "room-state", "alerts"),
    ]


async def apply_acls(admin_settings: Settings, grants: list[Acl]) -> None:
    """Create `grants` on the broker with an admin (super user) login. aiokafka's admin
    client has no ACL call; its protocol module has Kafka's CreateAcls request."""
    admin = make_admin(admin_settings)
    await admin.start()
    try:
        for grant in grants:
            request = CreateAclsRequest(
                grant.resource,
                grant.name,
                grant.pattern,
                f"User:{grant.account}",
                "*",
                grant.operation,
                _ALLOW,
            )
            response = await admin._send_request(request)
            for code, message in response.creation_responses:
                if code != 0:
                    raise RuntimeError(f"ACL {grant} refused: {message or code}")
    finally:
        await admin.close()


def kafka_acls_commands(grants: list[Acl], bootstrap: str, config: str) -> list[str]:
    """The same grants as `kafka-acls.sh` lines (the apache/kafka image's tool)."""
    lines = []
    for grant in grants:
        kind = "--topic" if grant.resource is Resource.TOPIC else "--group"
        lines.append(
            f"/opt/kafka/bin/kafka-acls.sh --bootstrap-server {bootstrap}"
            f" --command-config {config} --add --allow-principal User:{grant.account}"
            f" --operation {grant.operation.name.title()} {kind} {grant.name}"
            f" --resource-pattern-type {grant.pattern.name.lower()}"
        )
    return lines
