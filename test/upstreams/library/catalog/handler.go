// Package catalog is a subgraph of the library test federation
// (test/upstreams/library), built with gqlgen.
package catalog

import (
	_ "embed"
	"net/http"
	"sync/atomic"

	"github.com/portcullis-gw/portcullis/test/upstreams/gqlhandler"
)

//go:embed schema.graphql
var sdl string

// SDL returns the subgraph schema as written.
func SDL() string { return sdl }

// NewHandler serves the subgraph on POST /query; its mutations number
// themselves from seq.
func NewHandler(seq *atomic.Int64) http.Handler {
	return gqlhandler.New(NewExecutableSchema(Config{Resolvers: newResolver(seq)}), nil)
}
