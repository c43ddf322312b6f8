package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// report is the run's table: per workload and gateway, medians over the
// rounds, and ratios to the bare proxy taken round by round (a target and
// the bare proxy run back to back, so each round's ratio sees the same
// machine) and then their median.
type report struct {
	o      options
	rows   []row
	allocs []allocRow
	skip   string
	// errors and requests are totals over every measured run.
	errors, requests int
}

type row struct {
	workload, target, describe string
	bareRPS, rps               float64
	ratio, goal                float64
	bareP99, p99               time.Duration
	p99Ratio                   float64
	cpu, bareCPU               float64
	// cpuPerReq and bareCPUPerReq are CPU time per request; cpuRatio is
	// bare/gateway per round, then the median: the throughput ratio at
	// equal CPU, whatever share of its core each got.
	cpuPerReq, bareCPUPerReq time.Duration
	cpuRatio                 float64
	errors                   int
}

func (b *bench) newReport(samples [][][]sample) *report {
	rep := &report{o: b.o, allocs: b.allocs, skip: b.redisSkip}
	for wi, w := range b.workloads {
		ts := b.targets(w)
		bare := samples[wi][0]
		for ti := 1; ti < len(ts); ti++ {
			ss := samples[wi][ti]
			r := row{
				workload: w.Name, target: ts[ti].name, describe: w.describe(), goal: w.Goal,
				bareRPS:       median(bare, func(s sample) float64 { return s.run.rps() }),
				rps:           median(ss, func(s sample) float64 { return s.run.rps() }),
				bareP99:       time.Duration(median(bare, func(s sample) float64 { return float64(s.run.p99) })),
				p99:           time.Duration(median(ss, func(s sample) float64 { return float64(s.run.p99) })),
				cpu:           median(ss, func(s sample) float64 { return s.cpu }),
				bareCPU:       median(bare, func(s sample) float64 { return s.cpu }),
				cpuPerReq:     time.Duration(median(ss, func(s sample) float64 { return float64(s.cpuPerReq) })),
				bareCPUPerReq: time.Duration(median(bare, func(s sample) float64 { return float64(s.cpuPerReq) })),
			}
			if ts[ti] == b.redisGW {
				r.goal = w.RedisGoal
			}
			var ratios, p99s, cpus []float64
			for k := range ss {
				if k < len(bare) && bare[k].run.rps() > 0 && bare[k].run.p99 > 0 {
					ratios = append(ratios, ss[k].run.rps()/bare[k].run.rps())
					p99s = append(p99s, float64(ss[k].run.p99)/float64(bare[k].run.p99))
				}
				if k < len(bare) && ss[k].cpuPerReq > 0 {
					cpus = append(cpus, float64(bare[k].cpuPerReq)/float64(ss[k].cpuPerReq))
				}
			}
			r.ratio, r.p99Ratio, r.cpuRatio = medianOf(ratios), medianOf(p99s), medianOf(cpus)
			for _, s := range ss {
				r.errors += s.run.errors
				rep.requests += s.run.requests
			}
			rep.rows = append(rep.rows, r)
		}
		for _, s := range bare {
			rep.errors += s.run.errors
			rep.requests += s.run.requests
		}
	}
	for _, r := range rep.rows {
		rep.errors += r.errors
	}
	return rep
}

// maxErrorShare is the share of failed requests a run tolerates: on a
// loaded machine a proxy may now and then drop one answer when wrk stops;
// more means a target is refusing or broken, and its figures mean nothing.
const maxErrorShare = 0.001

// failed reports whether more requests failed than the run tolerates.
func (rep *report) failed() bool {
	return float64(rep.errors) > maxErrorShare*float64(rep.requests)
}

func median(s []sample, f func(sample) float64) float64 {
	v := make([]float64, len(s))
	for i, x := range s {
		v[i] = f(x)
	}
	return medianOf(v)
}

// medianOf sorts v; with an even count, the median is the mean of the middle two.
func medianOf(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func (rep *report) write(w io.Writer) {
	o := rep.o
	fmt.Fprintf(w, "\ncorebench: each proxy alone on CPU %d with GOMAXPROCS=1; wrk -t1 -c%d, the upstream and the issuer on CPU %d\n",
		o.gatewayCore, o.connections, o.loadCore)
	fmt.Fprintf(w, "median of %d rounds of %s (after %s warm-up); ratios are per round, then the median: only ratios from one run compare\n\n",
		o.rounds, o.duration, o.warmup)
	name := func(r row) string {
		if r.target == "portcullis" {
			return r.workload
		}
		return r.workload + " (" + strings.TrimPrefix(r.target, "portcullis-") + " store)"
	}
	width := len("workload")
	for _, r := range rep.rows {
		width = max(width, len(name(r)))
	}
	fmt.Fprintf(w, "%-*s %10s %10s %6s %13s %9s %9s %6s %13s %6s %8s %8s %6s %6s\n", width, "workload",
		"bare r/s", "gw r/s", "ratio", "goal", "bare p99", "gw p99", "p99x", "goal", "gw cpu",
		"bare us", "gw us", "cpu x", "errors")
	for _, r := range rep.rows {
		fmt.Fprintf(w, "%-*s %10.0f %10.0f %6.2f %13s %9s %9s %6.2f %13s %5.0f%% %8.0f %8.0f %6.2f %6d\n", width, name(r),
			r.bareRPS, r.rps, r.ratio, fmt.Sprintf(">=%.2f %s", r.goal, verdict(r.ratio >= r.goal)),
			ms(r.bareP99), ms(r.p99), r.p99Ratio, fmt.Sprintf("<=%.1f %s", p99Goal, verdict(r.p99Ratio <= p99Goal)),
			100*r.cpu, us(r.bareCPUPerReq), us(r.cpuPerReq), r.cpuRatio, r.errors)
	}
	if rep.skip != "" {
		fmt.Fprintf(w, "%-*s not measured: %s (goal NOT met)\n", width, "medium query (redis store)", rep.skip)
	}
	fmt.Fprintf(w, "\n(p99 in ms. gw cpu: the share of its core the gateway used; well below 100%% the load side or other tenants of\n"+
		"the machine, not the gateway, set the pace. bare us, gw us: CPU time per request; cpu x = bare us / gw us, per round\n"+
		"then the median, is the throughput ratio at equal CPU, the steadier figure when the machine is shared)\n")
	for _, r := range rep.rows {
		if r.target == "portcullis" {
			fmt.Fprintf(w, "  %-*s %s\n", width, r.workload, r.describe)
		}
	}
	if len(rep.allocs) > 0 {
		fmt.Fprintf(w, "\nallocations per request, in-process (handler.ServeHTTP against the same loopback upstream, %d requests):\n", allocRuns)
		fmt.Fprintf(w, "%-*s %10s %10s %8s %s\n", width, "workload", "bare", "gw", "added", "goal")
		for _, a := range rep.allocs {
			goal := ""
			if a.goal > 0 {
				goal = fmt.Sprintf("<=%.0f %s", a.goal, verdict(a.gw-a.bare <= a.goal))
			}
			fmt.Fprintf(w, "%-*s %10.0f %10.0f %8.0f %s\n", width, a.name, a.bare, a.gw, a.gw-a.bare, goal)
		}
	}
	fmt.Fprintln(w)
}
