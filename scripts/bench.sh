#!/usr/bin/env bash
# Benchmarks (docs/architecture.md#benchmarks): installs what they need (wrk), brings up the stack
# and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
bash scripts/ensure-debian-packages.sh wrk:wrk
exec node --import tsx load-tests/bench/run-bench.ts "$@"
