package ratelimit

import (
	"context"
	"strings"
	"testing"
)

// TestMinCost: a request estimated at 0 still pays min_cost, so a flood of
// free operations runs out of budget like any other traffic; the penalty is
// never below it.
func TestMinCost(t *testing.T) {
	ctx := context.Background()
	s := Subject{Key: "sub:flooder", Tier: "default"} // burst 5
	t.Run("default 1", func(t *testing.T) {
		l := newLimiter(t, testConfig("memory", "fail_closed", ""), Options{})
		for i := range 5 {
			if d, _ := l.Charge(ctx, s, 0); !d.Allowed || d.Cost != 1 {
				t.Fatalf("charge %d: %+v", i, d)
			}
		}
		if d, _ := l.Charge(ctx, s, 0); d.Allowed {
			t.Fatalf("sixth free request allowed: %+v", d)
		}
	})
	t.Run("configured", func(t *testing.T) {
		cfg := testConfig("memory", "fail_closed", "")
		cfg.MinCost = 2
		l := newLimiter(t, cfg, Options{})
		if l.MinCost() != 2 {
			t.Fatalf("MinCost = %d", l.MinCost())
		}
		for _, want := range []bool{true, true, false} {
			if d, _ := l.Charge(ctx, s, 0); d.Allowed != want || d.Cost != 2 {
				t.Errorf("charge: %+v, want allowed=%v cost 2", d, want)
			}
		}
		// Penalty 1 (default) is raised to min_cost.
		other := Subject{Key: "sub:prober", Tier: "default"}
		if d, _ := l.ChargePenalty(ctx, other); d.Cost != 2 {
			t.Errorf("penalty cost %d, want 2", d.Cost)
		}
		// A cost above the minimum is charged as it is.
		third := Subject{Key: "sub:third", Tier: "default"}
		if d, _ := l.Charge(ctx, third, 3); d.Cost != 3 {
			t.Errorf("cost %d, want 3", d.Cost)
		}
	})
	t.Run("validate", func(t *testing.T) {
		cfg := testConfig("memory", "fail_closed", "")
		cfg.MinCost = -1
		errs := cfg.Validate()
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "min_cost:") {
			t.Errorf("errors %v", errs)
		}
	})
}
