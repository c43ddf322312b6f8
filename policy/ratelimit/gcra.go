package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Decision is the answer to one charge.
type Decision struct {
	Allowed      bool
	Tier         string
	Cost         int
	Limit        int           // the tier's burst
	Remaining    int           // whole units left after this decision
	ResetAfter   time.Duration // until the bucket is full again
	RetryAfter   time.Duration // refusals only: until this charge could pass
	TooExpensive bool          // cost > burst: can never pass; the budget was not touched
}

// maxScaled bounds burst × per (in microseconds) so the arithmetic stays exact
// in Lua, whose numbers are doubles with 53-bit integers.
const maxScaled = 1 << 52

// params is a tier reduced to the integers the GCRA needs. The bucket state is
// (t0, debt): debt is owed units × perUS at time t0 (µs); it drains at rate per
// µs. Keeping a debt relative to t0 instead of an absolute "theoretical arrival
// time" scaled by rate keeps every number below 2^53, which makes the Lua
// script (doubles) and the Go code (int64) agree to the microsecond.
type params struct {
	rate  int64 // units per per
	perUS int64 // per, in µs; one unit costs perUS of debt
	burst int64
}

func newParams(t Tier) (params, error) {
	p := params{rate: int64(t.Rate), perUS: t.Per.Microseconds(), burst: int64(t.Burst)}
	switch {
	case p.rate <= 0:
		return p, errors.New("rate must be > 0")
	case p.perUS <= 0:
		return p, errors.New("per must be at least 1µs")
	case p.burst <= 0:
		return p, errors.New("burst must be > 0")
	case p.burst > maxScaled/p.perUS:
		return p, fmt.Errorf("burst × per must stay below %d µs·units", int64(maxScaled))
	}
	return p, nil
}

// bucket is one key's stored state.
type bucket struct {
	t0   int64 // µs since the Unix epoch of the last write
	debt int64 // owed units × perUS at t0
}

// debtAt is the bucket's debt at now, never negative.
func (p params) debtAt(b bucket, now int64) int64 {
	elapsed := now - b.t0
	if elapsed <= 0 || b.debt <= 0 {
		return max(b.debt, 0)
	}
	// Compare before multiplying so an old bucket cannot overflow elapsed×rate.
	if elapsed >= b.debt/p.rate+1 {
		return 0
	}
	return max(b.debt-elapsed*p.rate, 0)
}

// charge applies cost at now. write reports whether next must be stored.
// Kept in step with gcra.lua: both stores must give identical decisions.
func (p params) charge(b bucket, now int64, cost int64) (d Decision, next bucket, write bool) {
	debt := p.debtAt(b, now)
	limit := p.burst * p.perUS
	d.Cost = int(cost)
	d.Limit = int(p.burst)
	if cost > p.burst {
		d.TooExpensive = true
		d.Remaining = int((limit - debt) / p.perUS)
		d.ResetAfter = ceilDivUS(debt, p.rate)
		return d, b, false
	}
	nd := debt + cost*p.perUS
	if nd > limit {
		d.Remaining = int((limit - debt) / p.perUS)
		d.ResetAfter = ceilDivUS(debt, p.rate)
		d.RetryAfter = ceilDivUS(nd-limit, p.rate)
		return d, b, false
	}
	d.Allowed = true
	d.Remaining = int((limit - nd) / p.perUS)
	d.ResetAfter = ceilDivUS(nd, p.rate)
	return d, bucket{t0: now, debt: nd}, cost > 0
}

// refund gives units back; the debt never goes below zero, so the bucket never
// holds more than burst.
func (p params) refund(b bucket, now int64, units int64) bucket {
	debt := p.debtAt(b, now)
	if units >= debt/p.perUS+1 {
		return bucket{t0: now}
	}
	return bucket{t0: now, debt: max(debt-units*p.perUS, 0)}
}

func ceilDivUS(a, b int64) time.Duration {
	if a <= 0 {
		return 0
	}
	return time.Duration((a+b-1)/b) * time.Microsecond
}

// ceilSeconds rounds a duration up to whole seconds, as the RateLimit and
// Retry-After headers need.
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}

// PolicyHeader is the RateLimit-Policy value of a tier (the docs/ pages §5):
// q = burst, w = ceil(burst × per / rate) in seconds, the time to refill a
// full burst.
func PolicyHeader(name string, t Tier) string {
	num := int64(t.Burst) * t.Per.Microseconds()
	den := int64(t.Rate) * 1_000_000
	w := int64(0)
	if den > 0 && num > 0 {
		w = (num + den - 1) / den
	}
	return strconv.Quote(name) + ";q=" + strconv.Itoa(t.Burst) + ";w=" + strconv.FormatInt(w, 10)
}

// Header is the RateLimit value: r = whole units left, t = seconds until the
// bucket is full again, rounded up.
func (d Decision) Header() string {
	return strconv.Quote(d.Tier) + ";r=" + strconv.Itoa(max(d.Remaining, 0)) + ";t=" + strconv.FormatInt(ceilSeconds(d.ResetAfter), 10)
}

// RetryAfterHeader is the Retry-After value (seconds, rounded up) and whether
// the response carries one: refusals that could pass later do; allowed charges
// and charges above burst (they can never pass) do not.
func (d Decision) RetryAfterHeader() (string, bool) {
	if d.Allowed || d.TooExpensive {
		return "", false
	}
	return strconv.FormatInt(max(ceilSeconds(d.RetryAfter), 1), 10), true
}
