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
// Credential kinds are not interchangeable (docs/security.md, "Credential
// kinds and subject names"): oauth2, openIdConnect and http bearer schemes
// are satisfied only by a token identity holding every listed scope; apiKey
// schemes only by a Portcullis API key (with the listed scopes, as 3.1
// allows roles there); mutualTLS (OpenAPI 3.1 section 4.8.27) only by a
// verified client certificate, which proves no scopes. Other http schemes
// (basic, digest) are satisfied by nothing Portcullis verifies. An
// anonymous caller that satisfies nothing gets 401; an authenticated one 403.
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
		if s == nil {
			return false
		}
		switch s.Type {
		case "oauth2", "openIdConnect":
			if c.Kind != KindToken {
				return false
			}
		case "http":
			if s.Scheme != "bearer" || c.Kind != KindToken {
				return false
			}
		case "apiKey":
			if c.Kind != KindAPIKey {
				return false
			}
		case "mutualTLS":
			if !c.ClientCert || len(scopes) > 0 {
				return false
			}
			continue
		default:
			return false
		}
		if !c.Authenticated {
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
