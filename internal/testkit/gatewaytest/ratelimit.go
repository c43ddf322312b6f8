package gatewaytest

import (
	"strconv"
	"strings"
	"testing"
)

// Hour is the tier period the rate limit assertions assume: the tests'
// tiers refill one unit per hour, so the counts they see are exact.
const Hour = 3600

// structured parses `"<name>";k=v;k=v` with integer values (the RateLimit
// and RateLimit-Policy syntax of docs/rate-limiting.md).
func structured(v string) (name string, params map[string]int, ok bool) {
	if !strings.HasPrefix(v, `"`) {
		return "", nil, false
	}
	end := strings.Index(v[1:], `"`)
	if end < 0 {
		return "", nil, false
	}
	name, rest := v[1:end+1], v[end+2:]
	params = map[string]int{}
	if rest == "" {
		return name, params, true
	}
	if rest[0] != ';' {
		return "", nil, false
	}
	for _, item := range strings.Split(rest[1:], ";") {
		k, val, found := strings.Cut(item, "=")
		n, err := strconv.Atoi(val)
		if !found || err != nil || n < 0 {
			return "", nil, false
		}
		if _, dup := params[k]; dup {
			return "", nil, false
		}
		params[k] = n
	}
	return name, params, true
}

// RateLimit is the parsed RateLimit-Policy and RateLimit headers of one
// response (the syntax of docs/rate-limiting.md).
type RateLimit struct {
	Tier       string
	Q, W, R, T int
	RetryAfter int // -1: absent
}

func ParseRateLimit(t testing.TB, rp Reply) RateLimit {
	t.Helper()
	var h RateLimit
	pn, pp, ok := structured(rp.Header.Get("RateLimit-Policy"))
	if !ok || len(pp) != 2 {
		t.Fatalf("RateLimit-Policy missing or unparsable: %v", rp)
	}
	rn, rr, ok := structured(rp.Header.Get("RateLimit"))
	if !ok || len(rr) != 2 {
		t.Fatalf("RateLimit missing or unparsable: %v", rp)
	}
	if pn != rn {
		t.Fatalf("RateLimit-Policy names %q, RateLimit %q: %v", pn, rn, rp)
	}
	var q1, w1, r1, t1 bool
	h.Tier = pn
	h.Q, q1 = pp["q"]
	h.W, w1 = pp["w"]
	h.R, r1 = rr["r"]
	h.T, t1 = rr["t"]
	if !q1 || !w1 || !r1 || !t1 {
		t.Fatalf("rate limit headers lack q, w, r or t: %v", rp)
	}
	h.RetryAfter = -1
	if vs := rp.Header.Values("Retry-After"); len(vs) > 0 {
		n, err := strconv.Atoi(vs[0])
		if len(vs) != 1 || err != nil || n < 1 {
			t.Fatalf("Retry-After is not one positive integer: %v", rp)
		}
		h.RetryAfter = n
	}
	return h
}

// Within reports got in [want-60, want]: values counting down in whole
// seconds from the moment of a charge are at most want and lose a second
// only when the test itself is slow.
func Within(got, want int) bool { return got <= want && got >= want-60 }

// WantLimit asserts the rate limit headers of a response in tier with burst
// q and rate 1 unit per hour: r units left, and, on a refusal of cost
// units, a Retry-After.
func WantLimit(t testing.TB, rp Reply, tier string, q, r int, refusedCost int) {
	t.Helper()
	h := ParseRateLimit(t, rp)
	if h.Tier != tier || h.Q != q || h.W != q*Hour {
		t.Errorf(`RateLimit-Policy = %q;q=%d;w=%d, want %q;q=%d;w=%d (%v)`, h.Tier, h.Q, h.W, tier, q, q*Hour, rp)
	}
	if h.R != r {
		t.Errorf("RateLimit r=%d, want %d (%v)", h.R, r, rp)
	}
	// t: the spent units refill at one per hour.
	if !Within(h.T, (q-r)*Hour) {
		t.Errorf("RateLimit t=%d, want about %d (%v)", h.T, (q-r)*Hour, rp)
	}
	switch {
	case refusedCost == 0 && h.RetryAfter != -1:
		t.Errorf("Retry-After on a response that was not refused: %v", rp)
	case refusedCost > 0 && !Within(h.RetryAfter, (refusedCost-r)*Hour):
		t.Errorf("Retry-After = %d, want about %d (%v)", h.RetryAfter, (refusedCost-r)*Hour, rp)
	}
}
