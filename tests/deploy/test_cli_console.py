"""`occupancy users`, `limit`, `policy set --building` and `audit`: the board's accounts kept
in OCC_USERS_FILE, checks worded as one sentence, and every change in the audit trail,
read back with `occupancy audit --since` (on the real Kafka)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from alerts.board.accounts import read_users
from deploy.cli import main
from deploy.console import parse_since
from ingest.errors import ConfigError
from tests.support.pipeline import clock_env, replay_clock

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


@pytest.mark.integration
def test_account_changes_limits_and_levels_are_audited(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    users = tmp_path / "users.json"
    env = {
        **stack_env,
        **clock_env(replay_clock()),
        "OCC_KAFKA_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "OCC_USERS_FILE": str(users),
    }
    for args in [
        ["users", "add", "guard", "--role", "security", "--password-stdin"],
        ["users", "add", "op", "--role", "operator", "--password-stdin"],
        ["users", "passwd", "guard", "--role", "admin", "--password-stdin"],
    ]:
        result = run(env, *args, stdin=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    again = run(env, "users", "add", "op", "--role", "viewer", "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 2 and "exists" in again.output
    assert run(env, "users", "remove", "op").exit_code == 0
    listed = run(env, "users", "list")
    assert listed.output == "guard\tadmin\n"
    [account] = read_users(users).values()
    assert account.hash.startswith("$argon2id$") and PASSWORD not in users.read_text()
    assert users.stat().st_mode & 0o077 == 0
    assert json.loads(users.read_text())["users"]["guard"]["role"] == "admin"

    assert run(env, "limit", "set", "hq-jakarta", "f2-meeting-a", "4").exit_code == 0
    assert run(env, "limit", "set", "hq-jakarta", "f2-meeting-a", "--clear").exit_code == 0
    nowhere = run(env, "limit", "set", "hq-jakarta", "no-room", "4")
    assert nowhere.exit_code == 2 and "Room hq-jakarta/no-room is not in" in nowhere.output
    both = run(env, "limit", "set", "hq-jakarta", "f2-meeting-a", "4", "--clear")
    assert both.exit_code == 2
    level = run(env, "policy", "set", "strict", "--building", "ro-makassar")
    assert level.exit_code == 0 and "in ro-makassar" in level.output

    trail = run(env, "audit", "--since", "1h")
    assert trail.exit_code == 0, trail.output
    lines = [line.split("\t") for line in trail.output.splitlines()]
    assert [(f[2], f[3], f[4]) for f in lines] == [
        ("cli", "account_added", "guard"),
        ("cli", "account_added", "op"),
        ("cli", "account_changed", "guard"),
        ("cli", "account_removed", "op"),
        ("cli", "limit_set", "hq-jakarta/f2-meeting-a"),
        ("cli", "limit_cleared", "hq-jakarta/f2-meeting-a"),
        ("cli", "policy_set", "ro-makassar"),
    ]
    assert run(env, "audit", "--since", "2000-01-01").output.count("\n") == len(lines)
    later = run(env, "audit", "--since", "2999-01-01")
    assert later.exit_code == 0 and later.output == ""
