package ratelimit

import (
	"net/http"
	"strconv"
)

// HeaderField is one response header the gateway sets.
type HeaderField struct{ Name, Value string }

// Headers are the rate limit headers of a response on a limited route
// (the docs/ pages §5): RateLimit-Policy and RateLimit always, Retry-After on a
// refusal that could pass later. The policy values are built once in New.
func (l *Limiter) Headers(d Decision) []HeaderField {
	policy := ""
	if ti, ok := l.tiers[d.Tier]; ok {
		policy = ti.policy
	} else if d.Tier == TierAuthFailure {
		policy = l.auth.policy
	}
	h := make([]HeaderField, 0, 3)
	if policy != "" {
		h = append(h, HeaderField{"RateLimit-Policy", policy})
	}
	h = append(h, HeaderField{"RateLimit", d.Header()})
	if v, ok := d.RetryAfterHeader(); ok {
		h = append(h, HeaderField{"Retry-After", v})
	}
	return h
}

// SetHeaders assigns Headers(d) to h (names spelled as the RateLimit draft
// spells them, not canonicalised), with the policy value shared and the
// RateLimit value built in one allocation: they are on every response.
func (l *Limiter) SetHeaders(h http.Header, d Decision) {
	var policy []string
	if ti, ok := l.tiers[d.Tier]; ok {
		policy = ti.policyValue
	} else if d.Tier == TierAuthFailure {
		policy = l.auth.policyValue
	}
	if len(policy) > 0 && policy[0] != "" {
		h["RateLimit-Policy"] = policy
	}
	var buf [64]byte
	b := strconv.AppendQuote(buf[:0], d.Tier)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, int64(max(d.Remaining, 0)), 10)
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, ceilSeconds(d.ResetAfter), 10)
	h["RateLimit"] = []string{string(b)}
	if v, ok := d.RetryAfterHeader(); ok {
		h["Retry-After"] = []string{v}
	}
}
