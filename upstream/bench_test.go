package upstream

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the proxy and not a recorder.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// BenchmarkForward compares Forward with a bare httputil.ReverseProxy to the
// same upstream, so the cost of our rewriting shows as the difference.
func BenchmarkForward(b *testing.B) {
	reply := bytes.Repeat([]byte(`{"data":{"me":{"id":"1"}}}`), 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(reply)
	}))
	b.Cleanup(srv.Close)
	body := []byte(`{"query":"{ me { id } }"}`)

	newIn := func() *http.Request {
		in := httptest.NewRequest(http.MethodPost, "http://gw.example/graphql", bytes.NewReader(body))
		in.Header.Set("Content-Type", "application/json")
		in.Header.Set("X-Forwarded-For", "6.6.6.6")
		return in
	}
	run := func(b *testing.B, serve func(w http.ResponseWriter, in *http.Request)) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			in := newIn()
			w := &discard{h: http.Header{}}
			for pb.Next() {
				clear(w.h)
				serve(w, in)
				if w.code != http.StatusOK {
					b.Errorf("status %d", w.code)
					return
				}
			}
		})
	}

	b.Run("portcullis", func(b *testing.B) {
		p := mustNew(b, Config{URL: srv.URL + "/graphql"})
		out := Outbound{Body: body, ClientIP: "203.0.113.9", Header: http.Header{"X-Request-Id": {"r1"}}, StripHeaders: []string{"X-User-Id"}}
		run(b, func(w http.ResponseWriter, in *http.Request) { p.Forward(w, in, out) })
	})
	b.Run("bare", func(b *testing.B) {
		target, _ := url.Parse(srv.URL)
		rp := &httputil.ReverseProxy{
			Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
			Transport: &http.Transport{MaxIdleConnsPerHost: DefaultMaxIdleConns},
		}
		run(b, func(w http.ResponseWriter, in *http.Request) {
			// The bare proxy streams the inbound body, so it needs a fresh one.
			in.Body, in.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			rp.ServeHTTP(w, in)
		})
	})
}

// BenchmarkPool compares a 3-endpoint pool (round_robin and
// least_requests) with a single upstream, each endpoint a real HTTP server,
// and prints the throughput ratios measured in this run (goal: no loss).
func BenchmarkPool(b *testing.B) {
	reply := []byte(`{"data":{"me":{"id":"1"}}}`)
	newSrv := func() *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(reply)
		}))
		b.Cleanup(srv.Close)
		return srv
	}
	srvs := []*httptest.Server{newSrv(), newSrv(), newSrv()}
	body := []byte(`{"query":"{ me { id } }"}`)
	out := Outbound{Body: body, ClientIP: "203.0.113.9", Idempotent: true}
	perOp := map[string]time.Duration{}
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"single", Config{URL: srvs[0].URL + "/graphql"}},
		{"pool3-round_robin", Config{URLs: []string{srvs[0].URL + "/graphql", srvs[1].URL + "/graphql", srvs[2].URL + "/graphql"}}},
		{"pool3-least_requests", Config{URLs: []string{srvs[0].URL + "/graphql", srvs[1].URL + "/graphql", srvs[2].URL + "/graphql"}, Balance: BalanceLeastRequests}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := mustNew(b, bc.cfg)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				in := httptest.NewRequest(http.MethodPost, "http://gw.example/graphql", bytes.NewReader(body))
				w := &discard{h: http.Header{}}
				for pb.Next() {
					clear(w.h)
					p.Forward(w, in, out)
					if w.code != http.StatusOK {
						b.Errorf("status %d", w.code)
						return
					}
				}
			})
			perOp[bc.name] = b.Elapsed() / time.Duration(b.N)
		})
	}
	if base := perOp["single"]; base > 0 {
		for _, name := range []string{"pool3-round_robin", "pool3-least_requests"} {
			if d := perOp[name]; d > 0 {
				fmt.Printf("BenchmarkPool: %s throughput = %.2f x single\n", name, float64(base)/float64(d))
			}
		}
	}
}

// BenchmarkPoolOverhead is what the pool adds to each request before and
// after the exchange: the breaker's admission and outcome, the retry
// budget's deposit, the balancer's pick and the endpoint's outcome.
func BenchmarkPoolOverhead(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"single", Config{URL: "http://a:1"}},
		{"pool3-round_robin", Config{URLs: []string{"http://a:1", "http://b:1", "http://c:1"}}},
		{"pool3-least_requests", Config{URLs: []string{"http://a:1", "http://b:1", "http://c:1"}, Balance: BalanceLeastRequests}},
		{"pool3-breaker-off", Config{URLs: []string{"http://a:1", "http://b:1", "http://c:1"}, Breaker: BreakerConfig{MinRequests: -1}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := NewPool(bc.cfg, PoolOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.Close)
			req := httptest.NewRequest(http.MethodGet, "http://a:1/", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					gen, _ := p.breaker.allow()
					p.budget.deposit()
					ep := p.pick(nil)
					ep.inflight.Add(1)
					p.outcome(req, ep, gen, http.StatusOK, nil)
					ep.inflight.Add(-1)
				}
			})
		})
	}
}
