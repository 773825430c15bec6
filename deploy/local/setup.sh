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

# The web board's browser test drives Debian's Chromium (no browser download of its own).
# Installed as root only; elsewhere that test says how to install it and skips.
if [[ -n "$extras" && ! -x /usr/bin/chromium ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        chromium=(apt-get install -y --no-install-recommends chromium fonts-dejavu-core)
        # A fresh machine has no package lists yet: update once, then try again.
        if ! { DEBIAN_FRONTEND=noninteractive "${chromium[@]}" \
            || { apt-get update && DEBIAN_FRONTEND=noninteractive "${chromium[@]}"; }; } >>"$log" 2>&1; then
            tail -n 20 "$log" >&2
            echo "setup: apt-get install chromium failed (log above, also in $log)." >&2
            exit 1
        fi
    else
        echo "setup: no /usr/bin/chromium; the browser test will skip (sudo apt-get install chromium)." >&2
    fi
fi
