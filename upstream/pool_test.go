package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a real HTTP endpoint whose answer a test can change.
type backend struct {
	srv    *httptest.Server
	hits   atomic.Int64
	status atomic.Int64  // 0: 200
	hold   chan struct{} // when set, requests wait on it
	mu     sync.Mutex
	paths  []string
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if s := b.status.Load(); s != 0 {
				w.WriteHeader(int(s))
			}
			return
		}
		b.hits.Add(1)
		b.mu.Lock()
		b.paths = append(b.paths, r.Method+" "+r.URL.RequestURI())
		hold := b.hold
		b.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		if s := b.status.Load(); s != 0 {
			w.WriteHeader(int(s))
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *backend) setHold(c chan struct{}) {
	b.mu.Lock()
	b.hold = c
	b.mu.Unlock()
}

// clock is a settable time source for ejection and the breaker.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 0)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestPool(t *testing.T, cfg Config, now func() time.Time) *Proxy {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	p, err := NewWithOptions(cfg, PoolOptions{Now: now})
	if err != nil {
		t.Fatalf("NewWithOptions: %v", err)
	}
	t.Cleanup(p.CloseIdleConnections)
	return p
}

// send forwards one request and returns the status the client got.
func send(p *Proxy, method string, idempotent bool) int {
	in := httptest.NewRequest(method, "http://gw.example/x", strings.NewReader("body"))
	w := httptest.NewRecorder()
	p.Forward(w, in, Outbound{Path: "/x", Body: []byte("body"), Idempotent: idempotent})
	return w.Code
}

func urlsOf(bs ...*backend) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.srv.URL)
	}
	return out
}

func TestRoundRobinSpreadsEvenly(t *testing.T) {
	a, b, c := newBackend(t), newBackend(t), newBackend(t)
	p := newTestPool(t, Config{URLs: urlsOf(a, b, c)}, nil)
	for range 30 {
		if code := send(p, http.MethodPost, false); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	for i, be := range []*backend{a, b, c} {
		if got := be.hits.Load(); got != 10 {
			t.Errorf("endpoint %d got %d of 30 requests, want 10", i, got)
		}
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		idempotent bool
		first      string // what the first endpoint does: "refuse" | "503" | "502" | "500"
		wantCode   int
		wantFirst  int64 // requests the first endpoint saw
		wantSecond int64
	}{
		{"connect failure, mutation: retried (nothing was sent)", http.MethodPost, false, "refuse", 200, 0, 1},
		{"connect failure, query: retried", http.MethodPost, true, "refuse", 200, 0, 1},
		{"503, idempotent: retried on the other endpoint", http.MethodGet, true, "503", 200, 1, 1},
		{"502, idempotent: retried", http.MethodGet, true, "502", 200, 1, 1},
		{"503, mutation: never retried", http.MethodPost, false, "503", 503, 1, 0},
		{"500, idempotent: an answer, not retried", http.MethodGet, true, "500", 500, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, second := newBackend(t), newBackend(t)
			urls := urlsOf(first, second)
			switch tt.first {
			case "refuse":
				urls[0] = "http://" + closedAddr(t)
			case "503":
				first.status.Store(503)
			case "502":
				first.status.Store(502)
			case "500":
				first.status.Store(500)
			}
			p := newTestPool(t, Config{URLs: urls}, nil)
			p.pool.budget.balance.Store(maxBanked) // a warmed-up budget
			if code := send(p, tt.method, tt.idempotent); code != tt.wantCode {
				t.Fatalf("status %d, want %d", code, tt.wantCode)
			}
			if f, s := first.hits.Load(), second.hits.Load(); f != tt.wantFirst || s != tt.wantSecond {
				t.Fatalf("endpoints saw %d and %d requests, want %d and %d", f, s, tt.wantFirst, tt.wantSecond)
			}
		})
	}
}

func TestRetryReplaysBody(t *testing.T) {
	first, second := newBackend(t), newBackend(t)
	first.status.Store(503)
	var got string
	second.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
	})
	p := newTestPool(t, Config{URLs: urlsOf(first, second)}, nil)
	p.pool.budget.balance.Store(maxBanked)
	if code := send(p, http.MethodGet, true); code != 200 || got != "body" {
		t.Fatalf("status %d, retried body %q; want 200 and the same body", code, got)
	}
}

func TestRetryBudgetBoundsAttempts(t *testing.T) {
	bs := []*backend{newBackend(t), newBackend(t), newBackend(t)}
	for _, b := range bs {
		b.status.Store(503)
	}
	// Breaker and ejection off: only the budget stands between a total
	// outage and 3 attempts per request.
	p := newTestPool(t, Config{URLs: urlsOf(bs...), Retry: RetryConfig{Attempts: 3},
		Breaker: BreakerConfig{MinRequests: -1}, Ejection: EjectionConfig{ConsecutiveFailures: -1}}, nil)
	const n = 500
	for range n {
		if code := send(p, http.MethodGet, true); code != 503 {
			t.Fatalf("status %d, want 503", code)
		}
	}
	var attempts int64
	for _, b := range bs {
		attempts += b.hits.Load()
	}
	if attempts > n*12/10 {
		t.Fatalf("%d attempts for %d requests: retries exceed the 20%% budget", attempts, n)
	}
	if attempts <= n {
		t.Fatalf("%d attempts for %d requests: the budget allowed no retry at all", attempts, n)
	}
	if st := p.pool.Status(); st.Retries != uint64(attempts-n) || st.RetriesDenied == 0 {
		t.Fatalf("status counts %d retries (%d denied), upstreams saw %d", st.Retries, st.RetriesDenied, attempts-n)
	}
}

func TestNoRetriesWhenBudgetNegative(t *testing.T) {
	a, b := newBackend(t), newBackend(t)
	a.status.Store(503)
	b.status.Store(503)
	p := newTestPool(t, Config{URLs: urlsOf(a, b), Retry: RetryConfig{Budget: -1}}, nil)
	for range 20 {
		send(p, http.MethodGet, true)
	}
	if got := a.hits.Load() + b.hits.Load(); got != 20 {
		t.Fatalf("%d attempts for 20 requests with retries off", got)
	}
}

func TestPassiveEjection(t *testing.T) {
	clk := newClock()
	good, bad := newBackend(t), newBackend(t)
	bad.status.Store(500)
	p := newTestPool(t, Config{URLs: urlsOf(good, bad), Breaker: BreakerConfig{MinRequests: -1},
		Ejection: EjectionConfig{ConsecutiveFailures: 3, BaseTime: 10 * time.Second}}, clk.now)
	for range 6 { // round robin: 3 each, the third failure ejects
		send(p, http.MethodPost, false)
	}
	if got := bad.hits.Load(); got != 3 {
		t.Fatalf("bad endpoint saw %d requests before ejection, want 3", got)
	}
	st := p.pool.Status().Endpoints[1]
	if st.State != StateEjected || st.Ejections != 1 || st.LastError != "HTTP 500" {
		t.Fatalf("bad endpoint status %+v, want ejected once with last error HTTP 500", st)
	}
	for range 10 {
		if code := send(p, http.MethodPost, false); code != 200 {
			t.Fatalf("status %d while the bad endpoint is ejected", code)
		}
	}
	if got := bad.hits.Load(); got != 3 {
		t.Fatalf("ejected endpoint got traffic: %d requests", got)
	}
	// Back after base_time: it gets traffic again, and failing again
	// ejects it for twice as long.
	clk.advance(10 * time.Second)
	for range 6 {
		send(p, http.MethodPost, false)
	}
	if got := bad.hits.Load(); got != 6 {
		t.Fatalf("endpoint back from ejection saw %d requests in all, want 6", got)
	}
	st = p.pool.Status().Endpoints[1]
	if st.State != StateEjected || st.EjectedUntil == nil || !st.EjectedUntil.Equal(clk.now().Add(20*time.Second).UTC()) {
		t.Fatalf("second ejection %+v, want ejected for 20s from now", st)
	}
	// Recovered: traffic returns once the ejection ends.
	bad.status.Store(0)
	clk.advance(20 * time.Second)
	for range 4 {
		send(p, http.MethodPost, false)
	}
	if got := bad.hits.Load(); got != 8 {
		t.Fatalf("recovered endpoint saw %d requests in all, want 8", got)
	}
}

func TestAllEjectedSendsToAll(t *testing.T) {
	clk := newClock()
	a, b := newBackend(t), newBackend(t)
	a.status.Store(500)
	b.status.Store(500)
	p := newTestPool(t, Config{URLs: urlsOf(a, b), Breaker: BreakerConfig{MinRequests: -1},
		Ejection: EjectionConfig{ConsecutiveFailures: 1}}, clk.now)
	for range 10 {
		send(p, http.MethodPost, false)
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 || a.hits.Load()+b.hits.Load() != 10 {
		t.Fatalf("with every endpoint ejected, traffic must go to all: %d and %d", a.hits.Load(), b.hits.Load())
	}
}

func TestBreaker(t *testing.T) {
	clk := newClock()
	be := newBackend(t)
	be.status.Store(503)
	p := newTestPool(t, Config{URL: be.srv.URL, Ejection: EjectionConfig{ConsecutiveFailures: -1}}, clk.now)
	// Defaults: it opens within the first 20 failures, well within 50.
	opened := -1
	for i := range 50 {
		before := be.hits.Load()
		code := send(p, http.MethodPost, false)
		if be.hits.Load() == before {
			if code != 503 {
				t.Fatalf("breaker answer %d, want 503", code)
			}
			opened = i
			break
		}
	}
	if opened < 0 || opened > DefaultBreakerMin {
		t.Fatalf("breaker opened after %d failures, want at most %d", opened, DefaultBreakerMin)
	}
	if st := p.pool.Status(); st.Breaker != BreakerOpen || st.BreakerOpens != 1 {
		t.Fatalf("breaker status %q (%d opens), want open once", st.Breaker, st.BreakerOpens)
	}
	hits := be.hits.Load()
	for range 10 {
		send(p, http.MethodPost, false)
	}
	if be.hits.Load() != hits {
		t.Fatal("the open breaker let requests reach the back end")
	}
	// Half-open after open_for: a failing trial opens it again.
	clk.advance(DefaultBreakerOpenFor)
	if code := send(p, http.MethodPost, false); code != 503 || be.hits.Load() != hits+1 {
		t.Fatalf("half-open trial: status %d, back end saw %d new requests, want 1", code, be.hits.Load()-hits)
	}
	if st := p.pool.Status(); st.Breaker != BreakerOpen {
		t.Fatalf("failed trial left the breaker %q", st.Breaker)
	}
	// Recovered back end: the trials pass and the breaker closes.
	be.status.Store(0)
	clk.advance(DefaultBreakerOpenFor)
	for i := range DefaultBreakerHalfOpen + 5 {
		if code := send(p, http.MethodPost, false); code != 200 {
			t.Fatalf("request %d after recovery: %d", i, code)
		}
	}
	if st := p.pool.Status(); st.Breaker != BreakerClosed {
		t.Fatalf("breaker %q after successful trials, want closed", st.Breaker)
	}
}

func TestBreakerOpenIsUnavailable(t *testing.T) {
	if got := Classify(ErrBreakerOpen); got != KindUnavailable {
		t.Fatalf("Classify(ErrBreakerOpen) = %v", got)
	}
}

func TestLeastRequestsAvoidsSlowEndpoint(t *testing.T) {
	slow, fast := newBackend(t), newBackend(t)
	release := make(chan struct{})
	slow.setHold(release)
	defer close(release)
	p := newTestPool(t, Config{URLs: urlsOf(slow, fast), Balance: BalanceLeastRequests}, nil)
	// Park one request on the slow endpoint: send one at a time until one
	// lands there (those landing on the fast one finish at once).
	var wg sync.WaitGroup
	defer wg.Wait()
	for slow.hits.Load() == 0 {
		seen := slow.hits.Load() + fast.hits.Load()
		wg.Go(func() { send(p, http.MethodPost, false) })
		for slow.hits.Load()+fast.hits.Load() == seen || p.pool.eps[1].inflight.Load() > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	before := fast.hits.Load()
	for range 20 {
		if code := send(p, http.MethodPost, false); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if got := fast.hits.Load() - before; got != 20 {
		t.Fatalf("fast endpoint got %d of 20 requests while the slow one held one", got)
	}
}

func TestPerTryTimeoutRetriesIdempotent(t *testing.T) {
	slow, fast := newBackend(t), newBackend(t)
	release := make(chan struct{})
	defer close(release)
	slow.setHold(release)
	p := newTestPool(t, Config{URLs: urlsOf(slow, fast), Retry: RetryConfig{PerTryTimeout: 50 * time.Millisecond}}, nil)
	p.pool.budget.balance.Store(maxBanked)
	if code := send(p, http.MethodGet, true); code != 200 || fast.hits.Load() != 1 {
		t.Fatalf("idempotent: status %d, fast saw %d; want the slow try abandoned and retried", code, fast.hits.Load())
	}
	// A mutation that timed out may have been acted on: 504, no retry.
	slow2 := newBackend(t)
	slow2.setHold(release)
	q := newTestPool(t, Config{URLs: urlsOf(slow, slow2), Retry: RetryConfig{PerTryTimeout: 50 * time.Millisecond}}, nil)
	q.pool.budget.balance.Store(maxBanked)
	before := slow.hits.Load()
	if code := send(q, http.MethodPost, false); code != 504 || slow.hits.Load()-before+slow2.hits.Load() != 1 {
		t.Fatalf("mutation: status %d, %d attempts; want 504 after one attempt", code, slow.hits.Load()-before+slow2.hits.Load())
	}
}

func TestActiveHealthCheck(t *testing.T) {
	good, sick := newBackend(t), newBackend(t)
	sick.status.Store(503) // its /health fails, as would its traffic
	p := newTestPool(t, Config{URLs: urlsOf(good, sick),
		Health: &HealthConfig{Path: "/health", Interval: 5 * time.Millisecond, UnhealthyAfter: 2, HealthyAfter: 1}}, nil)
	waitState(t, p.pool, 1, StateUnhealthy)
	sick.status.Store(0)
	sick.hits.Store(0)
	waitState(t, p.pool, 1, StateHealthy)
	for range 4 {
		send(p, http.MethodPost, false)
	}
	if sick.hits.Load() == 0 {
		t.Fatal("endpoint healthy again got no traffic")
	}
	sick.status.Store(503)
	waitState(t, p.pool, 1, StateUnhealthy)
	sick.hits.Store(0)
	for range 10 {
		send(p, http.MethodPost, false)
	}
	if got := sick.hits.Load(); got != 0 {
		t.Fatalf("unhealthy endpoint got %d requests", got)
	}
}

// waitState polls the pool's status until endpoint i is in state; it fails
// after a generous bound, never asserting how long it took.
func waitState(t *testing.T, p *Pool, i int, state string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.Status().Endpoints[i].State != state {
		if time.Now().After(deadline) {
			t.Fatalf("endpoint %d never became %s: %+v", i, state, p.Status().Endpoints[i])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestPingEveryEndpoint(t *testing.T) {
	a := newBackend(t)
	dead := closedAddr(t)
	p := newTestPool(t, Config{URLs: []string{a.srv.URL, "http://" + dead}}, nil)
	errs := p.Ping(context.Background())
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), dead) {
		t.Fatalf("Ping = %v, want one error naming %s", errs, dead)
	}
}

func TestPoolValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"url and urls", Config{URL: "http://a", URLs: []string{"http://b"}, Timeout: time.Second}, "urls: set url or urls, not both"},
		{"different paths", Config{URLs: []string{"http://a/x", "http://b/y"}, Timeout: time.Second}, "urls[1]: must have the scheme and path of the first URL"},
		{"different schemes", Config{URLs: []string{"http://a", "https://b"}, Timeout: time.Second}, "urls[1]: must have the scheme and path"},
		{"duplicate", Config{URLs: []string{"http://a:1", "http://a:1"}, Timeout: time.Second}, "urls[1]: a:1 is listed twice"},
		{"bad url in list", Config{URLs: []string{"http://a", "ftp://b"}, Timeout: time.Second}, "urls[1]: must be an absolute http or https URL"},
		{"balance", Config{URL: "http://a", Balance: "random", Timeout: time.Second}, "balance: must be round_robin or least_requests"},
		{"health path", Config{URL: "http://a", Health: &HealthConfig{Path: "health"}, Timeout: time.Second}, "health.path: must be an absolute path"},
		{"health timeout", Config{URL: "http://a", Health: &HealthConfig{Path: "/h", Interval: time.Second, Timeout: 2 * time.Second}, Timeout: time.Second}, "health.timeout: must not exceed"},
		{"breaker ratio", Config{URL: "http://a", Breaker: BreakerConfig{FailureRatio: 2}, Timeout: time.Second}, "breaker.failure_ratio"},
		{"attempts", Config{URL: "http://a", Retry: RetryConfig{Attempts: 9}, Timeout: time.Second}, "retry.attempts: must be between 1 and 5"},
		{"per try timeout", Config{URL: "http://a", Retry: RetryConfig{PerTryTimeout: 2 * time.Second}, Timeout: time.Second}, "retry.per_try_timeout: must not exceed the route's timeout"},
		{"budget", Config{URL: "http://a", Retry: RetryConfig{Budget: 1.5}, Timeout: time.Second}, "retry.budget: must be at most 1"},
		{"ejection times", Config{URL: "http://a", Ejection: EjectionConfig{BaseTime: time.Minute, MaxTime: time.Second}, Timeout: time.Second}, "ejection.max_time: must be >= base_time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := tt.cfg.Validate()
			if err := errs.Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want %q", errs, tt.want)
			}
		})
	}
	if errs := (Config{URLs: []string{"http://a:1/q", "http://b:2/q"}, Timeout: time.Second}).Validate(); len(errs) != 0 {
		t.Fatalf("valid pool refused: %v", errs)
	}
}
