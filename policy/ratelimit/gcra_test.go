package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
)

type step struct {
	name    string
	advance time.Duration
	cost    int
	refund  int // when > 0, refund instead of charging
	want    Decision
}

type sequence struct {
	name  string
	tier  Tier
	steps []step
}

// sequences are exact GCRA traces shared by the memory and Redis store tests.
var sequences = []sequence{
	{
		name: "rate 10/s burst 20",
		tier: Tier{Rate: 10, Per: time.Second, Burst: 20},
		steps: []step{
			{name: "first charge", cost: 5, want: Decision{Allowed: true, Cost: 5, Limit: 20, Remaining: 15, ResetAfter: 500 * time.Millisecond}},
			{name: "drain to zero", cost: 15, want: Decision{Allowed: true, Cost: 15, Limit: 20, Remaining: 0, ResetAfter: 2 * time.Second}},
			{name: "empty bucket refuses", cost: 1, want: Decision{Cost: 1, Limit: 20, ResetAfter: 2 * time.Second, RetryAfter: 100 * time.Millisecond}},
			{name: "refill 1.5 units", advance: 150 * time.Millisecond, cost: 1, want: Decision{Allowed: true, Cost: 1, Limit: 20, Remaining: 0, ResetAfter: 1950 * time.Millisecond}},
			{name: "above burst", cost: 21, want: Decision{TooExpensive: true, Cost: 21, Limit: 20, Remaining: 0, ResetAfter: 1950 * time.Millisecond}},
			{name: "above burst spent nothing", cost: 1, want: Decision{Cost: 1, Limit: 20, ResetAfter: 1950 * time.Millisecond, RetryAfter: 50 * time.Millisecond}},
			{name: "full again", advance: 1950 * time.Millisecond, cost: 0, want: Decision{Allowed: true, Cost: 0, Limit: 20, Remaining: 20}},
			{name: "whole burst at once", cost: 20, want: Decision{Allowed: true, Cost: 20, Limit: 20, Remaining: 0, ResetAfter: 2 * time.Second}},
			{name: "refund five", refund: 5},
			{name: "refund shows", cost: 0, want: Decision{Allowed: true, Limit: 20, Remaining: 5, ResetAfter: 1500 * time.Millisecond}},
			{name: "refund never above burst", refund: 1000},
			{name: "full after big refund", cost: 0, want: Decision{Allowed: true, Limit: 20, Remaining: 20}},
			{name: "long idle", advance: time.Hour, cost: 3, want: Decision{Allowed: true, Cost: 3, Limit: 20, Remaining: 17, ResetAfter: 300 * time.Millisecond}},
		},
	},
	{
		name: "rate 3/s burst 4, inexact interval",
		tier: Tier{Rate: 3, Per: time.Second, Burst: 4},
		steps: []step{
			{name: "burst", cost: 4, want: Decision{Allowed: true, Cost: 4, Limit: 4, ResetAfter: 1333334 * time.Microsecond}},
			{name: "refused", cost: 1, want: Decision{Cost: 1, Limit: 4, ResetAfter: 1333334 * time.Microsecond, RetryAfter: 333334 * time.Microsecond}},
			{name: "one µs early", advance: 333333 * time.Microsecond, cost: 1, want: Decision{Cost: 1, Limit: 4, ResetAfter: 1000001 * time.Microsecond, RetryAfter: 1 * time.Microsecond}},
			{name: "exactly at retry", advance: time.Microsecond, cost: 1, want: Decision{Allowed: true, Cost: 1, Limit: 4, ResetAfter: 1333333 * time.Microsecond}},
			{name: "three units after a second", advance: time.Second, cost: 0, want: Decision{Allowed: true, Limit: 4, Remaining: 3, ResetAfter: 333333 * time.Microsecond}},
		},
	},
	{
		name: "rate 1/h burst 2",
		tier: Tier{Rate: 1, Per: time.Hour, Burst: 2},
		steps: []step{
			{name: "one", cost: 1, want: Decision{Allowed: true, Cost: 1, Limit: 2, Remaining: 1, ResetAfter: time.Hour}},
			{name: "two", cost: 1, want: Decision{Allowed: true, Cost: 1, Limit: 2, Remaining: 0, ResetAfter: 2 * time.Hour}},
			{name: "three refused", advance: 59 * time.Minute, cost: 1, want: Decision{Cost: 1, Limit: 2, Remaining: 0, ResetAfter: 61 * time.Minute, RetryAfter: time.Minute}},
			{name: "above burst", cost: 3, want: Decision{TooExpensive: true, Cost: 3, Limit: 2, Remaining: 0, ResetAfter: 61 * time.Minute}},
		},
	},
}

func runSequence(t *testing.T, st Store, clock *fakeclock.Clock, seq sequence, key string) {
	t.Helper()
	ctx := context.Background()
	for _, s := range seq.steps {
		clock.Advance(s.advance)
		if s.refund > 0 {
			if err := st.Refund(ctx, key, seq.tier, s.refund); err != nil {
				t.Fatalf("%s: refund: %v", s.name, err)
			}
			continue
		}
		got, err := st.Allow(ctx, key, seq.tier, s.cost)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s:\n got %+v\nwant %+v", s.name, got, s.want)
		}
	}
}

func TestMemoryStoreSequences(t *testing.T) {
	for _, seq := range sequences {
		t.Run(seq.name, func(t *testing.T) {
			clock := fakeclock.New(epoch)
			st := NewMemoryStore(MemoryOptions{Now: clock.Now, SweepInterval: -1})
			defer st.Close()
			runSequence(t, st, clock, seq, "k")
		})
	}
}

func TestStoreRefusesBadInput(t *testing.T) {
	st := NewMemoryStore(MemoryOptions{SweepInterval: -1})
	defer st.Close()
	ctx := context.Background()
	good := Tier{Rate: 1, Per: time.Second, Burst: 5}
	tests := []struct {
		name  string
		tier  Tier
		cost  int
		units int
	}{
		{"negative cost", good, -5, 0},
		{"negative refund", good, 0, -5},
		{"zero rate", Tier{Per: time.Second, Burst: 1}, 1, 1},
		{"sub-µs per", Tier{Rate: 1, Per: time.Nanosecond, Burst: 1}, 1, 1},
		{"zero burst", Tier{Rate: 1, Per: time.Second}, 1, 1},
		{"burst × per past 2^52", Tier{Rate: 1, Per: 24 * time.Hour, Burst: 1 << 20}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cost != 0 {
				if _, err := st.Allow(ctx, "k", tt.tier, tt.cost); err == nil {
					t.Error("Allow accepted it")
				}
			}
			if tt.units != 0 {
				if err := st.Refund(ctx, "k", tt.tier, tt.units); err == nil {
					t.Error("Refund accepted it")
				}
			}
		})
	}
	d, err := st.Allow(ctx, "k", good, 0)
	if err != nil || d.Remaining != 5 {
		t.Errorf("bad input changed the bucket: %+v %v", d, err)
	}
}

func TestHeaders(t *testing.T) {
	policies := []struct {
		name string
		tier Tier
		want string
	}{
		{"default", Tier{Rate: 500, Per: time.Second, Burst: 2000}, `"default";q=2000;w=4`},
		{"anonymous", Tier{Rate: 50, Per: time.Second, Burst: 200}, `"anonymous";q=200;w=4`},
		{"odd", Tier{Rate: 3, Per: time.Second, Burst: 4}, `"odd";q=4;w=2`},
		{"slow", Tier{Rate: 1, Per: time.Minute, Burst: 10}, `"slow";q=10;w=600`},
		{"sub-second", Tier{Rate: 1000, Per: time.Second, Burst: 1}, `"sub-second";q=1;w=1`},
	}
	for _, tt := range policies {
		t.Run("policy "+tt.name, func(t *testing.T) {
			if got := PolicyHeader(tt.name, tt.tier); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	decisions := []struct {
		name      string
		d         Decision
		want      string
		retry     string
		wantRetry bool
	}{
		{"allowed", Decision{Allowed: true, Tier: "default", Remaining: 15, ResetAfter: 500 * time.Millisecond}, `"default";r=15;t=1`, "", false},
		{"full", Decision{Allowed: true, Tier: "default", Remaining: 20}, `"default";r=20;t=0`, "", false},
		{"exact seconds", Decision{Allowed: true, Tier: "default", ResetAfter: 2 * time.Second}, `"default";r=0;t=2`, "", false},
		{"refused", Decision{Tier: "partner", ResetAfter: 1950 * time.Millisecond, RetryAfter: 50 * time.Millisecond}, `"partner";r=0;t=2`, "1", true},
		{"refused long", Decision{Tier: "partner", ResetAfter: 61 * time.Minute, RetryAfter: time.Minute + time.Microsecond}, `"partner";r=0;t=3660`, "61", true},
		{"too expensive", Decision{Tier: "partner", TooExpensive: true, Remaining: 3, ResetAfter: time.Second}, `"partner";r=3;t=1`, "", false},
	}
	for _, tt := range decisions {
		t.Run("decision "+tt.name, func(t *testing.T) {
			if got := tt.d.Header(); got != tt.want {
				t.Errorf("RateLimit = %s, want %s", got, tt.want)
			}
			retry, ok := tt.d.RetryAfterHeader()
			if retry != tt.retry || ok != tt.wantRetry {
				t.Errorf("Retry-After = %q, %v; want %q, %v", retry, ok, tt.retry, tt.wantRetry)
			}
		})
	}
}
