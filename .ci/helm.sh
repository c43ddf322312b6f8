#!/usr/bin/env bash
# The Helm chart in CI: helm lint and helm template for every values file in
# deploy/helm/portcullis/ci/, each rendering checked by tools/cmd/chartcheck
# (pod security, probes, rollout checksum) and its config by `portcullis check`.
#
# Helm is built from its Go module and cached outside the repository: the first
# build takes minutes, later runs reuse the binary.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v4.3.2
cache="$(go env GOCACHE)/../portcullis-tools/helm-$HELM_VERSION"
HELM="${HELM:-$cache/helm}"
if [ ! -x "$HELM" ]; then
  echo "helm: building helm $HELM_VERSION into $cache (once)"
  mkdir -p "$cache"
  GOBIN="$cache" GOFLAGS=-mod=mod go install "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
fi
"$HELM" version --short

chart=deploy/helm/portcullis
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go build -o "$tmp/portcullis" ./cmd/portcullis
go build -o "$tmp/chartcheck" ./tools/cmd/chartcheck

"$HELM" lint --strict "$chart"
checked=0
for values in "$chart"/ci/*-values.yaml; do
  name="$(basename "$values")"
  "$HELM" lint --strict "$chart" -f "$values" >/dev/null || { "$HELM" lint --strict "$chart" -f "$values"; exit 1; }
  "$HELM" template ci "$chart" --namespace shop -f "$values" > "$tmp/$name.rendered"
  "$tmp/chartcheck" -portcullis "$tmp/portcullis" -label "$name" < "$tmp/$name.rendered"
  checked=$((checked + 1))
done
echo "helm: $checked values files linted, rendered and checked"
