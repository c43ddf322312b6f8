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

cat <<'MSG'

Portcullis demo is up.
  GraphQL   http://127.0.0.1:8080/graphql   (federated: accounts, products, reviews)
  REST      http://127.0.0.1:8080/api/v1/... (orders service, OpenAPI 3.1)
  Admin     http://127.0.0.1:9090/healthz /readyz /metrics
  Access log: /tmp/portcullis-demo-access.log

Try:
  curl -s http://127.0.0.1:8080/graphql -H 'Content-Type: application/json' \
    -d '{"query":"{ users(first: 2) { username reviews { body product { name } } } }"}'   # three subgraphs, one answer
  curl -s http://127.0.0.1:8080/graphql -H 'Content-Type: application/json' \
    -d '{"query":"{ topProducts(first: 3) { upc name price } }"}'
  curl -s 'http://127.0.0.1:8080/graphql?query=%7BtopProducts%7Bname%7D%7D'
  curl -s -i http://127.0.0.1:8080/graphql -H 'Content-Type: text/plain' -d '{"query":"{__typename}"}'   # CSRF: 400
  curl -s http://127.0.0.1:8080/api/v1/orders -H 'X-API-Key: demo-orders-key'
  curl -s -i http://127.0.0.1:8080/api/v1/orders                                                      # 401: the document requires credentials
  curl -s -i 'http://127.0.0.1:8080/api/v1/orders?limit=1000' -H 'X-API-Key: demo-orders-key'        # 400 with a JSON pointer
  curl -s -i http://127.0.0.1:8080/nowhere                                                             # 404
  curl -s http://127.0.0.1:9090/metrics | grep portcullis_requests_total

Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
