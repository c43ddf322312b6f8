package external

import (
	"context"
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
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if r := c.Decide(context.Background(), in); !r.Cached {
			b.Fatal("miss")
		}
	}
}
