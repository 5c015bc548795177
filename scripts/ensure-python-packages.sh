#!/usr/bin/env bash
# Installs the pinned Python packages of test/python/requirements.txt (Confluent's Python client,
# for the registry compatibility test) into a virtual environment in the project's cache:
# ${SLUICE_CACHE_DIR:-.sluice/cache}/python-venv-<hash>, the hash of the requirements and of the
# Python version, so a changed pin or interpreter gets a venv of its own. Needs python3 >= 3.9 with
# venv and PyPI. Idempotent and silent when already installed; prints the venv's python on stdout
# only with --print-path. Several runs at once (worktrees share the cache) wait on one lock.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=test/python/requirements.txt
python=${SLUICE_PYTHON:-python3}
if ! command -v "$python" >/dev/null 2>&1 ||
  ! "$python" -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  echo "sluice: Python 3.9 or later with venv is needed for the Confluent client test (set SLUICE_PYTHON)" >&2
  exit 1
fi
hash=$( (cat "$requirements"; "$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-12)
cache_dir="${SLUICE_CACHE_DIR:-.sluice/cache}"
mkdir -p "$cache_dir"
venv="$(cd "$cache_dir" && pwd)/python-venv-$hash"
stamp="$venv/.sluice-installed"

print_path() {
  if [ "${1:-}" = --print-path ]; then echo "$venv/bin/python"; fi
}
if [ -f "$stamp" ]; then
  print_path "${1:-}"
  exit 0
fi

exec 9>"$venv.lock"
flock 9
# Another run may have finished it while this one waited.
if [ ! -f "$stamp" ]; then
  echo "sluice: installing $requirements into $venv (pip; a minute the first time)" >&2
  started=$(date +%s)
  # A venv left half-made by an interrupted run is never trusted: only the stamp marks a whole one.
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --requirement "$requirements"
  "$venv/bin/python" -c 'import confluent_kafka, fastavro, confluent_kafka.schema_registry.avro' >/dev/null
  touch "$stamp"
  echo "sluice: Python packages ready in $(($(date +%s) - started))s" >&2
fi
print_path "${1:-}"
