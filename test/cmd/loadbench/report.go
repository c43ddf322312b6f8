package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// report is the median round of every target.
type report struct {
	Duration string `json:"duration"`
	Warmup   string `json:"warmup"`
	Rounds   int    `json:"rounds"`
	Workers  int    `json:"workers"`
	Rows     []row  `json:"targets"`
	// Ratio is the headline: the lower of Portcullis's GraphQL and REST
	// throughput ratios to the bare proxy carrying the same request.
	Ratio        float64 `json:"portcullis_bare_proxy_ratio"`
	GraphQLRatio float64 `json:"graphql_ratio"`
	RESTRatio    float64 `json:"rest_ratio"`
	// Skipped are targets left out of this run, with the reason.
	Skipped []skipped    `json:"skipped,omitempty"`
	Goals   []goalResult `json:"goals"`
}

type skipped struct {
	Target string `json:"target"`
	Reason string `json:"reason"`
}

// goal is a throughput ratio an issue asks of one row ("How it is checked"
// → benchmarks).
type goal struct {
	Issue  int
	Target string
	Min    float64
}

// goals are the end-to-end figures the issues ask for, each as a ratio to
// the bare proxy carrying the same kind of request.
var goals = []goal{
	{Issue: 4, Target: "portcullis graphql", Min: 0.85},
	{Issue: 4, Target: "portcullis graphql (new document each request)", Min: 0.45},
	{Issue: 6, Target: redisTarget, Min: 0.75},
	{Issue: 7, Target: "portcullis rest (validated POST)", Min: 0.80},
	// Against the gateway without them: at most 5% lost to each.
	{Issue: 12, Target: tracingTarget, Min: 0.95},
	{Issue: 12, Target: auditTarget, Min: 0.95},
}

type goalResult struct {
	Issue    int     `json:"issue"`
	Target   string  `json:"target"`
	Goal     float64 `json:"goal"`
	Measured float64 `json:"measured,omitempty"`
	// Status is met, NOT met, or not measured (the target was not in the run).
	Status string `json:"status"`
}

// judge compares each goal with its row's ratio. A goal whose row is absent
// is not measured, which is never reported as met.
func judge(gs []goal, rows []row) []goalResult {
	out := make([]goalResult, 0, len(gs))
	for _, g := range gs {
		r := goalResult{Issue: g.Issue, Target: g.Target, Goal: g.Min, Status: "not measured"}
		if i := slices.IndexFunc(rows, func(x row) bool { return x.Target == g.Target }); i >= 0 {
			r.Measured = rows[i].Ratio
			r.Status = "NOT met"
			if r.Measured >= g.Min {
				r.Status = "met"
			}
		}
		out = append(out, r)
	}
	return out
}

func (g goalResult) line() string {
	if g.Status == "not measured" {
		return fmt.Sprintf("goal %d %s: not measured (goal %.2f) NOT met", g.Issue, g.Target, g.Goal)
	}
	return fmt.Sprintf("goal %d %s: measured %.2f (goal %.2f) %s", g.Issue, g.Target, g.Measured, g.Goal, g.Status)
}

type row struct {
	Target   string  `json:"target"`
	Method   string  `json:"method"`
	URL      string  `json:"url"`
	RPS      float64 `json:"requests_per_second"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Baseline string  `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio_to_baseline,omitempty"`
}

func newReport(o options, targets []target, samples [][]sample) *report {
	rep := &report{Duration: o.duration.String(), Warmup: o.warmup.String(), Rounds: o.rounds, Workers: o.workers}
	byName := map[string]int{}
	for i, t := range targets {
		s := samples[i]
		r := row{
			Target: t.Name, Method: t.Method, URL: t.URL, Baseline: t.Baseline,
			RPS: median(s, sample.rps),
			P50: ms(median(s, func(s sample) float64 { return float64(s.p50) })),
			P99: ms(median(s, func(s sample) float64 { return float64(s.p99) })),
		}
		for _, x := range s {
			r.Requests += x.requests
			r.Errors += x.errors
		}
		byName[t.Name] = len(rep.Rows)
		rep.Rows = append(rep.Rows, r)
	}
	// The ratio is taken per round and then the median: a target and its
	// baseline run back to back, so each round's ratio sees the same load
	// from the machine's other tenants, which a ratio of medians would not.
	for i := range rep.Rows {
		r := &rep.Rows[i]
		j, ok := byName[r.Baseline]
		if !ok {
			continue
		}
		var ratios []float64
		for k, s := range samples[i] {
			if k < len(samples[j]) && samples[j][k].rps() > 0 {
				ratios = append(ratios, s.rps()/samples[j][k].rps())
			}
		}
		r.Ratio = medianOf(ratios)
	}
	ratio := func(name string) float64 {
		if j, ok := byName[name]; ok {
			return rep.Rows[j].Ratio
		}
		return 0
	}
	rep.GraphQLRatio, rep.RESTRatio = ratio("portcullis graphql"), ratio("portcullis rest")
	rep.Ratio = min(rep.GraphQLRatio, rep.RESTRatio)
	rep.Goals = judge(goals, rep.Rows)
	return rep
}

// median of f over the rounds.
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

func ms(ns float64) float64 { return ns / float64(time.Millisecond) }

func (rep *report) totalErrors() int {
	n := 0
	for _, r := range rep.Rows {
		n += r.Errors
	}
	return n
}

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func (rep *report) writeTable(w io.Writer) error {
	width := len("target")
	for _, r := range rep.Rows {
		width = max(width, len(r.Target))
	}
	for _, s := range rep.Skipped {
		width = max(width, len(s.Target))
	}
	fmt.Fprintf(w, "\nmedian of %d rounds, %s each after %s warm-up, %d workers, max throughput\n", rep.Rounds, rep.Duration, rep.Warmup, rep.Workers)
	fmt.Fprintf(w, "(vs bare proxy: median of the per-round ratios to the bare proxy carrying the same kind of request)\n\n")
	fmt.Fprintf(w, "%-*s %12s %9s %9s %7s %14s\n", width, "target", "requests/s", "p50 ms", "p99 ms", "errors", "vs bare proxy")
	for _, r := range rep.Rows {
		ratio := "1.00"
		if r.Baseline != "" {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		fmt.Fprintf(w, "%-*s %12.0f %9.3f %9.3f %7d %14s\n", width, r.Target, r.RPS, r.P50, r.P99, r.Errors, ratio)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "%-*s skipped: %s\n", width, s.Target, s.Reason)
	}
	fmt.Fprintf(w, "\nportcullis/bare-proxy throughput ratio: %.2f (graphql %.2f, rest %.2f; the lower is the headline)\n\n",
		rep.Ratio, rep.GraphQLRatio, rep.RESTRatio)
	for _, g := range rep.Goals {
		if _, err := fmt.Fprintln(w, g.line()); err != nil {
			return err
		}
	}
	return nil
}
