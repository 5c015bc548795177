#!/usr/bin/env bash
# Installs the pinned Helm (used by the chart tests in test/deploy) into the project's cache:
# ${SLUICE_CACHE_DIR:-.sluice/cache}/bin/helm. Helm has no registry package we may use here, so it is
# built from its Go module (`go install`, the Go module proxy) the way Helm's own Makefile builds it:
# static, trimmed, with the version and the default Kubernetes version stamped in (without them
# `helm version` says v3.19 and `helm template` assumes Kubernetes v1.20).
# Idempotent and silent when the pinned version is already there; prints where helm is on stdout
# only with --print-path. Measured on the 2-core dev machine: cold (empty Go module and build caches)
# 136 s; a fresh clone with Go's caches warm 3.5 s (link only); already installed 0.07 s.
set -euo pipefail
cd "$(dirname "$0")/.."

helm_version=v3.19.0
# Helm v3.19.0's go.mod requires k8s.io/client-go v0.34.0, i.e. Kubernetes 1.34 (Makefile: K8S_MODULES_VER).
kube_major=1
kube_minor=34

cache_dir="${SLUICE_CACHE_DIR:-.sluice/cache}"
bin_dir="$(mkdir -p "$cache_dir/bin" && cd "$cache_dir/bin" && pwd)"
helm="$bin_dir/helm"

installed_version() {
  "$helm" version --template '{{.Version}}' 2>/dev/null || true
}

if [ -x "$helm" ] && [ "$(installed_version)" = "$helm_version" ]; then
  [ "${1:-}" = --print-path ] && echo "$helm"
  exit 0
fi

if ! command -v go >/dev/null; then
  echo "sluice: Go is needed to build helm $helm_version (go install); install Go 1.24+ or put helm $helm_version in $bin_dir" >&2
  exit 1
fi

echo "sluice: building helm $helm_version into $bin_dir (go install; a few minutes the first time)" >&2
started=$(date +%s)
ldflags="-s -w"
ldflags+=" -X helm.sh/helm/v3/internal/version.version=$helm_version"
ldflags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  ldflags+=" -X $pkg.k8sVersionMajor=$kube_major -X $pkg.k8sVersionMinor=$kube_minor"
done
# A build of our own into a temporary GOBIN, moved into place only when complete, so an interrupted
# build never leaves a broken binary that a later run would trust.
tmp_bin="$(mktemp -d "$bin_dir/.helm-build.XXXXXX")"
trap 'rm -rf "$tmp_bin"' EXIT
GOBIN="$tmp_bin" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -trimpath" \
  go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"
mv -f "$tmp_bin/helm" "$helm"
if [ "$(installed_version)" != "$helm_version" ]; then
  echo "sluice: built helm reports '$(installed_version)', expected $helm_version" >&2
  exit 1
fi
echo "sluice: helm $helm_version ready in $(($(date +%s) - started))s" >&2
[ "${1:-}" = --print-path ] && echo "$helm"
exit 0
