package pipeline

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/external"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// The governance stages shared by both front doors: per-coordinate rate
// limits and the external decision point (docs/governance.md).

// CallerOf is what the limiter keys a coordinate budget by.
func CallerOf(id authn.Identity, ip netip.Addr) ratelimit.Caller {
	return ratelimit.Caller{Anonymous: id.IsAnonymous(), Tier: id.Tier, Subject: id.Principal, APIKeyName: id.APIKeyName, IP: ip}
}

// CoordinateUse is how often one request uses coordinate limit Limit (an
// index of ratelimit.Limiter.Coordinates).
type CoordinateUse struct {
	Limit int
	Count int
}

// ChargeCoordinates charges every use to its coordinate budget, in order.
// A refusal gives back what the earlier limits of the same request took, so
// a request refused by one limit costs nothing on the others. The refusal
// is 429 COORDINATE_RATE_LIMITED with that limit's RateLimit pair; a store
// that is down answers as every charge does under on_store_error.
//
// The allowed limits' pairs are returned, for AddCoordinateHeaders once the
// rate-limit stage has set the tier's.
func (s *Shared) ChargeCoordinates(ctx context.Context, ex *Exchange, c ratelimit.Caller, uses []CoordinateUse) ([]ratelimit.HeaderField, *Refusal) {
	var pairs []ratelimit.HeaderField
	for i, u := range uses {
		d, err := s.Limiter.ChargeCoordinate(ctx, u.Limit, c, u.Count)
		if err == nil && d.Allowed {
			for _, f := range s.Limiter.CoordinateHeaders(u.Limit, d) {
				if f.Name != "Retry-After" {
					pairs = append(pairs, f)
				}
			}
			continue
		}
		for _, prev := range uses[:i] {
			_ = s.Limiter.RefundCoordinate(ctx, prev.Limit, c, prev.Count)
		}
		if err != nil {
			return nil, Refuse(errcode.RateLimitDown, msgStoreDown).Paying(PayNothing)
		}
		name := s.Limiter.Coordinates()[u.Limit].Name()
		for _, f := range s.Limiter.CoordinateHeaders(u.Limit, d) {
			// Only the refusing policy's pair: the client must see which
			// budget is spent and when it refills.
			ex.Header[f.Name] = []string{f.Value}
		}
		s.Audit(ex, "coordinate_rate_limited", "coordinate", name, "uses", u.Count, "too_many_at_once", d.TooExpensive)
		msg := "too many uses of " + name + "; retry after the time in Retry-After"
		if d.TooExpensive {
			msg = "this request uses " + name + " more often than its limit allows at once"
		}
		return nil, Refuse(errcode.CoordinateRateLimited, msg).Paying(PayNothing)
	}
	return pairs, nil
}

// AddCoordinateHeaders puts the allowed coordinate limits' pairs beside the
// tier's: a list of policies (draft-ietf-httpapi-ratelimit-headers,
// section 3).
func AddCoordinateHeaders(ex *Exchange, pairs []ratelimit.HeaderField) {
	for _, f := range pairs {
		ex.Header[f.Name] = append(ex.Header[f.Name], f.Value)
	}
}

// AuditPassed records a request that passed but is worth an audit event
// (audit mode's unknown operations), as Audit does for denials.
func (s *Shared) AuditPassed(ex *Exchange, reason string, kv ...any) {
	attrs := append([]any{
		slog.Bool("audit", true),
		slog.String("request_id", ex.ID),
		slog.String("route", ex.Route),
		slog.String("client_ip", ex.ClientIP),
		slog.String("subject", ex.Subject),
		slog.String("reason", reason),
	}, kv...)
	s.Log.Info("passed", attrs...)
}

// IdentityInput is the identity as the decision point sees it.
func IdentityInput(id authn.Identity) external.Identity {
	in := external.Identity{Anonymous: id.IsAnonymous(), Kind: id.Kind, Issuer: id.Issuer, Subject: id.Subject,
		Principal: id.Principal, Scopes: id.Scopes, Roles: id.Roles, Tier: id.Tier, Claims: id.Claims}
	if in.Scopes == nil {
		in.Scopes = []string{}
	}
	if in.Roles == nil {
		in.Roles = []string{}
	}
	return in
}

// HeadersInput are the configured request headers (lower case; the first
// value of a repeated one); credentials never, whatever the config says.
func HeadersInput(r *http.Request, names []string) map[string]string {
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		if credentialHeaders[n] {
			continue
		}
		if vs := r.Header.Values(n); len(vs) > 0 {
			out[strings.ToLower(n)] = vs[0]
		}
	}
	return out
}

// Decide asks the external decision point and turns its answer into a
// refusal, or nil to go on. A deny is 403 with the policy's reason, in the
// answer and the log; a decision point that failed follows on_error (deny:
// 403 EXTERNAL_AUTHORIZATION_UNAVAILABLE, the cause only in the log).
func (s *Shared) Decide(ctx context.Context, ex *Exchange, c *external.Client, in *external.Input) (external.Decision, *Refusal) {
	res := c.Decide(ctx, in)
	if res.Err != nil {
		s.Log.Warn("external authorization failed", "request_id", ex.ID, "route", ex.Route, "allowed", res.Allow, "error", res.Err.Error())
		if !res.Allow {
			s.Audit(ex, "external_authorization_unavailable")
			return res.Decision, Refuse(errcode.ExternalUnavailable, "the authorization service gave no decision; the request is refused")
		}
		return res.Decision, nil
	}
	if res.Allow {
		return res.Decision, nil
	}
	reason := res.Reason
	if reason == "" {
		reason = "refused by the authorization policy"
	}
	s.Audit(ex, "external_authorization_denied", "reason", reason, "cached", res.Cached)
	return res.Decision, Refuse(errcode.ExternalDenied, reason)
}
