package analysis

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// rssBytes is the process's resident set size from /proc (Linux), 0 where
// it cannot be read.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// BenchmarkCacheFlood sends 10,000 distinct ~22 KB invalid documents
// through one analyzer with the default cache bound and reports the growth
// of the live heap and of the process's RSS, and their ratio to the cache's
// byte bound (the goal: under 2).
func BenchmarkCacheFlood(b *testing.B) {
	g := books(b)
	for b.Loop() {
		a := NewAnalyzer(g, CostConfig{ListSize: 10})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rss := rssBytes()
		for i := range 10000 {
			a.Analyze(Request{Query: floodDoc(i)}, Limits{}, Access{})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
		b.ReportMetric(heap/(1<<20), "heap-MiB")
		b.ReportMetric(heap/DefaultCacheBytes, "heap/cache-bytes")
		b.ReportMetric(float64(rssBytes()-rss)/(1<<20), "rss-MiB")
		b.ReportMetric(float64(a.Stats().Entries), "entries")
		runtime.KeepAlive(a)
	}
}
