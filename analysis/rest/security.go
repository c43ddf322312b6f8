package rest

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/portcullis-gw/portcullis/schema/openapi"
)

// Security enforces op's security requirements (or the document's when op
// has none): the requirements are alternatives (OR), the schemes inside one
// requirement must all be satisfied (AND), OpenAPI 3 section 4.8.30.
// OAuth2 and OpenID Connect schemes (and http bearer) are satisfied by a
// token identity holding every listed scope; apiKey schemes by a Portcullis
// API key (with the listed scopes, as 3.1 allows roles there). An anonymous
// caller that satisfies nothing gets 401; an authenticated one 403.
func (r *Route) Security(op *Operation, c Caller) *Failure {
	if op == nil || op.Spec == nil {
		return notFound()
	}
	reqs := op.Spec.Security
	if reqs == nil {
		reqs = r.doc.Security()
	}
	if len(reqs) == 0 {
		return nil
	}
	for _, req := range reqs {
		if r.satisfies(req, c) {
			return nil
		}
	}
	if !c.Authenticated {
		return &Failure{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Title: "Unauthorized",
			Detail: "this operation requires credentials"}
	}
	return &Failure{Status: http.StatusForbidden, Code: CodeForbidden, Title: "Forbidden",
		Detail: "the credentials do not grant this operation; it requires " + describe(reqs)}
}

func (r *Route) satisfies(req openapi.Requirement, c Caller) bool {
	for name, scopes := range req {
		s := r.doc.SecurityScheme(name)
		if s == nil || !c.Authenticated {
			return false
		}
		switch s.Type {
		case "oauth2", "openIdConnect":
			if c.Kind == "api_key" {
				return false
			}
		case "http":
			if s.Scheme != "bearer" || c.Kind == "api_key" {
				return false
			}
		case "apiKey":
			if c.Kind != "api_key" {
				return false
			}
		default:
			// mutualTLS and others: Portcullis has no identity for them.
			return false
		}
		for _, sc := range scopes {
			if !slices.Contains(c.Scopes, sc) {
				return false
			}
		}
	}
	// An empty requirement ({}) makes security optional.
	return true
}

func describe(reqs []openapi.Requirement) string {
	alts := make([]string, 0, len(reqs))
	for _, req := range reqs {
		names := make([]string, 0, len(req))
		for n := range req {
			names = append(names, n)
		}
		sort.Strings(names)
		var parts []string
		for _, n := range names {
			if len(req[n]) > 0 {
				parts = append(parts, n+" with scopes "+strings.Join(req[n], " "))
			} else {
				parts = append(parts, n)
			}
		}
		alts = append(alts, strings.Join(parts, " and "))
	}
	return strings.Join(alts, ", or ")
}
