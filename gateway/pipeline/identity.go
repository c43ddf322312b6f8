package pipeline

import (
	"errors"
	"net/http"
	"strings"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// Identify is the identity stage: the request's credentials become an
// Identity. Present but invalid credentials are always 401 and never fall
// back to anonymous; guessing them has its own budget per client IP, so
// the refusal is already paid for.
func (s *Shared) Identify(r *http.Request, ex *Exchange) (authn.Identity, *Refusal) {
	id, err := s.Auth.Authenticate(r.Context(), r)
	if errors.Is(err, authn.ErrNoCredentials) && ex.PeerSubject != "" {
		id, err = authn.MTLSIdentity(ex.PeerSubject), nil
	}
	if err != nil {
		return authn.Identity{}, s.unauthenticated(r, ex, err).Paying(PayNothing)
	}
	if id.IsAnonymous() && ex.PeerSubject != "" {
		id = authn.MTLSIdentity(ex.PeerSubject)
	}
	ex.Subject = id.Principal
	ex.noteIdentity(id)
	return id, nil
}

// Caller is the identity stage with who pays for the request.
func (s *Shared) Caller(r *http.Request, ex *Exchange) (authn.Identity, ratelimit.Subject, *Refusal) {
	id, ref := s.Identify(r, ex)
	if ref != nil {
		return id, ratelimit.Subject{}, ref
	}
	return id, s.SubjectOf(id, ex.ClientAddr), nil
}

func (s *Shared) unauthenticated(r *http.Request, ex *Exchange, err error) *Refusal {
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
	s.Audit(ex, "unauthenticated", "auth_reason", reason, "error", err.Error())
	if reason != "missing_credentials" {
		if ref := budgetRefusal(s.authFailure(r, ex), "too many failed authentication attempts; retry after the time in Retry-After"); ref != nil {
			return ref
		}
	}
	ref := Refuse(errcode.Unauthenticated, "authentication required").WithHeader("WWW-Authenticate", challenge)
	ref.LogCode = errcode.Unauthenticated + ":" + reason
	return ref
}

// ForwardHeaders are the identity headers the gateway sets for the
// upstream; the client's copies of them (and its credentials, unless the
// route forwards them) are stripped first.
type ForwardHeaders struct {
	subject, scopes, tier string
	strip                 []string
	stripWithAuth         []string
}

// NewForwardHeaders compiles identity.forward once per route table.
func NewForwardHeaders(f authn.Forward) ForwardHeaders {
	fh := ForwardHeaders{subject: f.SubjectHeader, scopes: f.ScopesHeader, tier: f.TierHeader}
	for _, h := range []string{f.SubjectHeader, f.ScopesHeader, f.TierHeader} {
		if h != "" {
			fh.strip = append(fh.strip, h)
		}
	}
	fh.strip = append(fh.strip, "X-Api-Key")
	fh.stripWithAuth = append(append([]string(nil), fh.strip...), "Authorization")
	return fh
}

// Apply sets the identity headers on h and returns the headers to strip.
func (fh ForwardHeaders) Apply(h http.Header, id authn.Identity, forwardAuthorization bool) []string {
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
	// Capped at their length: a caller appending to the list (the answer
	// plan adds Accept-Encoding) gets its own copy, never a write into the
	// array every request shares.
	if forwardAuthorization {
		return fh.strip[:len(fh.strip):len(fh.strip)]
	}
	return fh.stripWithAuth[:len(fh.stripWithAuth):len(fh.stripWithAuth)]
}
