// Package accounts is the demo's accounts subgraph: a Federation 2 subgraph
// built with gqlgen that owns the User entity.
package accounts

import (
	"context"
	_ "embed"
	"net/http"

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
		return withSubject(r.Context(), r.Header.Get(SubjectHeader))
	})
}
