#!/usr/bin/env bash
# Benchmarks (design.md §9): installs what they need (wrk), brings up the stack and runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-node-modules.sh
if ! command -v wrk >/dev/null; then
  echo "sluice: installing wrk (Debian package)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
fi
exec node --import tsx load-tests/bench/run-bench.ts "$@"
