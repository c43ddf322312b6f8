package main

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 0.5, 50 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 0.99, 99 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		rps  []int
		want float64
	}{
		{"one round", []int{100}, 100},
		{"odd rounds ignore the outlier", []int{100, 5, 110}, 100},
		{"even rounds average the middle", []int{100, 120}, 110},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := make([]sample, len(tt.rps))
			for i, n := range tt.rps {
				s[i] = sample{requests: n, elapsed: time.Second}
			}
			if got := median(s, sample.rps); got != tt.want {
				t.Errorf("median = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestReport checks the ratios are taken against the bare proxy carrying the
// same request, the headline is the worse one, and errors are summed.
func TestReport(t *testing.T) {
	targets := []target{
		{Name: "bare-proxy graphql"},
		{Name: "portcullis graphql", Baseline: "bare-proxy graphql"},
		{Name: "bare-proxy rest"},
		{Name: "portcullis rest", Baseline: "bare-proxy rest"},
	}
	one := func(n, errs int) []sample {
		return []sample{{requests: n, errors: errs, elapsed: time.Second, p50: time.Millisecond, p99: 3 * time.Millisecond}}
	}
	rep := newReport(defaultOptions, targets, [][]sample{one(1000, 0), one(950, 0), one(2000, 0), one(1600, 2)})
	if rep.GraphQLRatio != 0.95 || rep.RESTRatio != 0.8 || rep.Ratio != 0.8 {
		t.Errorf("ratios graphql %v rest %v headline %v, want 0.95 0.8 0.8", rep.GraphQLRatio, rep.RESTRatio, rep.Ratio)
	}
	if n := rep.totalErrors(); n != 2 {
		t.Errorf("totalErrors = %d, want 2", n)
	}
	var buf bytes.Buffer
	if err := rep.writeTable(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "portcullis/bare-proxy throughput ratio: 0.80") {
		t.Errorf("table lacks the headline ratio:\n%s", buf.String())
	}
}

// TestReportPairsRounds checks the ratio pairs each round with the same
// round of its baseline: here the machine was three times faster in round
// two, and a ratio of medians would mix the two rounds.
func TestReportPairsRounds(t *testing.T) {
	targets := []target{{Name: "bare-proxy graphql"}, {Name: "portcullis graphql", Baseline: "bare-proxy graphql"}}
	rounds := func(n ...int) []sample {
		s := make([]sample, len(n))
		for i, x := range n {
			s[i] = sample{requests: x, elapsed: time.Second}
		}
		return s
	}
	rep := newReport(defaultOptions, targets, [][]sample{rounds(1000, 3000), rounds(950, 2400)})
	if got, want := rep.Rows[1].Ratio, (0.95+0.8)/2; math.Abs(got-want) > 1e-9 {
		t.Errorf("ratio = %v, want %v", got, want)
	}
}

func TestGoalLines(t *testing.T) {
	gs := []goal{
		{Issue: 4, Target: "fast", Min: 0.85},
		{Issue: 6, Target: "slow", Min: 0.75},
		{Issue: 7, Target: "exact", Min: 0.80},
		{Issue: 6, Target: "absent", Min: 0.75},
	}
	rows := []row{{Target: "fast", Ratio: 0.9}, {Target: "slow", Ratio: 0.5}, {Target: "exact", Ratio: 0.8}}
	want := []string{
		"goal 4 fast: measured 0.90 (goal 0.85) met",
		"goal 6 slow: measured 0.50 (goal 0.75) NOT met",
		"goal 7 exact: measured 0.80 (goal 0.80) met",
		"goal 6 absent: not measured (goal 0.75) NOT met",
	}
	got := judge(gs, rows)
	if len(got) != len(want) {
		t.Fatalf("judge gave %d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		t.Run(gs[i].Target, func(t *testing.T) {
			if l := got[i].line(); l != w {
				t.Errorf("line = %q, want %q", l, w)
			}
		})
	}
}

// TestReportGoalsAndSkips checks the table ends with one line per goal of
// the issues, and a skipped target is named with its reason and its goal
// never counts as met.
func TestReportGoalsAndSkips(t *testing.T) {
	targets := []target{
		{Name: "bare-proxy graphql"},
		{Name: "portcullis graphql", Baseline: "bare-proxy graphql"},
		{Name: "bare-proxy graphql (new document each request)"},
		{Name: "portcullis graphql (new document each request)", Baseline: "bare-proxy graphql (new document each request)"},
		{Name: "bare-proxy rest (POST)"},
		{Name: "portcullis rest (validated POST)", Baseline: "bare-proxy rest (POST)"},
	}
	one := func(n int) []sample { return []sample{{requests: n, elapsed: time.Second}} }
	rep := newReport(defaultOptions, targets, [][]sample{one(1000), one(900), one(1000), one(400), one(1000), one(850)})
	rep.Skipped = []skipped{{Target: redisTarget, Reason: "Redis unavailable: connection refused"}}
	var buf bytes.Buffer
	if err := rep.writeTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"goal 4 portcullis graphql: measured 0.90 (goal 0.85) met\n",
		"goal 4 portcullis graphql (new document each request): measured 0.40 (goal 0.45) NOT met\n",
		"goal 6 portcullis graphql (redis limiter): not measured (goal 0.75) NOT met\n",
		"goal 7 portcullis rest (validated POST): measured 0.85 (goal 0.80) met\n",
		"portcullis graphql (redis limiter)             skipped: Redis unavailable: connection refused\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
