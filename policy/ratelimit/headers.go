package ratelimit

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
