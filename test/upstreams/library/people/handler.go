// Package people is a subgraph of the library test federation
// (test/upstreams/library), built with gqlgen.
package people

import (
	_ "embed"
	"net/http"

	"github.com/portcullis-gw/portcullis/test/upstreams/gqlhandler"
)

//go:embed schema.graphql
var sdl string

// SDL returns the subgraph schema as written.
func SDL() string { return sdl }

// NewHandler serves the subgraph on POST /query.
func NewHandler() http.Handler {
	return gqlhandler.New(NewExecutableSchema(Config{Resolvers: newResolver()}), nil)
}
