package ratelimit

// End-to-end rate limiting through the gateway binary (the docs/ pages, the docs/ pages
// sections 5 and 6): every test sends real requests to `portcullis serve`
// and asserts status, code, the RateLimit headers and what the upstreams
// received.
//
// Tiers use rate 1 per 1h, so nothing refills while a test runs and every
// remaining value is exact. Each subtest is its own anonymous client: the
// gateway trusts 127.0.0.1 as a proxy, so X-Forwarded-For picks the client
// IP, and anonymous callers are keyed by IP.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// GraphQL operations and their estimated costs against configs/schemas
// (the docs/ pages: objects 1, scalars 0 unless @cost, lists multiply by
// their slicing argument). Computed by hand, and checked by
// `portcullis analyze`.
const (
	// product is one object: 1.
	q1 = `{ product(upc: "1") { upc } }`
	// topProducts(first: 2) of Product (1) with free scalars: 2 × 1.
	q2 = `{ topProducts(first: 2) { upc name } }`
	// price has @cost(weight: 2): 3 × (1 + 2).
	q9 = `{ topProducts(first: 3) { upc price } }`
	// 50 × (1 + 2).
	q150 = `{ topProducts(first: 50) { upc price } }`
	// Not a field of Product: refused by validation, before any charge.
	qInvalid = `{ topProducts { nope } }`
)

// spec is the REST document of these tests: one operation with no
// x-portcullis-cost (so it costs the route's default_cost) and no security
// requirement (so anonymous callers reach it).
const spec = `openapi: 3.1.0
info: {title: Orders (rate limit tests), version: 1.0.0}
servers:
  - url: /v1
security: []
paths:
  /orders/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      operationId: getOrder
      responses:
        "200":
          description: The order.
          content:
            application/json:
              schema: {type: object}
`

// partnerKey is the one valid API key of these tests; its identity is charged in
// tier "default" (it names no tier).
const (
	partnerKey       = "rl-test-key"
	partnerKeySHA256 = "6289990127e8d351603acd49f1f97bc0fc862ec6c0e7a5d8a1aba54657469083"
)

// gatewayConfig is a gateway with the shop GraphQL route (to the products
// subgraph), the orders REST route at /api (cost 2 per call), any extra
// REST routes, and the given rate_limit section (unindented YAML lines).
func gatewayConfig(set *upstreams.Set, rateLimit, extraREST string) string {
	indented := "  " + strings.ReplaceAll(strings.TrimSpace(rateLimit), "\n", "\n  ")
	return fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: rl-partner, sha256: %s}
`+gatewaytest.Server("max_body_bytes: 65536", "shutdown_grace: 5s", "trusted_proxies: [127.0.0.1/32]")+`graphql:
`+gatewaytest.ShopRoute("%q", "limits: {max_batch: 3}")+`rest:
  - name: orders
    prefix: /api
    openapi: specs/rl-orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
    default_cost: 2
%s
rate_limit:
%s
`, partnerKeySHA256, set.Products.Endpoint, set.Orders.URL, extraREST, indented)
}

// startGateway starts the gateway on yaml (with the rate limit tests' REST
// document beside it) with the upstreams' records fresh.
func startGateway(t *testing.T, set *upstreams.Set, yaml string) *gatewaytest.Gateway {
	t.Helper()
	return gatewaytest.StartFresh(t, writeConfig(t, yaml), set.ResetAll)
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := gatewaytest.WriteConfig(t, yaml)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "specs", "rl-orders.yaml"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startOnChildRedis starts the upstreams and a gateway whose store is a
// Redis child of this test (which it may kill and restart), with a short
// store timeout, on_store_error onError and the anonymous tier's burst.
func startOnChildRedis(t *testing.T, onError string, burst int) (*redistest.Child, *upstreams.Set, *gatewaytest.Gateway) {
	t.Helper()
	return startOnChildRedisWith(t, onError, burst, "")
}

// startOnChildRedisWith is startOnChildRedis with more rate_limit lines.
func startOnChildRedisWith(t *testing.T, onError string, burst int, more string) (*redistest.Child, *upstreams.Set, *gatewaytest.Gateway) {
	t.Helper()
	rs := redistest.StartChild(t)
	set := upstreams.StartAll(t)
	gw := startGateway(t, set, gatewayConfig(set, fmt.Sprintf(`
store: redis
redis: {address: %q, db: 0}
on_store_error: %s
timeout: 300ms
%s
tiers:
  anonymous: {rate: 1, per: 1h, burst: %d}
`, rs.Addr(), onError, more, burst), ""))
	return rs, set, gw
}

func restFrom(t *testing.T, gw *gatewaytest.Gateway, ip string) gatewaytest.Reply {
	t.Helper()
	return gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/1"), ip, "", nil)
}

// TestRateLimitHeaders: every response of a limited route, GraphQL and
// REST, allowed and refused, carries parsable RateLimit-Policy and RateLimit
// headers, r falls by each request's cost, and a refusal is 429 with
// Retry-After that reaches no upstream.
func TestRateLimitHeaders(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startGateway(t, set, gatewayConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 6}
`, ""))
	const ip = "10.1.0.1"

	set.ResetAll()
	rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q2)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 6, 4, 0)
	set.Products.WantForwarded(t, 1, "topProducts(first: 2)")

	rp = restFrom(t, gw, ip)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 6, 2, 0)
	set.Orders.WantForwarded(t, 1, "/v1/orders/1")

	rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q2)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 6, 0, 0)
	set.Products.WantForwarded(t, 2, "topProducts(first: 2)")

	set.ResetAll()
	rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q2)
	gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	gatewaytest.WantLimit(t, rp, "anonymous", 6, 0, 2)
	rp = restFrom(t, gw, ip)
	gatewaytest.WantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED", nil)
	gatewaytest.WantLimit(t, rp, "anonymous", 6, 0, 2)
	set.WantUntouched(t)

	t.Run("a tier whose burst refills in a fraction of a second rounds w up", func(t *testing.T) {
		set := upstreams.StartAll(t)
		// w = ceil(5 × 1s / 10) = 1, not 0.
		gw := startGateway(t, set, gatewayConfig(set, `
tiers:
  anonymous: {rate: 10, per: 1s, burst: 5}
`, ""))
		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), "10.1.0.2", q1)
		gatewaytest.WantOK(t, rp)
		h := gatewaytest.ParseRateLimit(t, rp)
		if h.Tier != "anonymous" || h.Q != 5 || h.W != 1 || h.R != 4 || h.T != 1 || h.RetryAfter != -1 {
			t.Fatalf("headers %+v, want q=5 w=1 r=4 t=1: %v", h, rp)
		}
	})
}

// TestRateLimitSharedBudget: one client's GraphQL and REST calls draw on
// one budget; spending it on either route refuses the other.
func TestRateLimitSharedBudget(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startGateway(t, set, gatewayConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 10}
`, ""))

	t.Run("spent on GraphQL, refused on REST", func(t *testing.T) {
		const ip = "10.2.0.1"
		set.ResetAll()
		for i := 1; i <= 5; i++ {
			rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q2)
			gatewaytest.WantOK(t, rp)
			gatewaytest.WantLimit(t, rp, "anonymous", 10, 10-2*i, 0)
		}
		set.Products.WantForwarded(t, 5, "topProducts")
		set.ResetAll()
		rp := restFrom(t, gw, ip)
		gatewaytest.WantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED", nil)
		gatewaytest.WantLimit(t, rp, "anonymous", 10, 0, 2)
		set.WantUntouched(t)
	})
	t.Run("spent on REST, refused on GraphQL", func(t *testing.T) {
		const ip = "10.2.0.2"
		set.ResetAll()
		for i := 1; i <= 4; i++ {
			rp := restFrom(t, gw, ip)
			gatewaytest.WantOK(t, rp)
			gatewaytest.WantLimit(t, rp, "anonymous", 10, 10-2*i, 0)
		}
		set.Orders.WantForwarded(t, 4, "/v1/orders/1")
		// 2 left: a cost-9 query is refused, a cost-2 one passes.
		set.ResetAll()
		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q9)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		gatewaytest.WantLimit(t, rp, "anonymous", 10, 2, 9)
		set.WantUntouched(t)
		rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q2)
		gatewaytest.WantOK(t, rp)
		gatewaytest.WantLimit(t, rp, "anonymous", 10, 0, 0)
		set.ResetAll()
		rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		gatewaytest.WantLimit(t, rp, "anonymous", 10, 0, 1)
		set.WantUntouched(t)
	})
	t.Run("another client's budget is untouched", func(t *testing.T) {
		set.ResetAll()
		rp := restFrom(t, gw, "10.2.0.3")
		gatewaytest.WantOK(t, rp)
		gatewaytest.WantLimit(t, rp, "anonymous", 10, 8, 0)
	})
}

// TestRateLimitCostWeighted: with equal budgets, an expensive query is
// refused after fewer requests than a cheap one, each charged its
// estimated cost exactly.
func TestRateLimitCostWeighted(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startGateway(t, set, gatewayConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 30}
`, ""))

	// admitted sends query until refused and returns how many passed,
	// asserting r after each.
	admitted := func(t *testing.T, ip, query string, cost int) int {
		t.Helper()
		set.ResetAll()
		n := 0
		for left := 30; ; {
			rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, query)
			if left < cost {
				gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
				gatewaytest.WantLimit(t, rp, "anonymous", 30, left, cost)
				set.Products.WantForwarded(t, n, "topProducts")
				return n
			}
			left -= cost
			n++
			gatewaytest.WantOK(t, rp)
			gatewaytest.WantLimit(t, rp, "anonymous", 30, left, 0)
			if n > 30 {
				t.Fatal("never refused")
			}
		}
	}
	cheap := admitted(t, "10.3.0.1", q2, 2)
	expensive := admitted(t, "10.3.0.2", q9, 9)
	if cheap != 15 || expensive != 3 {
		t.Fatalf("admitted %d cheap (cost 2) and %d expensive (cost 9), want 15 and 3", cheap, expensive)
	}
	// The expensive client's 3 units are still there: the refusal spent nothing.
	rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), "10.3.0.2", q2)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 30, 1, 0)

	t.Run("a batch is charged the sum of its operations", func(t *testing.T) {
		const ip = "10.3.0.3"
		batch, _ := json.Marshal([]map[string]string{{"query": q2}, {"query": q9}})
		set.ResetAll()
		rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, string(batch), nil)
		// The subgraph need not serve batches: only the charge and the
		// forwarding matter here.
		gatewaytest.WantLimit(t, rp, "anonymous", 30, 30-11, 0)
		set.Products.WantForwarded(t, 1, "topProducts(first: 3)")
		// 19 left: a second batch (11) passes, a third is refused whole.
		gatewaytest.WantLimit(t, gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, string(batch), nil), "anonymous", 30, 8, 0)
		set.ResetAll()
		rp = gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, string(batch), nil)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		gatewaytest.WantLimit(t, rp, "anonymous", 30, 8, 11)
		set.WantUntouched(t)
	})
}

// costExt reads cost.estimated and cost.max from GraphQL extensions or
// problem members: flat keys, as the analysis's max_cost refusal writes
// them; -1 when absent.
func costExt(m map[string]any) (estimated, max float64) {
	estimated, max = -1, -1
	if v, ok := m["cost.estimated"].(float64); ok {
		estimated = v
	}
	if v, ok := m["cost.max"].(float64); ok {
		max = v
	}
	return estimated, max
}

// TestRateLimitTooExpensive: an operation costing more than the burst can
// never pass; it is refused at once as too expensive, with the burst as
// cost.max, without spending the budget or reaching the upstream.
func TestRateLimitTooExpensive(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startGateway(t, set, gatewayConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 30}
`, `  - name: bulk
    prefix: /bulk
    openapi: specs/rl-orders.yaml
    upstream: {url: "`+set.Orders.URL+`", timeout: 5s}
    strip_prefix: true
    default_cost: 31
`))

	t.Run("graphql", func(t *testing.T) {
		const ip = "10.4.0.1"
		set.ResetAll()
		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q150)
		ext := gatewaytest.WantGQLError(t, rp, http.StatusBadRequest, "COST_ESTIMATED_TOO_EXPENSIVE")
		if est, max := costExt(ext); est != 150 || max != 30 {
			t.Errorf("extensions %v: want cost estimated 150, max 30 (the burst)", ext)
		}
		gatewaytest.WantLimit(t, rp, "anonymous", 30, 30, 0)
		set.WantUntouched(t)

		rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q2)
		gatewaytest.WantOK(t, rp)
		gatewaytest.WantLimit(t, rp, "anonymous", 30, 28, 0)
	})
	t.Run("rest", func(t *testing.T) {
		const ip = "10.4.0.2"
		set.ResetAll()
		rp := gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/bulk/v1/orders/1"), ip, "", nil)
		p := gatewaytest.WantProblem(t, rp, http.StatusBadRequest, "COST_ESTIMATED_TOO_EXPENSIVE", nil)
		if est, max := costExt(p.Doc); est != 31 || max != 30 {
			t.Errorf("problem %v: want cost estimated 31, max 30 (the burst)", p)
		}
		gatewaytest.WantLimit(t, rp, "anonymous", 30, 30, 0)
		set.WantUntouched(t)

		rp = restFrom(t, gw, ip)
		gatewaytest.WantOK(t, rp)
		gatewaytest.WantLimit(t, rp, "anonymous", 30, 28, 0)
	})
}

// TestRateLimitRedisShared: two gateway processes on one Redis admit
// exactly the burst for one client, however the concurrent requests fall
// between them, and another client's budget is its own.
func TestRateLimitRedisShared(t *testing.T) {
	const db = 14
	rdb := redistest.Client(t, db)
	opts := rdb.Options()
	redistest.DeleteKeys(t, rdb, "portcullis:rl:{anonymous:ip:10.5.0.*}")

	set := upstreams.StartAll(t)
	// A generous store timeout: this test is about counting, not outages.
	rl := fmt.Sprintf(`
store: redis
redis: {address: %q, password: %q, db: %d}
on_store_error: fail_closed
timeout: 2s
tiers:
  anonymous: {rate: 1, per: 1h, burst: 20}
`, opts.Addr, opts.Password, db)
	gwA := startGateway(t, set, gatewayConfig(set, rl, ""))
	gwB := startGateway(t, set, gatewayConfig(set, rl, ""))

	const ip, other, callers = "10.5.0.1", "10.5.0.2", 64
	set.ResetAll()
	replies := make([]gatewaytest.Reply, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		gw := gwA
		if i%2 == 1 {
			gw = gwB
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			b, _ := json.Marshal(map[string]string{"query": q1})
			req, _ := http.NewRequest(http.MethodPost, gw.URL("/graphql"), strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", ip)
			rp, err := gatewaytest.Do(gatewaytest.StoreClient, req)
			if err != nil {
				rp = gatewaytest.Reply{Status: -1, Body: []byte(err.Error())}
			}
			replies[i] = rp
		}()
	}
	close(start)
	wg.Wait()

	ok, limited := 0, 0
	seen := map[int]bool{}
	for _, rp := range replies {
		switch rp.Status {
		case http.StatusOK:
			ok++
			h := gatewaytest.ParseRateLimit(t, rp)
			if seen[h.R] {
				t.Errorf("two admitted requests both saw r=%d: the budget was not shared atomically", h.R)
			}
			seen[h.R] = true
		case http.StatusTooManyRequests:
			limited++
			gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
			gatewaytest.WantLimit(t, rp, "anonymous", 20, 0, 1)
		default:
			t.Errorf("unexpected gatewaytest.Reply: %v", rp)
		}
	}
	if ok != 20 || limited != callers-20 {
		t.Fatalf("admitted %d and refused %d of %d, want exactly the burst (20) admitted", ok, limited, callers)
	}
	if n := set.Products.Recorder.Count(); n != 20 {
		t.Fatalf("products received %d requests, want 20", n)
	}

	// The bucket lives in Redis under the documented key, and expires.
	key := "portcullis:rl:{anonymous:ip:" + ip + "}"
	ttl, err := rdb.PTTL(context.Background(), key).Result()
	if err != nil || ttl <= 0 {
		t.Fatalf("key %s: ttl %v, err %v; want a namespaced, expiring key", key, ttl, err)
	}

	// Either gateway still refuses the spent client...
	for _, gw := range []*gatewaytest.Gateway{gwA, gwB} {
		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	}
	// ...while another client has its own budget, shared by both gateways.
	rp := gatewaytest.GraphQLFrom(t, gwA.URL("/graphql"), other, q1)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 20, 19, 0)
	rp = restFrom(t, gwB, other)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 20, 17, 0)
}

// TestRateLimitRedisOutage: when the Redis store dies, fail_closed answers
// 503 RATE_LIMIT_UNAVAILABLE at once and fail_open keeps serving within a
// per-replica budget; both recover by themselves when Redis is back.
func TestRateLimitRedisOutage(t *testing.T) {
	// Polls until the gateway's probe sees the restarted store (it backs off
	// up to 5s), accepting only the outage's answer until then.
	recovered := func(t *testing.T, gw *gatewaytest.Gateway, ip string, outage func(gatewaytest.Reply) bool) gatewaytest.Reply {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
			if rp.Status == http.StatusOK {
				return rp
			}
			if !outage(rp) {
				t.Fatalf("while recovering: %v", rp)
			}
			if time.Now().After(deadline) {
				t.Fatalf("not recovered 20s after Redis restarted: %v", rp)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("fail_closed", func(t *testing.T) {
		rs, set, gw := startOnChildRedis(t, "fail_closed", 100)
		const ip = "10.6.0.1"

		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
		gatewaytest.WantOK(t, rp)
		gatewaytest.WantLimit(t, rp, "anonymous", 100, 99, 0)
		if n, err := rs.Client().Exists(context.Background(), "portcullis:rl:{anonymous:ip:"+ip+"}").Result(); err != nil || n != 1 {
			t.Fatalf("bucket not in the child Redis: %d %v", n, err)
		}

		rs.Kill()
		set.ResetAll()
		for range 3 {
			gatewaytest.WantGQLError(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
			gatewaytest.WantProblem(t, restFrom(t, gw, ip), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE", nil)
		}
		set.WantUntouched(t)

		rs.Start()
		rp = recovered(t, gw, ip, func(rp gatewaytest.Reply) bool {
			return rp.Status == http.StatusServiceUnavailable && gatewaytest.FirstCode(t, rp.Body) == "RATE_LIMIT_UNAVAILABLE"
		})
		// The restarted Redis is empty: a fresh bucket, charged once.
		gatewaytest.WantLimit(t, rp, "anonymous", 100, 99, 0)
		set.Products.WantForwarded(t, 1, "product(upc")
		// The state changes are logged once each (stderr is read
		// asynchronously: wait for the recovery line).
		gw.WaitLog(t, `"msg":"rate limit store available again"`)
		if n := strings.Count(gw.Logs(), `"msg":"rate limit store unavailable"`); n != 1 {
			t.Errorf("outage logged %d times, want once:\n%s", n, gw.Logs())
		}
	})

	t.Run("fail_open", func(t *testing.T) {
		rs, set, gw := startOnChildRedis(t, "fail_open", 3)
		const ip = "10.6.0.2"

		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
		gatewaytest.WantOK(t, rp)
		gatewaytest.WantLimit(t, rp, "anonymous", 3, 2, 0)

		rs.Kill()
		set.ResetAll()
		// The local stand-in starts with a full bucket and still limits.
		for left := 2; left >= 0; left-- {
			rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
			gatewaytest.WantOK(t, rp)
			gatewaytest.WantLimit(t, rp, "anonymous", 3, left, 0)
		}
		set.Products.WantForwarded(t, 3, "product(upc")
		set.ResetAll()
		rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		gatewaytest.WantLimit(t, rp, "anonymous", 3, 0, 1)
		gatewaytest.WantProblem(t, restFrom(t, gw, ip), http.StatusTooManyRequests, "RATE_LIMITED", nil)
		set.WantUntouched(t)

		rs.Start()
		// Only Redis can admit this client now: the local bucket is empty.
		rp = recovered(t, gw, ip, func(rp gatewaytest.Reply) bool {
			return rp.Status == http.StatusTooManyRequests && gatewaytest.FirstCode(t, rp.Body) == "RATE_LIMITED"
		})
		gatewaytest.WantLimit(t, rp, "anonymous", 3, 2, 0)
	})
}

// TestRateLimitPenalty: requests refused before forwarding spend the
// penalty (1 unit by default), so once probing has spent the budget, a
// valid request is refused too.
func TestRateLimitPenalty(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startGateway(t, set, gatewayConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 3}
`, ""))

	t.Run("graphql validation errors", func(t *testing.T) {
		const ip = "10.7.0.1"
		set.ResetAll()
		for left := 2; left >= 0; left-- {
			rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, qInvalid)
			gatewaytest.WantGQLError(t, rp, http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED")
			gatewaytest.WantLimit(t, rp, "anonymous", 3, left, 0)
		}
		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, qInvalid)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		gatewaytest.WantLimit(t, rp, "anonymous", 3, 0, 1)
		rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		gatewaytest.WantLimit(t, rp, "anonymous", 3, 0, 1)
		rp = restFrom(t, gw, ip)
		gatewaytest.WantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED", nil)
		set.WantUntouched(t)
	})
	t.Run("rest body too large", func(t *testing.T) {
		const ip = "10.7.0.2"
		set.ResetAll()
		big := `{"x":"` + strings.Repeat("a", 70000) + `"}`
		for left := 2; left >= 0; left-- {
			rp := gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/1"), ip, big, nil)
			gatewaytest.WantProblem(t, rp, http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE", nil)
			gatewaytest.WantLimit(t, rp, "anonymous", 3, left, 0)
		}
		rp := gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/1"), ip, big, nil)
		gatewaytest.WantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED", nil)
		gatewaytest.WantLimit(t, rp, "anonymous", 3, 0, 1)
		gatewaytest.WantGQLError(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1), http.StatusTooManyRequests, "RATE_LIMITED")
		set.WantUntouched(t)
	})
}

// TestRateLimitConcurrency: with max_in_flight 1, a client's second request
// while the first waits on a slow upstream is refused with 429
// TOO_MANY_CONCURRENT_REQUESTS on any route; other clients are not, and the
// slot frees when the first request ends.
func TestRateLimitConcurrency(t *testing.T) {
	set := upstreams.StartAll(t)
	slow := upstreamtest.StartHeld(t, `{"slow":true}`)
	gw := startGateway(t, set, gatewayConfig(set, `
tiers:
  anonymous: {rate: 1, per: 1h, burst: 100, max_in_flight: 1}
`, fmt.Sprintf(`  - name: slow
    prefix: /slow
    openapi: specs/rl-orders.yaml
    upstream: {url: %q, timeout: 30s}
    strip_prefix: true
`, slow.URL)))
	// Registered after the gateway's cleanup so it runs first: a failed
	// test must not leave the gateway draining a request that never ends.
	t.Cleanup(slow.Release)
	const ip = "10.8.0.1"

	set.ResetAll()
	first := make(chan gatewaytest.Reply, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, gw.URL("/slow/v1/orders/1"), nil)
		req.Header.Set("X-Forwarded-For", ip)
		rp, err := gatewaytest.Do(&http.Client{Timeout: 30 * time.Second}, req)
		if err != nil {
			rp = gatewaytest.Reply{Status: -1, Body: []byte(err.Error())}
		}
		first <- rp
	}()
	select {
	case <-slow.Arrived:
	case rp := <-first:
		t.Fatalf("first request ended before reaching the slow upstream: %v", rp)
	case <-time.After(20 * time.Second):
		t.Fatal("first request never reached the slow upstream")
	}

	// A concurrency refusal is refused before forwarding: it pays the
	// penalty (1), not its cost (2 for REST, 9 for this query). The slow
	// route's call cost 1 (no default_cost): 99 left.
	rp := restFrom(t, gw, ip)
	gatewaytest.WantProblem(t, rp, http.StatusTooManyRequests, "TOO_MANY_CONCURRENT_REQUESTS", nil)
	if h := gatewaytest.ParseRateLimit(t, rp); h.Tier != "anonymous" || h.R != 98 {
		t.Errorf("after a REST concurrency refusal r=%d, want 98: %v", h.R, rp)
	}
	rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q9)
	gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "TOO_MANY_CONCURRENT_REQUESTS")
	if h := gatewaytest.ParseRateLimit(t, rp); h.Tier != "anonymous" || h.R != 97 {
		t.Errorf("after a GraphQL concurrency refusal r=%d, want 97: %v", h.R, rp)
	}
	set.WantUntouched(t)

	// The cap is per client.
	gatewaytest.WantOK(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), "10.8.0.2", q1))
	set.Products.WantForwarded(t, 1, "product(upc")

	slow.Release()
	rp = <-first
	if rp.Status != http.StatusOK || string(rp.Body) != `{"slow":true}` {
		t.Fatalf("first request: %v", rp)
	}
	gatewaytest.ParseRateLimit(t, rp)
	// Its slot is free again.
	set.ResetAll()
	rp = restFrom(t, gw, ip)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 100, 95, 0)
	set.Orders.WantForwarded(t, 1, "/v1/orders/1")
}

// TestRateLimitAuthFailures: credentials that fail verification spend the
// client IP's own budget (rate_limit.auth_failures); once it is spent that
// IP's further bad attempts get 429 instead of 401, while its anonymous
// budget and valid credentials are untouched.
func TestRateLimitAuthFailures(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startGateway(t, set, gatewayConfig(set, `
auth_failures: {rate: 1, per: 1h, burst: 2}
tiers:
  anonymous: {rate: 1, per: 1h, burst: 10}
  default: {rate: 1, per: 1h, burst: 50}
`, ""))
	const ip = "10.9.0.1"
	bad := map[string]string{"X-API-Key": "guessed-key"}

	for range 2 {
		rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, `{"query":"{ product(upc: \"1\") { upc } }"}`, bad)
		gatewaytest.WantGQLError(t, rp, http.StatusUnauthorized, "UNAUTHENTICATED")
		if rp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate: %v", rp)
		}
	}
	rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), ip, `{"query":"{ product(upc: \"1\") { upc } }"}`, bad)
	gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
	h := gatewaytest.ParseRateLimit(t, rp)
	if h.Q != 2 || h.W != 2*gatewaytest.Hour || h.R != 0 || !gatewaytest.Within(h.RetryAfter, gatewaytest.Hour) {
		t.Errorf("auth failure budget headers %+v, want q=2 w=7200 r=0 Retry-After about 3600: %v", h, rp)
	}
	rp = gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/1"), ip, "", bad)
	gatewaytest.WantProblem(t, rp, http.StatusTooManyRequests, "RATE_LIMITED", nil)
	set.WantUntouched(t)

	// The same IP without credentials spends its anonymous budget, untouched so far.
	rp = gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), ip, q1)
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "anonymous", 10, 9, 0)
	// A valid key is not a failure: it is charged in its own tier.
	rp = gatewaytest.SendFrom(t, http.MethodGet, gw.URL("/api/v1/orders/1"), ip, "", map[string]string{"X-API-Key": partnerKey})
	gatewaytest.WantOK(t, rp)
	gatewaytest.WantLimit(t, rp, "default", 50, 48, 0)
	set.Orders.WantForwarded(t, 1, "/v1/orders/1")
}

// TestRateLimitStoreOutageLoggedOnce: store state changes are "logged
// once, not per request", so a Redis outage under load
// cannot flood the log; the access log has each refused request.
func TestRateLimitStoreOutageLoggedOnce(t *testing.T) {
	rs, _, gw := startOnChildRedis(t, "fail_closed", 100)
	gatewaytest.WantOK(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), "10.11.0.1", q1))
	rs.Kill()
	const n = 20
	for range n {
		gatewaytest.WantGQLError(t, gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), "10.11.0.1", q1), http.StatusServiceUnavailable, "RATE_LIMIT_UNAVAILABLE")
	}
	// Stop the gateway so its log is complete.
	gw.Signal(t, syscall.SIGTERM)
	_ = gw.Wait(t)
	warnings := 0
	for _, line := range strings.Split(gw.Logs(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "unavailable") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("%d WARN lines about the store for %d refused requests, want 1 (the state change):\n%s", warnings, n, gw.Logs())
	}
	access := gw.AccessLog()
	if got := strings.Count(access, `"status":503,`); got != n || strings.Count(access, `"code":"RATE_LIMIT_UNAVAILABLE"`) != n {
		t.Fatalf("access log has %d 503 lines, want one for each of the %d refused requests:\n%s", got, n, access)
	}
}
