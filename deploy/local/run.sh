#!/usr/bin/env bash
# The first command of the README: set up, start the local stack (Mosquitto, Kafka, InfluxDB)
# and run the MQTT→Kafka bridge in the foreground against it. Ctrl-C stops the bridge; the
# stack keeps running until `.venv/bin/occupancy stack down`.
set -euo pipefail
cd "$(dirname "$0")/../.."

bash deploy/local/setup.sh
.venv/bin/occupancy stack up
eval "$(.venv/bin/occupancy stack env)"
export OCC_BRIDGE_STATS_INTERVAL_S=${OCC_BRIDGE_STATS_INTERVAL_S:-5}
echo
echo "Bridge running: publish door events to $OCC_MQTT_URL (see README), Ctrl-C to stop."
exec .venv/bin/occupancy bridge
