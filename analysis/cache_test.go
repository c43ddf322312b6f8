package analysis

import (
	"fmt"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10}, WithCacheSize(2))
	q := `query($n: Int!) { newestAdditions(limit: $n) { title } }`
	r1 := a.Analyze(Request{Query: q, Variables: map[string]any{"n": 3}}, Limits{}, Access{})
	r2 := a.Analyze(Request{Query: q, Variables: map[string]any{"n": 7}}, Limits{}, Access{})
	if s := a.Stats(); s.Hits != 1 || s.Misses != 1 {
		t.Errorf("stats = %+v", s)
	}
	// Variable-dependent parts are recomputed on a hit.
	if r1.Cost != 3 || r2.Cost != 7 || r2.Arguments(0)["limit"] == r1.Arguments(0)["limit"] {
		t.Errorf("costs %v %v, args %v %v", r1.Cost, r2.Cost, r1.Arguments(0), r2.Arguments(0))
	}
	// Cached errors are re-rendered per access.
	bad := `{ bok { id } }`
	hidden := a.Analyze(Request{Query: bad}, Limits{}, Access{})
	full := a.Analyze(Request{Query: bad}, Limits{}, Access{Introspection: true})
	if hidden.Errors[0].Message == full.Errors[0].Message {
		t.Errorf("cached validation errors not re-rendered: %q", full.Errors[0].Message)
	}
	// Token limits apply to cached documents too (a lower tier limit).
	if r := a.Analyze(Request{Query: bad}, Limits{MaxTokens: 3}, Access{}); !hasCode(r, CodeMaxTokens) {
		t.Errorf("cached document escaped the token limit: %v", codes(r))
	}
	// Bounded: three more documents evict the first ones.
	for i := range 3 {
		a.Analyze(Request{Query: fmt.Sprintf(`{ b%d: book { id } }`, i)}, Limits{}, Access{})
	}
	if s := a.Stats(); s.Entries != 2 {
		t.Errorf("entries = %d, want 2", s.Entries)
	}
}

func TestCacheDisabledAndLargeDocuments(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10}, WithCacheSize(0))
	a.Analyze(Request{Query: `{ book { id } }`}, Limits{}, Access{})
	if s := a.Stats(); s.Entries != 0 {
		t.Errorf("cache disabled but holds %d", s.Entries)
	}
	b := NewAnalyzer(books(t), CostConfig{ListSize: 10}, WithCacheMaxBytes(8))
	if r := b.Analyze(Request{Query: `{ book { id } }`}, Limits{}, Access{}); !r.OK() {
		t.Errorf("large document: %+v", r.Errors)
	}
	if s := b.Stats(); s.Entries != 0 {
		t.Errorf("document over the byte limit cached")
	}
}

// TestConcurrent is for -race: one analyzer, many goroutines, shared cache.
func TestConcurrent(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10}, WithCacheSize(4))
	queries := []string{
		`{ book { title author { name } } }`,
		`query($n: Int!) { newestAdditions(limit: $n) { ...P } } fragment P on Book { title }`,
		`{ bok }`,
		`{ __schema { queryType { name } } }`,
		`{ books { id } }`,
		`{ me { name } }`,
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				q := queries[(g+i)%len(queries)]
				r := a.Analyze(Request{Query: q, Variables: map[string]any{"n": i % 5}}, Limits{}, Access{Introspection: i%2 == 0})
				if r == nil || r.Tokens == 0 {
					t.Errorf("empty report for %q", q)
				}
			}
		})
	}
	wg.Wait()
}
