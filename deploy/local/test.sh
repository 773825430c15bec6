#!/usr/bin/env bash
# The second command of the README (and all of CI): set up, lint, type-check, run every test.
# Tests that need Mosquitto, Kafka or InfluxDB start them on free loopback ports themselves.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/local/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy ingest processors alerts deploy tests bench
.venv/bin/lint-imports --no-cache

status=0
.venv/bin/pytest "$@" || status=$?
if [[ $status -eq 5 ]]; then
    echo "test: pytest collected no tests, which is a failure here." >&2
    exit 1
fi
exit $status
