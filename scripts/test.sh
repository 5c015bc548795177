#!/usr/bin/env bash
# The full test suite from a fresh clone: installs what is missing, brings up the local stack
# (Kafka, Redis, PostgreSQL), runs lint, format check, typecheck, unit and integration tests, stops what it
# started, and ends with the line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
export SLUICE_LOG_LEVEL="${SLUICE_LOG_LEVEL:-warn}"
started_at=$(date +%s)

bash scripts/ensure-node-modules.sh || exit 1
# Prometheus and promtool check the dashboard and alert rules (test/deploy).
bash scripts/ensure-debian-packages.sh promtool:prometheus prometheus:prometheus || exit 1
# The pinned helm for the chart tests (test/deploy): built once into the cache, silent afterwards.
helm_bin=$(bash scripts/install-helm.sh --print-path) || exit 1; export PATH="$(dirname "$helm_bin"):$PATH"
# Confluent's Python client for the registry compatibility test (test/registry): a pinned venv in the cache.
bash scripts/ensure-python-packages.sh || exit 1

stack_was_running=no
if node bin/sluice.js stack status 2>/dev/null | grep -q '^kafka.*running'; then stack_was_running=yes; fi
stop_stack() {
  if [ "$stack_was_running" = no ]; then node bin/sluice.js stack down; fi
}
trap stop_stack EXIT
node bin/sluice.js stack up || exit 1
# The tests reach the stack through these (the stack's own ports unless an external cluster is set).
export KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:${SLUICE_STACK_KAFKA_PORT:-9092}}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:${SLUICE_STACK_REDIS_PORT:-6379}}"
export SLUICE_LOG_DATABASE_URL="${SLUICE_LOG_DATABASE_URL:-postgres://sluice@127.0.0.1:${SLUICE_STACK_POSTGRES_PORT:-5433}/sluice}"
grep -h 'Kafka version:' .sluice/stack/kafka/logs/server.log 2>/dev/null | tail -1 || true

status=0
step() {
  echo "== $*" >&2
  "$@" || { echo "sluice: FAILED: $*" >&2; status=1; }
}
step npx eslint --max-warnings=0 .
step npx prettier --check --log-level=warn .
step npx tsc --noEmit -p tsconfig.json
step node bin/sluice.js schemas check
step npx tsc --noEmit -p load-tests/k6/tsconfig.json
mkdir -p .sluice
rm -f .sluice/test-results.json
step npx vitest run --reporter=default --reporter=json --outputFile.json=.sluice/test-results.json "$@"
summary=$(node scripts/test-summary.mjs .sluice/test-results.json) || status=1
trap - EXIT
stop_stack
echo "sluice: test command took $(( $(date +%s) - started_at ))s" >&2
# The closing line CI reads, alone and last.
echo "$summary"
exit $status
