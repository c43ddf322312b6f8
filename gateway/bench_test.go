package gateway

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portcullis-gw/portcullis/gateway/config"
)

// The request path end to end inside the process: echo, middleware, dispatch,
// the front door and the upstream proxy, against a real upstream over
// loopback. Only the client side is in-process (ServeHTTP with a recorder).

const (
	benchGraphQLReply = `{"data":{"hello":"world"}}`
	benchRESTReply    = `{"orders":[]}`
	benchQuery        = `{"query":"{ hello }"}`
)

const benchConfig = `
identity: {anonymous: true}
rate_limit:
  tiers:
    anonymous: {rate: 1000000000, per: 1s, burst: 1000000000}
graphql:
  - name: shop
    path: /graphql
    upstream: {url: "{{up}}/query", timeout: 5s}
    schema: {supergraph: schema.graphql}
rest:
  - name: api
    prefix: /api
    openapi: orders.yaml
    upstream: {url: "{{up}}", timeout: 5s}
`

// benchGateway builds a gateway over one upstream that answers GraphQL on
// /query and REST elsewhere; hits counts the requests that reached it.
func benchGateway(b *testing.B) (gw *Gateway, hits *atomic.Int64) {
	b.Helper()
	return benchGatewayWith(b, "")
}

// benchGatewayWith is benchGateway with extra top-level config sections.
func benchGatewayWith(b *testing.B, extra string) (gw *Gateway, hits *atomic.Int64) {
	b.Helper()
	hits = &atomic.Int64{}
	gqlReply, restReply := []byte(benchGraphQLReply), []byte(benchRESTReply)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/query" {
			_, _ = w.Write(gqlReply)
			return
		}
		_, _ = w.Write(restReply)
	}))
	b.Cleanup(up.Close)

	dir := b.TempDir()
	for _, name := range []string{"schema.graphql", "orders.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	path := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(benchConfig, "{{up}}", up.URL)+extra), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatalf("loading config: %v", err)
	}
	// The access log is formatted as in production and then dropped, so its
	// cost is measured without filling the benchmark's output.
	quiet := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))
	gw, err = New(cfg, WithLogger(quiet), WithAccessLog(io.Discard))
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	b.Cleanup(gw.Close)
	return gw, hits
}

// rewindBody is a request body reused across iterations without allocating.
type rewindBody struct{ *bytes.Reader }

func (rewindBody) Close() error { return nil }

// benchServe sends req through the gateway b.N times; every answer must be
// want with the expected status. The request is reused (the gateway works on
// a derived copy), only its body is rewound.
func benchServe(b *testing.B, gw *Gateway, req *http.Request, body []byte, status int, want string) {
	b.Helper()
	h := gw.Handler()
	rd := bytes.NewReader(body)
	rb := rewindBody{rd}
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		req.Body = rb
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != status {
			b.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
		}
		if want != "" && rec.Body.String() != want {
			b.Fatalf("body %q, want %q", rec.Body, want)
		}
	}
}

func BenchmarkGraphQLPassThrough(b *testing.B) {
	gw, hits := benchGateway(b)
	body := []byte(benchQuery)
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	benchServe(b, gw, req, body, http.StatusOK, benchGraphQLReply)
	if hits.Load() == 0 {
		b.Fatal("no request reached the upstream")
	}
}

func BenchmarkRESTPassThrough(b *testing.B) {
	gw, hits := benchGateway(b)
	req := httptest.NewRequest(http.MethodGet, "/api/v1/orders?limit=10", nil)
	benchServe(b, gw, req, nil, http.StatusOK, benchRESTReply)
	if hits.Load() == 0 {
		b.Fatal("no request reached the upstream")
	}
}

// BenchmarkDispatchNotFound is the refusal path: an unknown path is answered
// by the gateway itself and never reaches the upstream.
func BenchmarkDispatchNotFound(b *testing.B) {
	gw, hits := benchGateway(b)
	req := httptest.NewRequest(http.MethodGet, "/nowhere/at/all", nil)
	before := hits.Load()
	benchServe(b, gw, req, nil, http.StatusNotFound, "")
	if n := hits.Load() - before; n != 0 {
		b.Fatalf("the upstream saw %d requests for an unknown path", n)
	}
}
