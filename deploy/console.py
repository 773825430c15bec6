"""`occupancy users`, `occupancy limit` and `occupancy audit`: the board's accounts, room
limits at runtime, and the audit trail, from a host's command line (each change audited)."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import click

from ingest.audit import Action, AuditRecord, operating_system_user, write_audit
from ingest.errors import ConfigError
from ingest.settings import Settings, load_settings


def audit(settings: Settings, action: Action, target: str, detail: str = "") -> None:
    """Record an operator's command in the audit trail, as the host's user."""
    record = AuditRecord(
        ts=settings.pipeline_clock.now(),
        actor=operating_system_user(),
        role="cli",
        action=action,
        target=target,
        detail=detail,
    )
    asyncio.run(write_audit(settings, record))


def _users_file(settings: Settings) -> Path:
    if settings.users_file is None:
        raise ConfigError(
            "Setting OCC_USERS_FILE is not set: point it at the board's users file "
            "(it is created by the first `occupancy users add`)."
        )
    return settings.users_file


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@click.group()
def users() -> None:
    """The web board's accounts and their roles (OCC_USERS_FILE)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["viewer", "security", "operator", "admin"]),
    help="viewer: rooms and alerts without personal data; security: also acknowledge and "
    "resolve, health alerts; operator: also room limits and policy levels; admin: also the "
    "audit trail.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Add account NAME with a password asked for (at least 12 characters)."""
    from alerts.board.accounts import (
        Account,
        check_name,
        check_role,
        hash_password,
        read_users,
        write_users,
    )

    settings = load_settings()
    path = _users_file(settings)
    accounts = read_users(path)
    if check_name(name) in accounts:
        raise ConfigError(f"{path}: account {name!r} exists; `occupancy users passwd` changes it.")
    accounts[name] = Account(name, check_role(role), hash_password(_password(password_stdin)))
    write_users(path, accounts)
    audit(settings, "account_added", name, f"role {role}")
    click.echo(f"added {name} ({role}) to {path}")


@users.command("remove")
@click.argument("name")
def users_remove(name: str) -> None:
    """Remove account NAME; its sessions end at their next request."""
    from alerts.board.accounts import read_users, write_users

    settings = load_settings()
    path = _users_file(settings)
    accounts = read_users(path)
    if accounts.pop(name, None) is None:
        raise ConfigError(f"{path}: there is no account {name!r}.")
    write_users(path, accounts)
    audit(settings, "account_removed", name)
    click.echo(f"removed {name} from {path}")


@users.command("passwd")
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "security", "operator", "admin"]))
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_passwd(name: str, role: str | None, password_stdin: bool) -> None:
    """Set a new password (and with --role, a new role) for NAME; unlocks it, ends its sessions."""
    from alerts.board.accounts import Account, check_role, hash_password, read_users, write_users

    settings = load_settings()
    path = _users_file(settings)
    accounts = read_users(path)
    account = accounts.get(name)
    if account is None:
        raise ConfigError(f"{path}: there is no account {name!r}.")
    new_role = check_role(role) if role is not None else account.role
    accounts[name] = Account(name, new_role, hash_password(_password(password_stdin)))
    write_users(path, accounts)
    audit(settings, "account_changed", name, f"new password; role {new_role}")
    click.echo(f"changed {name} ({new_role}) in {path}")


@users.command("list")
def users_list() -> None:
    """Every account and its role."""
    from alerts.board.accounts import read_users

    for account in sorted(read_users(_users_file(load_settings())).values(), key=lambda a: a.name):
        click.echo(f"{account.name}\t{account.role}")


@click.group()
def limit() -> None:
    """A room's limit at runtime, over the site file's (every worker re-rates at once)."""


@limit.command("set")
@click.argument("building")
@click.argument("room")
@click.argument("people", required=False, type=int)
@click.option("--clear", is_flag=True, help="Back to the site file's limit.")
def limit_set(building: str, room: str, people: int | None, clear: bool) -> None:
    """Set ROOM of BUILDING to PEOPLE, or --clear its override."""
    from processors.policy import limit_override, publish_config

    if clear == (people is not None):
        raise ConfigError("Give the limit in people, or --clear, not both and not neither.")
    settings = load_settings()
    if settings.site_file is None:
        raise ConfigError("Setting OCC_SITE_FILE is not set: point it at a site file (YAML).")
    from ingest.site import load_site

    site = load_site(settings.site_file)
    by = operating_system_user()
    key, override = limit_override(settings, site, building, room, people, by=by)
    value = override.model_dump_json().encode() if override is not None else None
    asyncio.run(publish_config(settings, key, value))
    if override is None:
        audit(settings, "limit_cleared", f"{building}/{room}")
        click.echo(f"{building}/{room}: back to the site file's limit")
    else:
        audit(settings, "limit_set", f"{building}/{room}", f"limit {people}")
        click.echo(f"{building}/{room}: limit {people} set by {by}")


_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: an ISO date or time (with its zone, else UTC), or a span back from now
    (`90m`, `12h`, `7d`)."""
    span = _DURATION.match(text.strip())
    if span is not None:
        return now - timedelta(**{_UNITS[span[2]]: int(span[1])})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"--since {text!r} is neither an ISO date or time nor a span like 90m, 12h or 7d."
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=now.tzinfo)


async def read_audit(settings: Settings, since: datetime) -> list[AuditRecord]:
    """The audit trail from `since` on, in the order written."""
    from ingest.kafka import broadcast_consumer, ensure_topics
    from processors.follow import backlog_of

    await ensure_topics(settings)
    consumer = broadcast_consumer(settings, "audit")
    await consumer.start()
    records: list[AuditRecord] = []
    try:
        backlog = await backlog_of(consumer)
        while backlog:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, taken in batch.items():
                for record in taken:
                    if record.value is None:
                        continue
                    entry = AuditRecord.model_validate_json(record.value)
                    if entry.ts >= since:
                        records.append(entry)
                if taken and taken[-1].offset + 1 >= backlog.get(tp, 0):
                    backlog.pop(tp, None)
        return records
    finally:
        await consumer.stop()


@click.command("audit")
@click.option(
    "--since",
    default="24h",
    show_default=True,
    help="From when: an ISO date or time, or a span back from now (90m, 12h, 7d).",
)
def audit_command(since: str) -> None:
    """Print the audit trail: who did what to what, oldest first, tab-separated."""
    settings = load_settings()
    start = parse_since(since, settings.pipeline_clock.now())
    for record in asyncio.run(read_audit(settings, start)):
        fields = [record.ts.isoformat(), record.actor, record.role, record.action]
        click.echo("\t".join(_printable(f) for f in [*fields, record.target, record.detail]))


def _printable(text: str) -> str:
    """A field as one line of plain text: a name typed at the board cannot steer the terminal."""
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
