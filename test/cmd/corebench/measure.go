package main

import (
	"context"
	"fmt"
	"time"
)

// sample is one measured wrk run against one target, with the share of a
// core the target used meanwhile.
type sample struct {
	run wrkRun
	cpu float64
	// cpuPerReq is the target's CPU time per answered request: on a
	// shared machine, where the target may wait for its core, the
	// steadiest measure of the work it does.
	cpuPerReq time.Duration
}

// measure runs the rounds: in each, every workload against each of its
// targets back to back (warm-up, then the measured run), the targets'
// order rotating from round to round so none always follows the same
// neighbour.
func (b *bench) measure(ctx context.Context) (*report, error) {
	fmt.Fprintf(b.stderr, "corebench: %d workloads x %d rounds, %s warm-up + %s each, wrk -t1 -c%d\n",
		len(b.workloads), b.o.rounds, b.o.warmup, b.o.duration, b.o.connections)
	samples := make([][][]sample, len(b.workloads))
	for wi, w := range b.workloads {
		samples[wi] = make([][]sample, len(b.targets(w)))
	}
	for round := range b.o.rounds {
		for wi, w := range b.workloads {
			ts := b.targets(w)
			for k := range ts {
				ti := (k + round) % len(ts)
				s, err := b.measureOne(ctx, w, ts[ti])
				if err != nil {
					return nil, err
				}
				samples[wi][ti] = append(samples[wi][ti], s)
				fmt.Fprintf(b.stderr, "  round %d  %-36s %-17s %8.0f req/s  p50 %-8s p99 %-8s cpu %3.0f%% %4.0f us/req  errors %d\n",
					round+1, w.Name, ts[ti].name, s.run.rps(), s.run.p50, s.run.p99, 100*s.cpu, us(s.cpuPerReq), s.run.errors)
			}
		}
	}
	return b.newReport(samples), nil
}

func (b *bench) measureOne(ctx context.Context, w workload, t *child) (sample, error) {
	if b.o.warmup > 0 {
		if _, err := b.load.run(ctx, w, t.url, b.o.warmup); err != nil {
			return sample{}, err
		}
	}
	cpu0, err := t.cpuTime()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", t.name, err)
	}
	start := time.Now()
	r, err := b.load.run(ctx, w, t.url, b.o.duration)
	if err != nil {
		return sample{}, err
	}
	wall := time.Since(start)
	cpu1, err := t.cpuTime()
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w", t.name, err)
	}
	s := sample{run: r, cpu: float64(cpu1-cpu0) / float64(wall)}
	if r.requests > 0 {
		s.cpuPerReq = (cpu1 - cpu0) / time.Duration(r.requests)
	}
	return s, nil
}
