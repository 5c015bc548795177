#!/usr/bin/env bash
# Installs Debian packages whose command is missing: ensure-debian-packages.sh COMMAND:PACKAGE …
# (e.g. promtool:prometheus). Needs root and apt-get; fetches package lists only when needed.
set -euo pipefail
missing=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "sluice: missing ${missing[*]}: install them (Debian packages), this needs root and apt-get" >&2
  exit 1
fi
echo "sluice: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
