#!/usr/bin/env bash
# The first command of the README: set up, then run the demo (`occupancy demo`): the bridge,
# a worker and the simulator, on embedded brokers unless OCC_MQTT_URL / OCC_KAFKA_BOOTSTRAP
# point at real ones, with a live board in the terminal and in the browser. Ctrl-C stops
# everything it started. Arguments go to `occupancy demo` (e.g. --speed 120).
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/local/setup.sh
exec .venv/bin/occupancy demo "$@"
