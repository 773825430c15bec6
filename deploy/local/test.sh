#!/usr/bin/env bash
# The second command of the README (and all of CI): set up, lint, type-check, check the
# import layers, run every test (tests/unit, tests/integration, tests/system). Tests that need
# Mosquitto, Kafka or InfluxDB start them on free loopback ports themselves.
#
#   bash deploy/local/test.sh --fast          the unit tier only (no services, about a minute)
#   bash deploy/local/test.sh [pytest args]   everything, or what the pytest arguments select
set -euo pipefail
cd "$(dirname "$0")/../.."

fast=false
if [[ "${1:-}" == "--fast" ]]; then
    fast=true
    shift
fi

bash deploy/local/setup.sh --dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
if ! $fast; then
    .venv/bin/mypy ingest processors alerts deploy tests bench
    .venv/bin/lint-imports --no-cache
fi

status=0
if $fast; then
    .venv/bin/pytest tests/unit "$@" || status=$?
else
    .venv/bin/pytest "$@" || status=$?
fi
if [[ $status -eq 5 ]]; then
    echo "test: pytest collected no tests, which is a failure here." >&2
    exit 1
fi
exit $status
