package pipeline

import (
	"net/http"
	"testing"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/policy/authn"
)

// TestDecision: the first refusal is why a request was refused, whatever
// answer replaced it; a failure overrides; an undecided request is read
// from its status.
func TestDecision(t *testing.T) {
	unauth := Refuse(errcode.Unauthenticated, "authentication required")
	unauth.LogCode = errcode.Unauthenticated + ":expired"
	tests := []struct {
		name   string
		steps  func(ex *Exchange)
		status int
		want   Decision
	}{
		{"nothing recorded, 200", func(*Exchange) {}, 200, Decision{Allow, ""}},
		{"nothing recorded, 502", func(*Exchange) {}, 502, Decision{Error, ""}},
		{"forwarded", func(ex *Exchange) { ex.Allowed() }, 200, Decision{Allow, ""}},
		{"refused", func(ex *Exchange) { ex.Refused(Refuse(errcode.CSRF, "x")) }, 400, Decision{Deny, errcode.CSRF}},
		{"log code", func(ex *Exchange) { ex.Refused(unauth) }, 401, Decision{Deny, errcode.Unauthenticated + ":expired"}},
		{"refusal over 500 is an error", func(ex *Exchange) { ex.Refused(Refuse(errcode.NotReady, "x")) }, 503, Decision{Error, errcode.NotReady}},
		{"first refusal wins", func(ex *Exchange) {
			ex.Refused(Refuse(errcode.BadRequest, "x"))
			ex.Refused(Refuse(errcode.RateLimited, "y"))
		}, 429, Decision{Deny, errcode.BadRequest}},
		{"refusal after allow", func(ex *Exchange) { ex.Allowed(); ex.Refused(Refuse(errcode.NotFound, "x")) }, 404, Decision{Deny, errcode.NotFound}},
		{"failure overrides", func(ex *Exchange) { ex.Allowed(); ex.Failed("UPSTREAM_ERROR") }, 502, Decision{Error, "UPSTREAM_ERROR"}},
		{"recode keeps the outcome", func(ex *Exchange) {
			ex.Refused(Refuse(errcode.BadRequest, "x"))
			ex.Recode(errcode.RateLimitDown)
		}, 503, Decision{Deny, errcode.RateLimitDown}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &Exchange{}
			tt.steps(ex)
			if got := ex.Finish(tt.status); got != tt.want {
				t.Errorf("decision %+v, want %+v", got, tt.want)
			}
		})
	}
	if Deny.String() != "deny" || Allow.String() != "allow" || Error.String() != "error" || Undecided.String() != "" {
		t.Error("outcome labels changed: logs and metrics depend on them")
	}
}

// TestChargeDefault: a refusal that says nothing about its charge pays the
// penalty, so a forgotten Paying never makes probing free.
func TestChargeDefault(t *testing.T) {
	if (&Refusal{}).Charge != PayPenalty || Refuse(errcode.BadRequest, "x").Charge != PayPenalty {
		t.Fatal("the zero Charge must be the penalty")
	}
}

// TestChargedDone: a Done deferred before the rate-limit stage ran still
// releases the slot that stage took, exactly once.
func TestChargedDone(t *testing.T) {
	released := 0
	var c Charged
	func() {
		defer c.Done()
		c = Charged{Cost: 1, Release: func() { released++ }}
	}()
	if released != 1 {
		t.Fatalf("released %d times, want 1", released)
	}
	(&Charged{}).Done() // no slot taken: nothing to release, no panic
}

// TestForwardHeadersShared: appending to the strip list of one request
// never changes another's (the lists are shared by every request).
func TestForwardHeadersShared(t *testing.T) {
	fh := NewForwardHeaders(authn.Forward{SubjectHeader: "X-User", ScopesHeader: "X-Scopes", TierHeader: "X-Tier"})
	for _, fwdAuth := range []bool{false, true} {
		a := append(fh.Apply(http.Header{}, authn.Identity{}, fwdAuth), "Accept-Encoding")
		b := append(fh.Apply(http.Header{}, authn.Identity{}, fwdAuth), "X-Other")
		if a[len(a)-1] != "Accept-Encoding" || b[len(b)-1] != "X-Other" {
			t.Fatalf("forward_authorization=%v: one request's strip list changed another's: %q %q", fwdAuth, a, b)
		}
	}
}
