// Package accounts is the demo's accounts subgraph: a Federation 2 subgraph
// built with gqlgen that owns the User entity.
package accounts

import (
	_ "embed"
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
)

//go:embed schema.graphql
var sdl string

// SDL returns the subgraph schema as written, which is also what
// `{ _service { sdl } }` answers.
func SDL() string { return sdl }

// NewHandler serves the subgraph on POST /query with fresh in-memory data.
func NewHandler() http.Handler {
	srv := handler.New(NewExecutableSchema(Config{Resolvers: newResolver()}))
	srv.AddTransport(transport.POST{})
	// Introspection stays on: this is an upstream, and the gateway decides
	// what clients may introspect.
	srv.Use(extension.Introspection{})

	mux := http.NewServeMux()
	mux.Handle("POST /query", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r.WithContext(withSubject(r.Context(), r.Header.Get(SubjectHeader))))
	}))
	return mux
}
