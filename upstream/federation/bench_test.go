package federation

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/schema"
)

// The benchmark federation is the demo's shape: accounts owns users,
// reviews adds User.reviews, products resolves Review.product's name, so
// the query spans three subgraphs in three sequential fetches.
var benchSubgraphs = []schema.SubgraphSDL{
	{Name: "accounts", SDL: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type User @key(fields: "id") { id: ID! username: String! }
type Query { users(first: Int = 10): [User!]! }`},
	{Name: "reviews", SDL: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type User @key(fields: "id") { id: ID! reviews: [Review!]! }
type Review { body: String! product: Product! }
type Product @key(fields: "upc") { upc: String! }`},
	{Name: "products", SDL: `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Product @key(fields: "upc") { upc: String! name: String! }
type Query { topProducts: [Product!]! }`},
}

const benchQuery = `{ users(first: 2) { username reviews { body product { name } } } }`

// benchAnswers are what each subgraph answers to the plan's fetch.
var benchAnswers = map[string]string{
	"accounts": `{"data":{"users":[{"username":"alice","__typename":"User","id":"1"},{"username":"bob","__typename":"User","id":"2"}]}}`,
	"reviews": `{"data":{"_entities":[{"__typename":"User","reviews":[{"body":"Love it!","product":{"__typename":"Product","upc":"1"}}]},` +
		`{"__typename":"User","reviews":[{"body":"Too expensive.","product":{"__typename":"Product","upc":"2"}}]}]}}`,
	"products": `{"data":{"_entities":[{"__typename":"Product","name":"Table"},{"__typename":"Product","name":"Couch"}]}}`,
}

const benchWant = `{"data":{"users":[{"username":"alice","reviews":[{"body":"Love it!","product":{"name":"Table"}}]},` +
	`{"username":"bob","reviews":[{"body":"Too expensive.","product":{"name":"Couch"}}]}]}}`

// fetchClock sums the time the engine spent in subgraph calls.
type fetchClock struct{ nanos atomic.Int64 }

func (c *fetchClock) PlanCache(bool) {}
func (c *fetchClock) Fetch(_ string, took time.Duration, _ bool) {
	c.nanos.Add(int64(took))
}

func benchEngine(b *testing.B, obs Observer) *Engine {
	b.Helper()
	subs := map[string]Subgraph{}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	for _, s := range benchSubgraphs {
		answer := []byte(benchAnswers[s.Name])
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(answer)
		}))
		b.Cleanup(srv.Close)
		subs[s.Name] = Subgraph{URL: srv.URL, Client: client}
	}
	g, err := schema.Compose(benchSubgraphs)
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Options{Graph: g, Subgraphs: subs, Observer: obs, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	return e
}

// BenchmarkPlanCacheHit is the planning cost of a request whose plan is
// cached: print and hash the normalised operation, look it up (goal:
// at most 5 µs). The normalisation before it is measured on its own.
func BenchmarkPlanCacheHit(b *testing.B) {
	e := benchEngine(b, nil)
	k := e.kits.Get().(*kit)
	req := Request{Query: benchQuery}
	if err := e.normalize(k, req); err != nil {
		b.Fatal(err)
	}
	if _, err := e.planFor(k, ""); err != nil {
		b.Fatal(err)
	}
	b.Run("lookup", func(b *testing.B) {
		if err := e.normalize(k, req); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.planFor(k, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("normalise+lookup", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := e.normalize(k, req); err != nil {
				b.Fatal(err)
			}
			if _, err := e.planFor(k, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	if n, _ := e.CacheStats(); n != 1 {
		b.Fatalf("cache holds %d plans, want 1", n)
	}
}

// BenchmarkFederatedOverhead runs the three-subgraph query against
// subgraphs that answer at once, and reports the engine's own time per
// request beyond the subgraph calls (p50, p99; goal p50 <= 0.5 ms), and
// the request's time against one direct call to one subgraph measured in
// the same loop (what forwarding to one upstream costs at least).
func BenchmarkFederatedOverhead(b *testing.B) {
	clock := &fetchClock{}
	e := benchEngine(b, clock)
	hop := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	one := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchWant)
	}))
	b.Cleanup(one.Close)
	body := `{"query":"` + strings.ReplaceAll(benchQuery, `"`, `\"`) + `"}`
	var buf bytes.Buffer
	var overhead, hops []time.Duration
	var total time.Duration
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		before := clock.nanos.Load()
		start := time.Now()
		if err := e.Execute(context.Background(), Request{Query: benchQuery}, &buf); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		total += took
		overhead = append(overhead, took-time.Duration(clock.nanos.Load()-before))
		hs := time.Now()
		resp, err := hop.Post(one.URL, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		hops = append(hops, time.Since(hs))
	}
	if buf.String() != benchWant {
		b.Fatalf("answer %s\nwant %s", buf.String(), benchWant)
	}
	slices.Sort(overhead)
	slices.Sort(hops)
	n := len(overhead)
	b.ReportMetric(float64(overhead[n/2].Microseconds()), "overhead-p50-µs")
	b.ReportMetric(float64(overhead[min(n-1, n*99/100)].Microseconds()), "overhead-p99-µs")
	b.ReportMetric(float64(total)/float64(n)/float64(hops[n/2]), "x-one-hop-p50")
}
