package resilience

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

// End-to-end tests of upstream pools through the gateway binary, with
// several real HTTP endpoints per route that the tests kill, bring back,
// break and slow down.

func rsvBackends(t *testing.T, n int) []*rsvBackend {
	bs := make([]*rsvBackend, n)
	for i := range bs {
		bs[i] = rsvStartBackend(t)
	}
	return bs
}

func sumHits(bs []*rsvBackend) (hits, mutations int64) {
	for _, b := range bs {
		hits += b.hits.Load()
		mutations += b.mutations.Load()
	}
	return hits, mutations
}

// A killed endpoint costs the clients nothing: the attempts that meet it
// are retried elsewhere (queries are idempotent) until it is ejected, one
// dead back end does not make the gateway unready, and traffic returns
// once it is back.
func TestPoolKillOneMidLoad(t *testing.T) {
	bs := rsvBackends(t, 3)
	gw := gatewaytest.Start(t, rsvConfig(t, bs, ", ejection: {base_time: 200ms, max_time: 1s}", "", ""))
	load := rsvStartLoad(gw, 4, rsvQuery)
	t.Cleanup(load.finishOnce)
	load.waitOK(t, 200) // the retry budget is earned by traffic

	dead := bs[1]
	dead.kill()
	load.waitOK(t, 300)
	var shop string
	rsvWait(t, "the dead endpoint listed as ejected in /readyz?verbose", func() bool {
		code, rz := rsvReady(t, gw)
		if code != http.StatusOK {
			t.Fatalf("/readyz %d with one dead upstream endpoint: %+v", code, rz)
		}
		for _, u := range rz.Upstreams {
			for _, e := range u.Endpoints {
				if u.Route == "shop" && e.Address == dead.addr && e.State == "ejected" && e.LastError != "" {
					shop = fmt.Sprintf("%+v", e)
					return true
				}
			}
		}
		return false
	})
	t.Logf("dead endpoint: %s", shop)

	before := dead.hits.Load()
	dead.start() // same port
	rsvWait(t, "traffic back on the revived endpoint", func() bool { return dead.hits.Load() > before+20 })
	load.finish()
	if n := load.failed.Load(); n != 0 {
		t.Fatalf("%d client errors of %d requests, e.g. %v", n, n+load.ok.Load(), load.failures)
	}
}

// A mutation or a POST is sent once, whatever the back end answers; a
// query, a GET and an operation marked x-portcullis-idempotent are retried
// on the other endpoint.
func TestPoolRetriesOnlyIdempotent(t *testing.T) {
	bs := rsvBackends(t, 2)
	gw := gatewaytest.Start(t, rsvConfig(t, bs, "", "", ""))
	for range 60 { // earn the retry budget
		if code, err := rsvQuery(gw); err != nil || code != 200 {
			t.Fatalf("warm-up query: %d %v", code, err)
		}
		if code, err := rsvDo(gw, http.MethodGet, "/api/items", ""); err != nil || code != 200 {
			t.Fatalf("warm-up GET: %d %v", code, err)
		}
	}
	bs[0].status.Store(http.StatusServiceUnavailable)
	for _, b := range bs {
		b.hits.Store(0)
		b.mutations.Store(0)
	}

	tests := []struct {
		name, method, path, body string
		mutation                 bool
	}{
		{"graphql mutation", http.MethodPost, "/graphql", `{"query":"mutation { bump }"}`, true},
		{"rest POST", http.MethodPost, "/api/items", `{}`, true},
		{"graphql query", http.MethodPost, "/graphql", `{"query":"{ item }"}`, false},
		{"rest GET", http.MethodGet, "/api/items", "", false},
		{"rest POST marked x-portcullis-idempotent", http.MethodPost, "/api/items/lookup", `{}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, mutBefore := sumHits(bs)
			failedBefore := bs[0].mutations.Load()
			refused := int64(0)
			for range 4 {
				code, err := rsvDo(gw, tt.method, tt.path, tt.body)
				switch {
				case err != nil:
					t.Fatal(err)
				case code == http.StatusServiceUnavailable && tt.mutation:
					refused++
				case code != http.StatusOK:
					t.Fatalf("status %d", code)
				}
			}
			if !tt.mutation {
				return
			}
			_, mutAfter := sumHits(bs)
			if got := mutAfter - mutBefore; got != 4 {
				t.Fatalf("upstreams saw %d copies of 4 mutations: a mutation was retried", got)
			}
			if sent := bs[0].mutations.Load() - failedBefore; sent == 0 || sent != refused {
				t.Fatalf("%d mutations reached the failing endpoint, %d were answered 503: want the same, and at least one", sent, refused)
			}
		})
	}
}

// With every endpoint failing the breaker opens within the default window
// and then answers 503 at once without calling any back end; readiness
// stays 200 and reports the breaker.
func TestPoolBreakerOpens(t *testing.T) {
	bs := rsvBackends(t, 3)
	gw := gatewaytest.Start(t, rsvConfig(t, bs, "", "", ""))
	for _, b := range bs {
		b.status.Store(http.StatusServiceUnavailable)
	}
	opened := -1
	for i := range 50 {
		before, _ := sumHits(bs)
		code, err := rsvMutation(gw)
		if err != nil || code != http.StatusServiceUnavailable {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
		if after, _ := sumHits(bs); after == before {
			opened = i
			break
		}
	}
	if opened < 0 {
		t.Fatal("the breaker did not open within 50 failures")
	}
	hits, _ := sumHits(bs)
	for range 20 {
		rp := gatewaytest.Send(t, http.MethodPost, gw.URL("/graphql"), nil, `{"query":"mutation { bump }"}`)
		if rp.Status != http.StatusServiceUnavailable || !strings.Contains(string(rp.Body), "UPSTREAM_UNAVAILABLE") {
			t.Fatalf("open breaker answered %d %s", rp.Status, rp.Body)
		}
	}
	if after, _ := sumHits(bs); after != hits {
		t.Fatalf("the open breaker let %d requests through", after-hits)
	}
	code, rz := rsvReady(t, gw)
	if code != http.StatusOK {
		t.Fatalf("/readyz %d while the upstream is down: readiness must not follow upstream health", code)
	}
	var state string
	for _, u := range rz.Upstreams {
		if u.Route == "shop" {
			state = u.Breaker
		}
	}
	if state != "open" {
		t.Fatalf("/readyz?verbose breaker %q, want open", state)
	}
	metrics := gatewaytest.Send(t, http.MethodGet, gw.AdminURL("/metrics"), nil, "").Body
	if !strings.Contains(string(metrics), `portcullis_upstream_breaker_state{route="shop",state="open"} 1`) {
		t.Fatal("metrics do not report the open breaker")
	}
}

// Under a total outage retries cannot multiply the load: with the breaker
// and ejection off, only the retry budget bounds the attempts.
func TestPoolRetryBudgetTotalOutage(t *testing.T) {
	bs := rsvBackends(t, 3)
	gw := gatewaytest.Start(t, rsvConfig(t, bs, ", retry: {attempts: 3}, breaker: {min_requests: -1}, ejection: {consecutive_failures: -1}", "", ""))
	for _, b := range bs {
		b.status.Store(http.StatusServiceUnavailable)
	}
	const n = 300
	load := rsvStartLoad(gw, 4, rsvQuery)
	rsvWait(t, "requests answered", func() bool { return load.failed.Load() >= n })
	load.finish()
	requests := load.failed.Load() + load.ok.Load()
	attempts, _ := sumHits(bs)
	t.Logf("%d requests, %d upstream attempts", requests, attempts)
	if float64(attempts) > 1.2*float64(requests) {
		t.Fatalf("%d upstream attempts for %d requests: over 1.2x", attempts, requests)
	}
	if attempts == requests {
		t.Fatal("no retry at all: the budget is not spent")
	}
}

// least_requests sends less traffic to an endpoint that holds requests
// long; round_robin would give it a third.
func TestPoolLeastRequestsAvoidsSlow(t *testing.T) {
	bs := rsvBackends(t, 3)
	bs[0].delay.Store(int64(500 * time.Millisecond))
	gw := gatewaytest.Start(t, rsvConfig(t, bs, ", balance: least_requests", "", ""))
	load := rsvStartLoad(gw, 8, rsvQuery)
	load.waitOK(t, 600)
	load.finish()
	if load.failed.Load() != 0 {
		t.Fatalf("client errors: %v", load.failures)
	}
	slow, fast1, fast2 := bs[0].hits.Load(), bs[1].hits.Load(), bs[2].hits.Load()
	t.Logf("slow %d, fast %d and %d", slow, fast1, fast2)
	if slow*10 > slow+fast1+fast2 {
		t.Fatalf("the slow endpoint got %d of %d requests: least_requests must move traffic away", slow, slow+fast1+fast2)
	}
}

// A fail_closed gateway whose Redis is unreachable is not ready (every
// request would be refused) and names the store; it is ready again once
// Redis is back, without a request having to fail first.
func TestReadinessFollowsRedisFailClosed(t *testing.T) {
	rc := redistest.StartChild(t)
	bs := rsvBackends(t, 1)
	gw := gatewaytest.Start(t, rsvConfig(t, bs, "", "", fmt.Sprintf(`
rate_limit:
  store: redis
  redis: {address: %q}
  on_store_error: fail_closed
  tiers:
    anonymous: {rate: 100000, per: 1s, burst: 100000}
`, rc.Addr())))
	_ = gw
	rc.Kill()
	rsvWait(t, "/readyz 503 naming the store", func() bool {
		code, rz := rsvReady(t, gw)
		return code == http.StatusServiceUnavailable && strings.Contains(strings.Join(rz.WaitingFor, ","), "rate_limit store")
	})
	rc.Start()
	rsvWait(t, "/readyz 200 after Redis returned", func() bool {
		code, _ := rsvReady(t, gw)
		return code == http.StatusOK
	})
	if code, err := rsvQuery(gw); err != nil || code != http.StatusOK {
		t.Fatalf("query after Redis returned: %d %v", code, err)
	}
}

// An identity provider unreachable at start keeps the gateway unready
// until its keys load.
func TestReadinessWaitsForIdPKeys(t *testing.T) {
	idp := oidctest.NewIssuer(t)
	idp.SetDown(true)
	bs := rsvBackends(t, 1)
	gw := gatewaytest.StartListening(t, rsvConfig(t, bs, "", fmt.Sprintf("  anonymous: true\n  oidc:\n    - {issuer: %q, audiences: [shop-api]}\n", idp.URL()), ""))
	rsvWait(t, "/readyz 503 waiting for the identity providers", func() bool {
		code, rz := rsvReady(t, gw)
		return code == http.StatusServiceUnavailable && strings.Contains(strings.Join(rz.WaitingFor, ","), "identity providers")
	})
	idp.SetDown(false)
	rsvWait(t, "/readyz 200 once the keys loaded", func() bool {
		code, _ := rsvReady(t, gw)
		return code == http.StatusOK
	})
	if idp.JWKSHits() == 0 {
		t.Fatal("ready without fetching the JWKS")
	}
}
