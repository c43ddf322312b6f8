#!/usr/bin/env bash
# make demo: start the example upstreams and the gateway on 127.0.0.1, print
# how to talk to them, and stop everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "demo: stopping"
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

bin/example-upstreams -accounts 127.0.0.1:4001 -products 127.0.0.1:4002 \
  -reviews 127.0.0.1:4003 -orders 127.0.0.1:5000 &
pids+=($!)
bin/portcullis serve -c configs/demo.yaml >/tmp/portcullis-demo-access.log &
pids+=($!)

for _ in $(seq 1 100); do
  if curl -fsS http://127.0.0.1:9090/readyz >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [ "${ready:-0}" != 1 ]; then
  echo "demo: the gateway did not become ready; see the log above"; exit 1
fi
# The first served request: a GraphQL query through the gateway to a subgraph.
curl -fsS http://127.0.0.1:8080/graphql -H 'Content-Type: application/json' \
  -d '{"query":"{ topProducts(first: 1) { upc } }"}' >/dev/null
if [ -n "${DEMO_START:-}" ]; then
  ms=$(( ($(date +%s%N) - DEMO_START) / 1000000 ))
  printf 'demo: first request served %d.%03ds after make demo started\n' $((ms / 1000)) $((ms % 1000))
fi
if [ "${DEMO_EXIT:-}" = 1 ]; then exit 0; fi

cat <<'MSG'

Portcullis demo is up.
  GraphQL   http://127.0.0.1:8080/graphql   (federated: accounts, products, reviews)
  REST      http://127.0.0.1:8080/api/v1/... (orders service, OpenAPI 3.1)
  Admin     http://127.0.0.1:9090/healthz /readyz /metrics
  Access log: /tmp/portcullis-demo-access.log

Try (the README's lines, which the end-to-end tests run):
MSG
grep '^curl ' README.md | sed 's/^/  /'
cat <<'MSG'

Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
