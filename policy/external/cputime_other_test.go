//go:build !unix

package external

// cpuNanos is unknown off unix: benchmarks then report wall time only.
func cpuNanos() int64 { return 0 }
