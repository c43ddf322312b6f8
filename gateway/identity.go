package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/policy/authn"
)

const CodeUnauthenticated = "UNAUTHENTICATED"

// identify turns the request's credentials into an Identity. Present but
// invalid credentials are always 401 and never fall back to anonymous
// . ok=false means the refusal is written.
func (g *Gateway) identify(c echo.Context, st *reqState, rt *routeTable) (authn.Identity, bool) {
	r := c.Request()
	id, err := rt.auth.Authenticate(r.Context(), r)
	if errors.Is(err, authn.ErrNoCredentials) && st.peerSubject != "" {
		id, err = authn.MTLSIdentity(st.peerSubject), nil
	}
	if err != nil {
		reason := "missing_credentials"
		// RFC 6750 section 3.1: a request without credentials gets the
		// challenge without an error code; bad credentials get invalid_token.
		challenge := `Bearer realm="portcullis"`
		var ae *authn.AuthError
		if errors.As(err, &ae) {
			reason = ae.Reason
			challenge = `Bearer realm="portcullis", error="invalid_token"`
		}
		// The reason is for the log and audit only.
		g.audit(st, "unauthenticated", "auth_reason", reason, "error", err.Error())
		// Guessing credentials has its own budget per client IP.
		if reason != "missing_credentials" && g.writeBudget(c, st, g.authFailure(r.Context(), rt, c.Response(), st.clientAddr),
			"too many failed authentication attempts; retry after the time in Retry-After") {
			return authn.Identity{}, false
		}
		c.Response().Header().Set("WWW-Authenticate", challenge)
		g.writeError(c, http.StatusUnauthorized, CodeUnauthenticated, "authentication required")
		st.code = CodeUnauthenticated + ":" + reason
		return authn.Identity{}, false
	}
	if id.IsAnonymous() && st.peerSubject != "" {
		id = authn.MTLSIdentity(st.peerSubject)
	}
	st.subject = id.Principal
	return id, true
}

// forwardHeaders are the identity headers we set for the upstream; the
// client's copies of them (and its credentials, unless the route forwards
// them) are stripped first.
type forwardHeaders struct {
	subject, scopes, tier string
	strip                 []string
	stripWithAuth         []string
}

func newForwardHeaders(f authn.Forward) forwardHeaders {
	fh := forwardHeaders{subject: f.SubjectHeader, scopes: f.ScopesHeader, tier: f.TierHeader}
	for _, h := range []string{f.SubjectHeader, f.ScopesHeader, f.TierHeader} {
		if h != "" {
			fh.strip = append(fh.strip, h)
		}
	}
	fh.strip = append(fh.strip, "X-Api-Key")
	fh.stripWithAuth = append(append([]string(nil), fh.strip...), "Authorization")
	return fh
}

// apply sets the identity headers on h and returns the headers to strip.
func (fh forwardHeaders) apply(h http.Header, id authn.Identity, forwardAuthorization bool) []string {
	if !id.IsAnonymous() {
		if fh.subject != "" {
			// The principal, not the bare sub: the same sub from two issuers
			// is two callers (docs/identity.md, "Subject names").
			h.Set(fh.subject, id.Principal)
		}
		if fh.scopes != "" && len(id.Scopes) > 0 {
			h.Set(fh.scopes, strings.Join(id.Scopes, " "))
		}
	}
	if fh.tier != "" && id.Tier != "" {
		h.Set(fh.tier, id.Tier)
	}
	if forwardAuthorization {
		return fh.strip
	}
	return fh.stripWithAuth
}
