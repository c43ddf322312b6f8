package external

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkDecideWarmCache is the cost per request of the external hook
// when the decision is cached: encoding the input (the cache key) and the
// lookup. The decision point here answers once; every timed call is a hit.
func BenchmarkDecideWarmCache(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"result":{"allow":true}}`))
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, CacheTTL: time.Hour}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	in := graphqlInput("Query.me", "User.name", "User.email", "User.orders", "Order.id", "Order.total")
	in.Identity.Claims = map[string]any{"sub": "alice", "plan": "gold", "email_verified": true}
	in.Headers = map[string]string{"x-tenant": "acme"}
	if r := c.Decide(context.Background(), in); r.Err != nil {
		b.Fatal(r.Err)
	}
	// The baseline, measured in the same run: encoding the same input with
	// encoding/json, which the hook would otherwise do per request.
	const baselineRuns = 2000
	cpu0 := cpuNanos()
	for i := 0; i < baselineRuns; i++ {
		_, _ = json.Marshal(struct {
			Input *Input `json:"input"`
		}{in})
	}
	baseline := float64(cpuNanos()-cpu0) / baselineRuns
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 = cpuNanos()
	for b.Loop() {
		if r := c.Decide(context.Background(), in); !r.Cached {
			b.Fatal("miss")
		}
	}
	b.StopTimer()
	if cpu := float64(cpuNanos()-cpu0) / float64(b.N); cpu > 0 && baseline > 0 {
		// CPU time, not wall time: on a shared machine the wall time is
		// mostly waiting for a core.
		b.ReportMetric(cpu, "cpu-ns/op")
		b.ReportMetric(cpu/baseline, "x-json.Marshal")
	}
}
