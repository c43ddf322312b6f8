// Package gqlhandler serves a demo subgraph's gqlgen schema the way all
// three subgraphs answer: GraphQL over HTTP POST on /query, nothing else.
package gqlhandler

import (
	"context"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// New serves es on POST /query. withContext, when not nil, gives each
// request the context its resolvers read (e.g. a header the gateway
// forwards).
func New(es graphql.ExecutableSchema, withContext func(*http.Request) context.Context) http.Handler {
	srv := handler.New(es)
	srv.AddTransport(transport.POST{})
	// Introspection stays on: this is an upstream, and the gateway decides
	// what clients may introspect.
	srv.Use(extension.Introspection{})

	var h http.Handler = srv
	if withContext != nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			srv.ServeHTTP(w, r.WithContext(withContext(r)))
		})
	}
	mux := http.NewServeMux()
	mux.Handle("POST /query", h)
	return mux
}
