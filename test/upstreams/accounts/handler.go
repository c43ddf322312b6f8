// Package accounts is the demo's accounts subgraph: a Federation 2 subgraph
// built with gqlgen that owns the User entity.
package accounts

import (
	"context"
	_ "embed"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis-gw/portcullis/test/upstreams/gqlhandler"
)

//go:embed schema.graphql
var sdl string

// SDL returns the subgraph schema as written, which is also what
// `{ _service { sdl } }` answers.
func SDL() string { return sdl }

// NewHandler serves the subgraph on POST /query with fresh in-memory data.
func NewHandler() http.Handler {
	return gqlhandler.New(NewExecutableSchema(Config{Resolvers: newResolver()}), func(r *http.Request) context.Context {
		return withSubject(r.Context(), userID(r.Header.Get(SubjectHeader)))
	})
}

// userID reads the user id out of the gateway's principal name
// (docs/identity.md, "Subject names"): a token's "jwt:<issuer>#<sub>" names
// user <sub>; any other principal (an API key, a certificate) is no user.
// A real back end would also check the issuer.
func userID(principal string) string {
	rest, ok := strings.CutPrefix(principal, "jwt:")
	if !ok {
		return ""
	}
	_, sub, ok := strings.Cut(rest, "#")
	if !ok {
		return ""
	}
	id, err := url.PathUnescape(sub)
	if err != nil {
		return ""
	}
	return id
}
