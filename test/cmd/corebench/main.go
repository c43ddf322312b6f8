// Command corebench is the figure of record of `make bench`: per-core
// efficiency with every check on, against a bare httputil.ReverseProxy
// measured in the same run.
//
// Each proxy under test runs in a process of its own with GOMAXPROCS=1,
// pinned by taskset(1) to one core (the gateway core) and loaded alone: while
// one is measured the others are idle. wrk (one thread, 16 connections by
// default), the upstream, the token issuer and corebench itself share the
// other core (the load core). Every workload is measured against the bare
// proxy and Portcullis back to back, in rounds whose order alternates; the
// ratio is taken per round and the median printed, with p99 latencies and
// the goals beside each figure. Allocations per request of the whole
// request path (in-process, gateway handler versus the bare proxy's) are
// measured first and printed with the table.
//
// The machine may be shared: absolute figures drift from run to run, only
// ratios taken within one run mean something.
//
// Usage:
//
//	corebench [-duration 4s] [-warmup 1s] [-rounds 3] [-connections 16] [-only small,large] [-cpuprofile DIR]
//
// corebench also runs its own children: `corebench serve-gateway -c FILE`
// (the gateway exactly as `portcullis serve` builds it, optionally writing
// a CPU profile) and `corebench serve-bare -listen ADDR -upstream URL`.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "serve-gateway":
			return serveGateway(args[1:], stdout, stderr)
		case "serve-bare":
			return serveBare(args[1:], stderr)
		}
	}
	code, err := run(args, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "corebench: %v\n", err)
	}
	return code
}
