"""`occupancy roster pseudonym|reveal` for security, and the report of a date past retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ingest.audit import AuditRecord
from ingest.pseudonym import Pseudonyms
from tests.conftest import SAMPLE_SITE
from tests.support.cli import occupancy
from tests.support.kafka import read_topics

SAMPLE_ROSTER = SAMPLE_SITE.parent / "roster.yaml"
KEY = "a-test-key-of-32-characters-long"
GROUP_A = "196903151996012001"  # Rahmat Saputra, setjen, group A, hq-jakarta
ENV = {
    "OCC_PSEUDONYM_KEY": KEY,
    "OCC_SITE_FILE": str(SAMPLE_SITE),
    "OCC_ROSTER_FILE": str(SAMPLE_ROSTER),
}


def one_sentence(stderr: str) -> str:
    message = stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith("occupancy: ") and message.endswith("."), message
    return message


def test_pseudonym_prints_what_the_workers_write() -> None:
    result = occupancy("roster", "pseudonym", GROUP_A, env=ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout == Pseudonyms(KEY.encode())(GROUP_A) + "\n"
    assert GROUP_A not in result.stdout and KEY not in result.stdout + result.stderr


def kafka(stack_env: dict[str, str]) -> dict[str, str]:
    """The session stack's Kafka, under topics of this test's own."""
    return {
        "OCC_KAFKA_BOOTSTRAP": stack_env["OCC_KAFKA_BOOTSTRAP"],
        "OCC_KAFKA_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}",
    }


def audit_trail(env: dict[str, str]) -> list[AuditRecord]:
    topic = f"{env['OCC_KAFKA_TOPIC_PREFIX']}.audit"
    records = read_topics(env["OCC_KAFKA_BOOTSTRAP"], [topic])[topic]
    return [AuditRecord.model_validate_json(r.value) for r in records]


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (
            ["pseudonym", GROUP_A],
            {"OCC_PSEUDONYM_KEY": None},
            "Setting OCC_PSEUDONYM_KEY is not set: pseudonyms can only be made and revealed "
            "with the key the workers use.",
        ),
        (
            ["reveal", "p-aaaaaaaaaaaaaaaa"],
            {"OCC_PSEUDONYM_KEY": None},
            "Setting OCC_PSEUDONYM_KEY is not set",
        ),
        (
            ["pseudonym", GROUP_A],
            {"OCC_PSEUDONYM_KEY": "tiny"},
            "Setting OCC_PSEUDONYM_KEY is too short: give it at least 16 characters",
        ),
        (
            ["reveal", "p-aaaaaaaaaaaaaaaa"],
            {},
            "Pseudonym p-aaaaaaaaaaaaaaaa is no employee of the roster file "
            f"{SAMPLE_ROSTER} under this OCC_PSEUDONYM_KEY.",
        ),
        (
            ["reveal", GROUP_A],
            {},
            f"'{GROUP_A}' is not a pseudonym: a pseudonym is p- and 16 characters of a-z and 2-7.",
        ),
        (
            ["reveal", "p-aaaaaaaaaaaaaaaa"],
            {"OCC_ROSTER_FILE": None},
            "pass --roster FILE or set OCC_ROSTER_FILE.",
        ),
    ],
    ids=["no-key", "reveal-no-key", "short-key", "unknown", "not-a-pseudonym", "no-roster"],
)
def test_errors_are_one_sentence_and_exit_2(
    args: list[str], env: dict[str, str | None], needle: str
) -> None:
    merged = {k: v for k, v in {**ENV, **env}.items() if v is not None}
    result = occupancy("roster", *args, env=merged)
    assert result.returncode == 2, result.stdout
    message = one_sentence(result.stderr)
    assert needle in message, message
    assert KEY not in message and "tiny" not in message


def test_a_key_of_another_deployment_reveals_no_one() -> None:
    pseudonym = Pseudonyms(b"another-key-of-this-length-0000")(GROUP_A)
    result = occupancy("roster", "reveal", pseudonym, env=ENV)
    assert result.returncode == 2
    assert "is no employee of the roster file" in one_sentence(result.stderr)


def test_a_report_older_than_the_retention_says_so_instead_of_everyone_absent() -> None:
    old = (datetime.now(UTC) - timedelta(days=40)).date()
    env = {**ENV, "OCC_ATTENDANCE_RETENTION_DAYS": "30", "OCC_ATTENDANCE_LOOKBACK_DAYS": "7"}
    result = occupancy("report", "attendance", "--date", old.isoformat(), env=env)
    assert result.returncode == 2, result.stdout
    assert one_sentence(result.stderr) == (
        f"occupancy: Attendance on {old.isoformat()} is older than the 30 days kept "
        "(OCC_ATTENDANCE_RETENTION_DAYS): its records were deleted."
    )
    by_unit = occupancy(
        "report", "attendance", "--date", old.isoformat(), "--unit", "setjen", env=env
    )
    assert by_unit.returncode == 2 and "older than the 30 days kept" in by_unit.stderr
