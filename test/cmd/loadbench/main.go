// Command loadbench is the end-to-end half of `make bench`: in one process it
// starts a small upstream, a bare httputil.ReverseProxy in front of it and
// Portcullis in front of it, all on 127.0.0.1, drives each at maximum
// throughput with vegeta, and prints throughput, p50/p99 latency, each
// proxy's ratio to the bare reverse proxy, and whether the throughput goals
// of issues 4, 6 and 7 are met. A second Portcullis, rate limiting through
// Redis at REDIS_URL, is measured when Redis answers.
//
// The machine is shared and small, so targets run interleaved in rounds and
// the median round is reported; absolute numbers mean little, the ratios in
// one run are the point.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.DurationVar(&o.duration, "duration", defaultOptions.duration, "measured load `time` per target per round")
	fs.DurationVar(&o.warmup, "warmup", defaultOptions.warmup, "unmeasured load `time` before each measurement")
	fs.IntVar(&o.rounds, "rounds", defaultOptions.rounds, "interleaved rounds; the median round is reported")
	fs.IntVar(&o.workers, "workers", defaultOptions.workers, "concurrent client workers (connections) per target")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env, err := startEnv(ctx, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 1
	}
	defer env.close()

	targets := env.targets()
	var skips []skipped
	if env.redisSkip != "" {
		fmt.Fprintf(stderr, "loadbench: Redis did not answer, skipping target %q only: %s\n", redisTarget, env.redisSkip)
		skips = append(skips, skipped{Target: redisTarget, Reason: "Redis unavailable: " + env.redisSkip})
	}
	if err := checkTargets(ctx, targets); err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "loadbench: %d targets x %d rounds, %s warm-up + %s each, %d workers\n",
		len(targets), o.rounds, o.warmup, o.duration, o.workers)

	rep, err := measure(ctx, o, targets, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 1
	}
	rep.Skipped = skips
	if err := env.collect.check(); err != nil {
		fmt.Fprintf(stderr, "loadbench: %v\n", err)
		return 1
	}
	if o.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeTable(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadbench: writing report: %v\n", err)
		return 1
	}
	if n := rep.totalErrors(); n > 0 {
		fmt.Fprintf(stderr, "loadbench: %d requests failed\n", n)
		return 1
	}
	return 0
}
