package gateway

import (
	"context"

	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

const (
	CodeRateLimited       = "RATE_LIMITED"
	CodeRateLimitDown     = "RATE_LIMIT_UNAVAILABLE"
	CodeTooManyConcurrent = "TOO_MANY_CONCURRENT_REQUESTS"
)

func newLimiter(cfg *config.Config, g *Gateway) (*ratelimit.Limiter, error) {
	return ratelimit.New(cfg.RateLimit, ratelimit.Options{Logger: g.log})
}

// subjectOf is who pays for a request.
func (tbl *routeTable) subjectOf(id authn.Identity, ip netip.Addr) ratelimit.Subject {
	return tbl.limiter.SubjectFor(ratelimit.Caller{
		Anonymous: id.IsAnonymous(), Tier: id.Tier, Subject: id.Principal, APIKeyName: id.APIKeyName, IP: ip,
	})
}

// setRateHeaders puts the RateLimit-Policy and RateLimit headers (and
// Retry-After on refusals) of the docs/ pages on the response.
func (tbl *routeTable) setRateHeaders(w http.ResponseWriter, d ratelimit.Decision) {
	h := w.Header()
	for _, f := range tbl.limiter.Headers(d) {
		// Assigned, not Set: keeps the names as the RateLimit draft spells
		// them on the wire and skips canonicalising on every request.
		h[f.Name] = []string{f.Value}
	}
}

// charge takes a concurrency slot and spends cost from the caller's budget.
// ok=false means the refusal is written and nothing may be forwarded; the
// caller must call release when the exchange is over. The slot comes
// first: a request refused for concurrency pays the penalty, not its cost.
func (g *Gateway) charge(c echo.Context, st *reqState, tbl *routeTable, subj ratelimit.Subject, cost int) (release func(), d ratelimit.Decision, ok bool) {
	release, ok = tbl.limiter.Acquire(subj.Key, subj.Tier)
	if !ok {
		// Refused before forwarding: the penalty, not the cost (the docs/ pages
		// item 7).
		g.penalize(c.Request().Context(), st, tbl, c.Response(), subj)
		g.audit(st, "too_many_concurrent", "tier", subj.Tier)
		g.writeError(c, http.StatusTooManyRequests, CodeTooManyConcurrent, "too many requests in flight for this client")
		return nil, d, false
	}
	d, err := tbl.limiter.Charge(c.Request().Context(), subj, cost)
	if err != nil {
		release()
		// The limiter logs store state changes once; the access log has
		// each refused request (the docs/ pages: no per-request log spam).
		st.code = CodeRateLimitDown
		g.writeError(c, http.StatusServiceUnavailable, CodeRateLimitDown, "rate limiting is unavailable; try again later")
		return nil, d, false
	}
	tbl.setRateHeaders(c.Response(), d)
	if d.TooExpensive {
		release()
		g.audit(st, "too_expensive", "cost", cost, "burst", d.Limit)
		g.writeErrorExt(c, http.StatusBadRequest, analysis.CodeCostTooExpensive,
			"operation costs more than this client's rate limit allows at once",
			// Flat keys, as the analysis's max_cost refusal and Apollo Router
			// write them.
			map[string]any{"cost.estimated": cost, "cost.max": d.Limit})
		return nil, d, false
	}
	if !d.Allowed {
		release()
		g.audit(st, "rate_limited", "cost", cost, "tier", d.Tier)
		g.writeError(c, http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded; retry after the time in Retry-After")
		return nil, d, false
	}
	return release, d, true
}

// budget is what a refusal-side charge (the penalty, a failed credential)
// found: the charge was paid, the budget is spent, or the store that keeps
// it is down and on_store_error is fail_closed.
type budget int

const (
	budgetPaid budget = iota
	budgetSpent
	budgetUnavailable
)

// penalize charges a request refused before forwarding, so
// probing through error messages costs budget. Like every other charge it
// follows on_store_error: fail_open charges the local stand-in, fail_closed
// reports the store down, since a budget nobody can keep is no budget and
// answering the refusal anyway would let probing go unlimited
// (docs/security.md, "Security controls never fail open").
func (g *Gateway) penalize(ctx context.Context, st *reqState, tbl *routeTable, w http.ResponseWriter, subj ratelimit.Subject) budget {
	d, err := tbl.limiter.ChargePenalty(ctx, subj)
	if err != nil {
		return budgetUnavailable
	}
	tbl.setRateHeaders(w, d)
	if d.Allowed || d.TooExpensive {
		return budgetPaid
	}
	return budgetSpent
}

// chargeMinimum charges min_cost to a request refused as part of a
// protocol's normal flow (an APQ miss); false means the budget is gone.
func (g *Gateway) chargeMinimum(ctx context.Context, tbl *routeTable, w http.ResponseWriter, subj ratelimit.Subject) bool {
	d, err := tbl.limiter.Charge(ctx, subj, 0) // raised to min_cost
	if err != nil {
		return true
	}
	tbl.setRateHeaders(w, d)
	return d.Allowed
}

// refusePenalty charges the penalty of a refused request and, when the
// budget is spent or cannot be kept, writes that answer (429 or 503) in
// place of the refusal and reports true.
func (g *Gateway) refusePenalty(c echo.Context, st *reqState, tbl *routeTable, subj ratelimit.Subject) bool {
	return g.writeBudget(c, st, g.penalize(c.Request().Context(), st, tbl, c.Response(), subj),
		"rate limit exceeded; retry after the time in Retry-After")
}

// writeBudget writes the answer of a spent (429) or unavailable (503)
// budget; it reports false, writing nothing, when the charge was paid.
func (g *Gateway) writeBudget(c echo.Context, st *reqState, b budget, spentMsg string) bool {
	switch b {
	case budgetSpent:
		g.writeError(c, http.StatusTooManyRequests, CodeRateLimited, spentMsg)
	case budgetUnavailable:
		st.code = CodeRateLimitDown
		g.writeError(c, http.StatusServiceUnavailable, CodeRateLimitDown, "rate limiting is unavailable; try again later")
	default:
		return false
	}
	return true
}

// authFailure counts a failed credential against the client IP's own
// budget, following on_store_error as penalize does: with fail_closed a
// store outage refuses the attempt, with fail_open the local stand-in
// counts it. Guessing is never unlimited.
func (g *Gateway) authFailure(ctx context.Context, tbl *routeTable, w http.ResponseWriter, ip netip.Addr) budget {
	if !ip.IsValid() {
		// Every listener is TCP: a peer without an address cannot happen;
		// refuse rather than count nothing.
		return budgetUnavailable
	}
	d, err := tbl.limiter.ChargeAuthFailure(ctx, ip)
	if err != nil {
		return budgetUnavailable
	}
	if !d.Allowed {
		tbl.setRateHeaders(w, d)
		return budgetSpent
	}
	return budgetPaid
}

// limiterCollector exports the current route table's limiter metrics; an
// unchecked collector, because a reload swaps the limiter underneath.
type limiterCollector struct{ g *Gateway }

func (limiterCollector) Describe(chan<- *prometheus.Desc) {}

func (lc limiterCollector) Collect(ch chan<- prometheus.Metric) {
	tbl := lc.g.routes.Load()
	if tbl == nil || tbl.limiter == nil {
		return
	}
	for _, c := range tbl.limiter.Collectors() {
		c.Collect(ch)
	}
}
