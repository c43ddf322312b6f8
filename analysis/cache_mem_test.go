package analysis

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// cacheShapes are documents of each kind the cache holds: valid ones (AST
// and walk measures), invalid ones (errors only), unparsable ones and ones
// refused by the selection count. gen(i) must give distinct documents.
var cacheShapes = []struct {
	name string
	n    int // entries measured: small ones need many to amortise the map's growth
	gen  func(i int) string
}{
	{"valid-1KB-fragments", 300, func(i int) string {
		return strings.Replace(benchQuery, "query Shelf", fmt.Sprintf("query Shelf%d", i), 1)
	}},
	{"valid-wide", 100, func(i int) string {
		return fmt.Sprintf("query W%d {", i) + repeat(150, func(j int) string { return fmt.Sprintf(" a%d: book(id: %d) { id title }", j, j) }) + " }"
	}},
	{"invalid-17KB", 100, func(i int) string {
		return fmt.Sprintf("query I%d {", i) + repeat(700, func(j int) string { return fmt.Sprintf(" unknownField%d_%d", i, j) }) + " }"
	}},
	{"unparsable", 3000, func(i int) string { return fmt.Sprintf("{ book(id: %d) { ", i) + strings.Repeat("title ", 500) }},
	{"selections-refused", 3000, func(i int) string { return fmt.Sprintf("query S%d {", i) + strings.Repeat(" __typename", 100) + " }" }},
}

// heapGrowth is the live heap after f minus before it, both after a
// collection.
func heapGrowth(f func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// TestCacheSizeEstimate holds the cache's size estimate to the memory its
// entries really keep alive, measured with runtime.MemStats: within a
// factor of 2 either way for each kind of entry.
func TestCacheSizeEstimate(t *testing.T) {
	g := books(t)
	for _, sh := range cacheShapes {
		t.Run(sh.name, func(t *testing.T) {
			// Warm up what gqlparser and the runtime allocate once.
			warm := NewAnalyzer(g, CostConfig{ListSize: 10}, WithCacheSize(0))
			for i := range 20 {
				warm.Analyze(Request{Query: sh.gen(-1 - i)}, Limits{}, Access{})
			}
			a := NewAnalyzer(g, CostConfig{ListSize: 10}, WithCacheSize(1<<20), WithCacheBytes(1<<40))
			n := sh.n
			growth := heapGrowth(func() {
				for i := range n {
					a.Analyze(Request{Query: sh.gen(i)}, Limits{}, Access{})
				}
			})
			s := a.Stats()
			runtime.KeepAlive(a)
			if s.Entries != n {
				t.Fatalf("entries = %d, want %d", s.Entries, n)
			}
			ratio := float64(s.Bytes) / float64(growth)
			t.Logf("estimate %d B/entry, measured %d B/entry, ratio %.2f", s.Bytes/int64(n), growth/int64(n), ratio)
			if ratio < 0.5 || ratio > 2 {
				t.Errorf("estimate %d bytes against %d measured: ratio %.2f, want within [0.5, 2]", s.Bytes, growth, ratio)
			}
		})
	}
}

// floodDoc is a distinct ~22 KB document that is invalid against the
// schema (700 unknown fields, under every pre-validation limit).
func floodDoc(i int) string {
	return fmt.Sprintf("query Flood%d {", i) + repeat(700, func(j int) string { return fmt.Sprintf(" unknownField%07d_%04d", i, j) }) + " }"
}

// TestCacheFloodBounded: distinct invalid documents, many times what the
// cache can hold, grow the heap by less than twice the cache's byte bound.
func TestCacheFloodBounded(t *testing.T) {
	const bound = 1 << 20
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10}, WithCacheBytes(bound))
	// About 40 flood documents fill the bound; 200 are five times that,
	// enough to make the cache evict throughout, and keep the test's cost
	// under the race detector (each document has 700 validation errors)
	// within the suite's timeout on a loaded machine.
	growth := heapGrowth(func() {
		for i := range 200 {
			if r := a.Analyze(Request{Query: floodDoc(i)}, Limits{}, Access{}); !hasCode(r, CodeValidationFailed) {
				t.Fatalf("flood document %d: %v", i, codes(r))
			}
		}
	})
	s := a.Stats()
	runtime.KeepAlive(a)
	t.Logf("%d entries, estimate %d B, heap growth %d B", s.Entries, s.Bytes, growth)
	if s.Bytes > bound {
		t.Errorf("cache estimate %d over its bound %d", s.Bytes, bound)
	}
	if growth > 2*bound {
		t.Errorf("heap grew %d bytes, over twice the cache bound %d", growth, bound)
	}
}
