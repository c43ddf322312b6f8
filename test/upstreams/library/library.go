// Package library starts the library test federation: four gqlgen
// subgraphs that between them use every Federation 2 feature the gateway's
// federated execution supports (an entity interface and @interfaceObject,
// several keys and a non-resolvable one, @requires, @provides, @external,
// @shareable, @override, @inaccessible, a union, mutations in two
// subgraphs). Each runs on its own 127.0.0.1 listener behind a Recorder.
package library

import (
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
	"github.com/portcullis-gw/portcullis/test/upstreams/library/catalog"
	"github.com/portcullis-gw/portcullis/test/upstreams/library/people"
	"github.com/portcullis-gw/portcullis/test/upstreams/library/ratings"
	"github.com/portcullis-gw/portcullis/test/upstreams/library/shipping"
)

// Federation is the four running subgraphs.
type Federation struct {
	Catalog, Ratings, Shipping, People *upstreams.Service
	// Seq numbers the mutations of catalog and ratings in the order they ran.
	Seq *atomic.Int64
}

// All returns the subgraphs in a fixed order.
func (f *Federation) All() []*upstreams.Service {
	return []*upstreams.Service{f.Catalog, f.People, f.Ratings, f.Shipping}
}

// ResetAll forgets what every subgraph received.
func (f *Federation) ResetAll() {
	for _, s := range f.All() {
		s.Recorder.Reset()
	}
}

// SDLs maps each subgraph name to its schema as written.
func SDLs() map[string]string {
	return map[string]string{"catalog": catalog.SDL(), "people": people.SDL(), "ratings": ratings.SDL(), "shipping": shipping.SDL()}
}

// Start runs the federation until the test ends.
func Start(t testing.TB) *Federation {
	t.Helper()
	seq := &atomic.Int64{}
	return &Federation{Seq: seq,
		Catalog:  serve(t, "catalog", upstreamtest.NewRecorder(catalog.NewHandler(seq))),
		Ratings:  serve(t, "ratings", upstreamtest.NewRecorder(ratings.NewHandler(seq))),
		Shipping: serve(t, "shipping", upstreamtest.NewRecorder(shipping.NewHandler())),
		People:   serve(t, "people", upstreamtest.NewRecorder(people.NewHandler())),
	}
}

func serve(t testing.TB, name string, rec *upstreamtest.Recorder) *upstreams.Service {
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return &upstreams.Service{Name: name, URL: srv.URL, Endpoint: srv.URL + "/query", Recorder: rec, Server: srv}
}
