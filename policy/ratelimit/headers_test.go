package ratelimit

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// TestSetHeadersIsHeaders: SetHeaders writes exactly what Headers lists,
// for allowed, refused and auth-failure decisions and an unknown tier, and
// an allowed decision costs two allocations; the shared policy value is
// never written through.
func TestSetHeadersIsHeaders(t *testing.T) {
	l := newLimiter(t, testConfig("memory", "fail_closed", ""), Options{})
	decisions := []Decision{
		{Allowed: true, Tier: "default", Remaining: 15, ResetAfter: 500 * time.Millisecond},
		{Tier: "partner", ResetAfter: 1950 * time.Millisecond, RetryAfter: 50 * time.Millisecond},
		{Tier: "partner", TooExpensive: true, Remaining: 3, ResetAfter: time.Second},
		{Tier: TierAuthFailure, RetryAfter: time.Second},
		{Allowed: true, Tier: "nosuchtier", Remaining: -4},
		{Allowed: true, Tier: `quo"ted`, Remaining: 1 << 40, ResetAfter: 1000 * time.Hour},
	}
	for _, d := range decisions {
		want := http.Header{}
		for _, f := range l.Headers(d) {
			want[f.Name] = []string{f.Value}
		}
		got := http.Header{}
		l.SetHeaders(got, d)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v: SetHeaders %v, Headers %v", d, got, want)
		}
	}
	h := http.Header{}
	d := decisions[0]
	if n := testing.AllocsPerRun(100, func() { l.SetHeaders(h, d) }); n > 2 {
		t.Errorf("SetHeaders allocates %v times", n)
	}
	h["RateLimit-Policy"] = append(h["RateLimit-Policy"], "extra")
	if p := l.tiers["default"].policyValue; len(p) != 1 || p[0] != PolicyHeader("default", l.tiers["default"].tier) {
		t.Errorf("an Add on a response wrote into the shared policy value: %q", p)
	}
}
