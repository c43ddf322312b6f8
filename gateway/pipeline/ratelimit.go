package pipeline

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

const (
	msgRateLimited = "rate limit exceeded; retry after the time in Retry-After"
	msgStoreDown   = "rate limiting is unavailable; try again later"
)

// SubjectOf is who pays for a request.
func (s *Shared) SubjectOf(id authn.Identity, ip netip.Addr) ratelimit.Subject {
	return s.Limiter.SubjectFor(ratelimit.Caller{
		Anonymous: id.IsAnonymous(), Tier: id.Tier, Subject: id.Principal, APIKeyName: id.APIKeyName, IP: ip,
	})
}

// setRateHeaders puts the RateLimit-Policy and RateLimit headers (and
// Retry-After on refusals) of docs/rate-limiting.md on the answer.
func (s *Shared) setRateHeaders(ex *Exchange, d ratelimit.Decision) {
	s.Limiter.SetHeaders(ex.Header, d)
}

// Charged is a passed rate-limit stage: what was charged, the limiter's
// decision and the concurrency slot to release when the exchange is over.
type Charged struct {
	Cost     int
	Decision ratelimit.Decision
	Release  func()
}

// Done releases the concurrency slot, if one was taken. It reads c when
// called, not when deferred, so it may be deferred before the rate-limit
// stage has run.
func (c *Charged) Done() {
	if c.Release != nil {
		c.Release()
	}
}

// Charge is the rate-limit stage: it takes a concurrency slot and spends
// cost from the caller's budget. The slot comes first: a request refused
// for concurrency pays the penalty, not its cost. On success the caller
// must call Release when the exchange is over.
func (s *Shared) Charge(ctx context.Context, ex *Exchange, subj ratelimit.Subject, cost int) (Charged, *Refusal) {
	ex.Facts.Cost = int64(cost)
	release, ok := s.Limiter.Acquire(subj.Key, subj.Tier)
	if !ok {
		s.penalize(ctx, ex, subj)
		s.Audit(ex, "too_many_concurrent", "tier", subj.Tier)
		return Charged{}, Refuse(errcode.TooManyConcurrent, "too many requests in flight for this client").Paying(PayNothing)
	}
	d, err := s.Limiter.Charge(ctx, subj, cost)
	if err != nil {
		release()
		// The limiter logs store state changes once; the access log has
		// each refused request (no per-request log spam).
		return Charged{}, Refuse(errcode.RateLimitDown, msgStoreDown).Paying(PayNothing)
	}
	s.setRateHeaders(ex, d)
	if d.TooExpensive {
		release()
		s.Audit(ex, "too_expensive", "cost", cost, "burst", d.Limit)
		ref := Refuse(analysis.CodeCostTooExpensive, "operation costs more than this client's rate limit allows at once").Paying(PayNothing)
		// Flat keys, as the analysis's max_cost refusal and Apollo Router
		// write them.
		ref.Extensions = map[string]any{"cost.estimated": cost, "cost.max": d.Limit}
		return Charged{}, ref
	}
	if !d.Allowed {
		release()
		s.Audit(ex, "rate_limited", "cost", cost, "tier", d.Tier)
		return Charged{}, Refuse(errcode.RateLimited, msgRateLimited).Paying(PayNothing)
	}
	return Charged{Cost: cost, Decision: d, Release: release}, nil
}

// MinCost is the least any request pays.
func (s *Shared) MinCost() int { return s.Limiter.MinCost() }

// budget is what a refusal-side charge (the penalty, a failed credential)
// found: the charge was paid, the budget is spent, or the store that keeps
// it is down and on_store_error is fail_closed.
type budget int

const (
	budgetPaid budget = iota
	budgetSpent
	budgetUnavailable
)

// Pay charges what a refusal pays (Refusal.Charge) and returns the answer
// that replaces it when the budget is spent or cannot be kept, or nil.
// Like every other charge the penalty follows on_store_error: fail_open
// charges the local stand-in, fail_closed answers the store down, since a
// budget nobody can keep is no budget and answering the refusal anyway
// would let probing go unlimited (docs/security.md, "Security controls
// never fail open").
func (s *Shared) Pay(ctx context.Context, ex *Exchange, subj ratelimit.Subject, c Charge) *Refusal {
	switch c {
	case PayPenalty:
		return budgetRefusal(s.penalize(ctx, ex, subj), msgRateLimited)
	case PayMinimum:
		d, err := s.Limiter.Charge(ctx, subj, 0) // raised to min_cost
		if err != nil {
			return nil
		}
		s.setRateHeaders(ex, d)
		if !d.Allowed {
			return Refuse(errcode.RateLimited, msgRateLimited).Paying(PayNothing)
		}
	}
	return nil
}

func (s *Shared) penalize(ctx context.Context, ex *Exchange, subj ratelimit.Subject) budget {
	d, err := s.Limiter.ChargePenalty(ctx, subj)
	if err != nil {
		return budgetUnavailable
	}
	s.setRateHeaders(ex, d)
	if d.Allowed || d.TooExpensive {
		return budgetPaid
	}
	return budgetSpent
}

// budgetRefusal is the answer of a spent (429) or unavailable (503)
// budget, or nil when the charge was paid.
func budgetRefusal(b budget, spentMsg string) *Refusal {
	switch b {
	case budgetSpent:
		return Refuse(errcode.RateLimited, spentMsg).Paying(PayNothing)
	case budgetUnavailable:
		return Refuse(errcode.RateLimitDown, msgStoreDown).Paying(PayNothing)
	}
	return nil
}

// authFailure counts a failed credential against the client IP's own
// budget, following on_store_error as the penalty does: with fail_closed a
// store outage refuses the attempt, with fail_open the local stand-in
// counts it. Guessing is never unlimited.
func (s *Shared) authFailure(r *http.Request, ex *Exchange) budget {
	if !ex.ClientAddr.IsValid() {
		// Every listener is TCP: a peer without an address cannot happen;
		// refuse rather than count nothing.
		return budgetUnavailable
	}
	d, err := s.Limiter.ChargeAuthFailure(r.Context(), ex.ClientAddr)
	if err != nil {
		return budgetUnavailable
	}
	if !d.Allowed {
		s.setRateHeaders(ex, d)
		return budgetSpent
	}
	return budgetPaid
}
