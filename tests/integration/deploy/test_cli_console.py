"""The console commands (users, limit, policy --building, audit) on the real Kafka: every
change audited."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from alerts.board.accounts import read_users
from tests.support.pipeline import clock_env, replay_clock
from tests.unit.deploy.test_cli_console import PASSWORD, run


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
