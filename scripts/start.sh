#!/usr/bin/env bash
# Runs Sluice locally from a fresh clone: installs what is missing, brings up Kafka and Redis,
# creates the topics, and runs the Sluice processes in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
exec node bin/sluice.js dev
