#!/usr/bin/env bash
# Creates .venv at the repository root with the project installed (editable); with --dev also
# the test and lint tools. Idempotent and quick when everything is already there. The
# services themselves (Mosquitto, Kafka, InfluxDB) are installed by `occupancy stack up`.
set -euo pipefail
cd "$(dirname "$0")/../.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "setup: Python 3.11 or newer is needed (tried '$python'; set PYTHON to another one)." >&2
    exit 1
fi

extras=""
[[ "${1:-}" == "--dev" ]] && extras="[dev]"

if [[ ! -x .venv/bin/python ]]; then
    "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
