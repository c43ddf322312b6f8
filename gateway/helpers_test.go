package gateway

import (
	"bufio"
	"io"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// waitFor polls cond until it holds; the bound is generous because the
// machines are shared, and it is a hang guard, not a timing assertion.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 15s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testutilCounter sums a counter family in the gateway's registry.
func testutilCounter(t *testing.T, g *Gateway, name string) float64 {
	t.Helper()
	mfs, err := g.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += counterValue(m)
		}
	}
	return sum
}

func counterValue(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return 0
}
