"""`occupancy users`, `limit`, `policy set --building` and `audit`: the board's accounts kept
in OCC_USERS_FILE, checks worded as one sentence, and every change in the audit trail,
read back with `occupancy audit --since` (on the real Kafka)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deploy.cli import main
from deploy.console import parse_since
from ingest.errors import ConfigError

PASSWORD = "a long enough password"


def run(env: Mapping[str, str | None], *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=stdin)


def test_since_is_a_time_or_a_span_back_from_now() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert parse_since("90m", now) == now - timedelta(minutes=90)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("2026-11-23T08:00", now) == datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert parse_since("2026-11-23T08:00+07:00", now).utcoffset() == timedelta(hours=7)
    with pytest.raises(ConfigError, match="--since 'yesterday'"):
        parse_since("yesterday", now)


def test_account_names_roles_and_passwords_are_checked_before_the_file_changes(
    tmp_path: Path,
) -> None:
    users = tmp_path / "users.json"
    env = {"OCC_USERS_FILE": str(users)}
    add = ["users", "add", "--password-stdin", "--role", "viewer"]
    for args, stdin, said in [
        ([*add, "<script>"], PASSWORD, "is not an account name"),
        ([*add, "a b"], PASSWORD, "is not an account name"),
        ([*add, "guard"], "short", "at least 12 characters"),
        (["users", "remove", "nobody"], None, "there is no account 'nobody'"),
        (["users", "passwd", "nobody", "--password-stdin"], PASSWORD, "no account 'nobody'"),
    ]:
        result = run(env, *args, stdin=stdin)
        assert result.exit_code == 2, (args, result.output)
        assert said in result.output, result.output
    assert not users.exists()
    unset = run({"OCC_USERS_FILE": None}, "users", "list")
    assert unset.exit_code == 2 and "OCC_USERS_FILE is not set" in unset.output
    users.write_text('{"users": {"x": {"role": "root", "hash": "h"}}}')
    broken = run(env, "users", "list")
    assert broken.exit_code == 2 and "'root' is not a board role" in broken.output
