// Package upstreams starts the demo's real upstreams (the accounts, products
// and reviews subgraphs and the orders REST service) for end-to-end tests and
// benchmarks, each behind a recording upstream (internal/testkit/upstreamtest).
package upstreams

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/test/upstreams/accounts"
	"github.com/portcullis-gw/portcullis/test/upstreams/orders"
	"github.com/portcullis-gw/portcullis/test/upstreams/products"
	"github.com/portcullis-gw/portcullis/test/upstreams/reviews"
)

// Service is one running upstream.
type Service struct {
	Name string
	// URL is the server's root, e.g. http://127.0.0.1:43121.
	URL string
	// Endpoint is where clients point: URL+"/query" for a subgraph,
	// URL+"/v1" (the OpenAPI servers base path) for orders.
	Endpoint string
	Recorder *upstreamtest.Recorder
	// Server is exposed so a test can Close it early to simulate an outage.
	Server *httptest.Server
}

// Set is the four demo upstreams, each on its own 127.0.0.1 listener.
type Set struct {
	Accounts, Products, Reviews, Orders *Service
}

// All returns the services in a fixed order: accounts, products, reviews, orders.
func (s *Set) All() []*Service {
	return []*Service{s.Accounts, s.Products, s.Reviews, s.Orders}
}

// Subgraphs returns the GraphQL services: accounts, products, reviews.
func (s *Set) Subgraphs() []*Service {
	return []*Service{s.Accounts, s.Products, s.Reviews}
}

// ResetAll forgets every request every service recorded.
func (s *Set) ResetAll() {
	for _, svc := range s.All() {
		svc.Recorder.Reset()
	}
}

// StartAll starts accounts, products, reviews and orders with fresh data, each
// behind a Recorder, and closes them when the test ends.
func StartAll(t testing.TB) *Set {
	t.Helper()
	return &Set{
		Accounts: start(t, "accounts", accounts.NewHandler(), "/query"),
		Products: start(t, "products", products.NewHandler(), "/query"),
		Reviews:  start(t, "reviews", reviews.NewHandler(), "/query"),
		Orders:   start(t, "orders", orders.NewHandler(), orders.BasePath),
	}
}

func start(t testing.TB, name string, h http.Handler, endpoint string) *Service {
	t.Helper()
	rec := upstreamtest.NewRecorder(h)
	// httptest.NewServer listens on 127.0.0.1 with an OS-chosen port.
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return &Service{Name: name, URL: srv.URL, Endpoint: srv.URL + endpoint, Recorder: rec, Server: srv}
}
