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

mkdir -p .run
log=.run/setup.log
# pip and setuptools are chatty even when all is well: keep it in a log, show it on failure.
if ! {
    [[ -x .venv/bin/python ]] || "$python" -m venv .venv
    .venv/bin/python -m pip install --upgrade pip
    .venv/bin/python -m pip install --disable-pip-version-check -e ".${extras}"
} >"$log" 2>&1; then
    cat "$log" >&2
    echo "setup: installing the project into .venv failed (log above, also in $log)." >&2
    exit 1
fi
