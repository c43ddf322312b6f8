package boundary

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
	"github.com/portcullis-gw/portcullis/test/upstreams/accounts"
	"github.com/portcullis-gw/portcullis/test/upstreams/products"
)

// jsUpstream is a GraphQL back end that reads its request as graphql-js
// does (JSON.parse: names case-sensitive, the last duplicate wins): a
// recording upstream whose handler refuses what JSON.parse refuses, then
// lets a real subgraph answer. Had the gateway forwarded a client's
// {"query":A,"Query":B} as is, this upstream would run A while Go's
// encoding/json (the gateway's old reader) took B.
type jsUpstream = upstreamtest.Server

func newJSUpstream(t *testing.T, next http.Handler) *jsUpstream {
	t.Helper()
	return upstreamtest.Start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			if _, err := jsonParse(body); err != nil {
				http.Error(w, "JSON.parse: "+err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	}))
}

type jsReceived struct {
	method string
	header http.Header
	body   []byte
	// ran is what a JSON.parse reader takes from the body: one entry per
	// request (several for a batch).
	ran []map[string]any
}

// received is what u got, each body read as JSON.parse would.
func received(u *jsUpstream) []jsReceived {
	var out []jsReceived
	for _, r := range u.Requests() {
		rec := jsReceived{method: r.Method, header: r.Header, body: r.Body}
		if v, err := jsonParse(r.Body); err == nil && r.Method == http.MethodPost {
			switch v := v.(type) {
			case map[string]any:
				rec.ran = []map[string]any{v}
			case []any:
				for _, e := range v {
					m, _ := e.(map[string]any)
					rec.ran = append(rec.ran, m)
				}
			}
		}
		out = append(out, rec)
	}
	return out
}

// jsonParse reads JSON as ECMAScript's JSON.parse does: exact names, the
// last of duplicate names wins. Numbers stay json.Number.
func jsonParse(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var read func() (any, error)
	read = func() (any, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return tok, nil
		}
		if d == '[' {
			out := []any{}
			for dec.More() {
				v, err := read()
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			_, err := dec.Token()
			return out, err
		}
		out := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := read()
			if err != nil {
				return nil, err
			}
			out[k.(string)] = v
		}
		_, err = dec.Token()
		return out, err
	}
	v, err := read()
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	return v, nil
}

// boundary is the gateway of the GraphQL boundary tests, with one route
// per reading mode, each in front of its own jsUpstream.
type boundary struct {
	gw                                *gatewaytest.Gateway
	shop, drop, apq, safe, filter     *jsUpstream
	set                               *upstreams.Set
	safeHelloID, safeHello, helloHash string
}

// ordersKey is the API key the boundary config gives orders:read.
const ordersKey = "e2e-orders-key"

const helloQuery = "query Hello { topProducts(first: 1) { upc } }"

func startBoundary(t *testing.T) *boundary {
	t.Helper()
	b := &boundary{set: upstreams.StartAll(t), safeHelloID: "hello-v1", safeHello: helloQuery, helloHash: gatewaytest.KeyHash(helloQuery)}
	b.shop = newJSUpstream(t, products.NewHandler())
	b.drop = newJSUpstream(t, products.NewHandler())
	b.apq = newJSUpstream(t, products.NewHandler())
	b.safe = newJSUpstream(t, products.NewHandler())
	b.filter = newJSUpstream(t, accounts.NewHandler())
	schema := `
    schema:
      subgraphs:
        - {name: accounts, file: schemas/accounts.graphql}
        - {name: products, file: schemas/products.graphql}
        - {name: reviews, file: schemas/reviews.graphql}`
	cfg := fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: e2e, sha256: %s, scopes: [orders:read]}
`+gatewaytest.Server("shutdown_grace: 5s")+`rate_limit:
  tiers:
    anonymous: %s
    default: %s
  auth_failures: %s
graphql:
  - name: shop
    path: /graphql
    upstream: {url: %q, timeout: 5s}
    limits: {max_batch: 5}%s
  - name: drop
    path: /drop
    unknown_members: drop
    upstream: {url: %q, timeout: 5s, forward_headers: [X-Original-URL, True-Client-IP]}%s
  - name: apq
    path: /apq
    persisted_operations: {mode: allow_apq}
    upstream: {url: %q, timeout: 5s}%s
  - name: safe
    path: /safe
    persisted_operations: {mode: safelist, manifest: manifest.json}
    upstream: {url: %q, timeout: 5s}%s
  - name: filter
    path: /filter
    authorization: {mode: filter}
    upstream: {url: %q, timeout: 5s}%s
rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
`, gatewaytest.KeyHash(ordersKey), gatewaytest.GenerousTier, gatewaytest.GenerousTier, gatewaytest.GenerousTier,
		b.shop.URL+"/query", schema, b.drop.URL+"/query", schema, b.apq.URL+"/query", schema,
		b.safe.URL+"/query", schema, b.filter.URL+"/query", schema, b.set.Orders.URL)
	path := gatewaytest.WriteConfig(t, cfg)
	manifest, _ := json.Marshal(map[string]string{b.safeHelloID: b.safeHello})
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "manifest.json"), manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	b.gw = gatewaytest.Start(t, path)
	return b
}

func (b *boundary) resetAll() {
	for _, u := range []*jsUpstream{b.shop, b.drop, b.apq, b.safe, b.filter} {
		u.Reset()
	}
	b.set.ResetAll()
}

// send makes one request with the given raw headers (keys as spelled).
func send(t *testing.T, method, url, ct, body string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}
