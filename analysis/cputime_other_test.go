//go:build !unix

package analysis

// cpuNanos is not measured here; benchmarks then report 0.
func cpuNanos() int64 { return 0 }
