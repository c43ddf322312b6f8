package rest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
	"github.com/portcullis-gw/portcullis/test/upstreams/orders"
)

// End-to-end tests of the REST front door through the gateway
// binary: every refusal is checked as problem+json and against what the
// upstream received (nothing); every accepted request against the exact
// request line the upstream received.

// The API keys of these tests.
const (
	readKey  = "e2e-orders-key"
	writeKey = "rest-writer-key-5f0c2a"
	meterKey = "rest-meter-key-81d4e7"
)

// leakyOrders answers like the orders service would if it broke its
// document: an undocumented field, an undocumented status, and one valid
// answer for contrast.
func leakyOrders() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/orders":
			io.WriteString(w, `{"orders":[],"count":0,"secret":"internal-margin-42"}`)
		case "/v1/orders/1":
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, `{"teapot":"internal-margin-42"}`)
		case "/v1/orders/2":
			io.WriteString(w, validOrder)
		case "/v1/orders/3":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<pre>internal-margin-42</pre>`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{}`)
		}
	})
}

const validOrder = `{"id":2,"userId":"2","status":"paid","items":[{"sku":"3","quantity":4,"unitPrice":54}],"total":216,"note":null,"createdAt":"2025-03-02T10:00:00Z"}`

// restEnv is a running gateway with the REST routes of these tests.
type restEnv struct {
	gw     *gatewaytest.Gateway
	orders *upstreamtest.Server // the real orders service
	leaky  *upstreamtest.Server // leakyOrders
	idp    *oidctest.Issuer
}

// restConfig routes:
//   - /api: the orders document in front of the orders service, with
//     operation policies (self on listUserOrders, own on createOrder);
//   - /open: the same with allow_unknown_query;
//   - /keys: a 3.1 fixture whose apiKey schemes list scopes;
//   - /v30: a 3.0 fixture;
//   - /report and /enforce: response validation in front of leakyOrders;
//   - /cost: the orders document with default_cost 4.
//
// The meter key's tier refills one unit per hour, so the cost test sees
// each charge exactly.
func restConfig(e *restEnv) string {
	return fmt.Sprintf(`
`+gatewaytest.Server("max_body_bytes: 65536", "shutdown_grace: 5s")+`identity:
  anonymous: true
  oidc:
    - issuer: %[1]q
      audiences: [shop-api]
  api_keys:
    - {name: e2e, sha256: %[2]s, scopes: [orders:read]}
    - {name: writer, sha256: %[3]s, scopes: [orders:read, orders:write]}
    - {name: meter, sha256: %[4]s, scopes: [orders:read], tier: metered}
policies:
  self: "!identity.anonymous && path.id == identity.subject"
  own: "!identity.anonymous && body.userId == identity.subject"
rate_limit:
  tiers:
    anonymous: {rate: 100000, per: 1s, burst: 100000}
    default: {rate: 100000, per: 1s, burst: 100000}
    metered: {rate: 1, per: 1h, burst: 100}
  auth_failures: {rate: 100000, per: 1s, burst: 100000}
rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %[5]q, timeout: 5s}
    strip_prefix: true
    operation_policies: {listUserOrders: self, createOrder: own}
  - name: open
    prefix: /open
    openapi: specs/orders.yaml
    upstream: {url: %[5]q, timeout: 5s}
    strip_prefix: true
    allow_unknown_query: true
  - name: keys
    prefix: /keys
    openapi: rest/orders-apikey.yaml
    upstream: {url: %[5]q, timeout: 5s}
    strip_prefix: true
  - name: v30
    prefix: /v30
    openapi: rest/orders-30.yaml
    upstream: {url: %[5]q, timeout: 5s}
    strip_prefix: true
  - name: report
    prefix: /report
    openapi: specs/orders.yaml
    upstream: {url: %[6]q, timeout: 5s}
    strip_prefix: true
    validate_responses: report
  - name: enforce
    prefix: /enforce
    openapi: specs/orders.yaml
    upstream: {url: %[6]q, timeout: 5s}
    strip_prefix: true
    validate_responses: enforce
  - name: cost
    prefix: /cost
    openapi: specs/orders.yaml
    upstream: {url: %[5]q, timeout: 5s}
    strip_prefix: true
    default_cost: 4
`, e.idp.URL(), gatewaytest.KeyHash(readKey), gatewaytest.KeyHash(writeKey), gatewaytest.KeyHash(meterKey), e.orders.URL, e.leaky.URL)
}

// startGateway runs the gateway, waits until it is ready (its readiness checks
// reach the upstreams) and forgets what the upstreams received so far.
func startGateway(t *testing.T) *restEnv {
	t.Helper()
	return startGatewayWith(t, orders.NewHandler())
}

// startGatewayWith is startGateway with h as the orders service.
func startGatewayWith(t *testing.T, h http.Handler) *restEnv {
	t.Helper()
	e := &restEnv{
		orders: upstreamtest.Start(t, h),
		leaky:  upstreamtest.Start(t, leakyOrders()),
		idp:    oidctest.NewIssuer(t),
	}
	cfg := gatewaytest.WriteConfig(t, restConfig(e))
	if err := os.CopyFS(filepath.Join(filepath.Dir(cfg), "rest"), os.DirFS(filepath.Join("..", "testdata", "rest"))); err != nil {
		t.Fatal(err)
	}
	e.gw = gatewaytest.Start(t, cfg)
	e.orders.Reset()
	e.leaky.Reset()
	return e
}

// bearer is an Authorization header with a token for sub holding scope.
func (e *restEnv) bearer(sub, scope string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.idp.Sign(map[string]any{"sub": sub, "aud": "shop-api", "scope": scope})}
}

func apiKeyHeader(k string) map[string]string { return map[string]string{"X-API-Key": k} }

// reqCase is one request and what must come of it: a refusal (code set) that
// reaches no upstream, or an accepted request whose upstream received
// exactly the request line forward.
type reqCase struct {
	name           string
	method, target string
	hdr            map[string]string
	ctype, body    string
	status         int
	code           string
	pointers       []string
	allow          string // the Allow header of a 405
	forward        string // "METHOD request-target" the upstream must receive
	decoded        string // the upstream's decoded path, when it differs from forward's target
	contains       string // a substring of an accepted answer's body
}

func runCases(t *testing.T, e *restEnv, up *upstreamtest.Server, cases []reqCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up.Reset()
			rp := gatewaytest.Raw(t, e.gw.Addr(), c.method, c.target, c.hdr, c.ctype, c.body)
			got := up.Lines()
			if c.code != "" {
				gatewaytest.WantProblem(t, rp, c.status, c.code, c.pointers)
				if c.allow != "" && rp.Header.Get("Allow") != c.allow {
					t.Errorf("Allow %q, want %q", rp.Header.Get("Allow"), c.allow)
				}
				if len(got) != 0 || up.Count() != 0 {
					t.Fatalf("a refused request reached the upstream: %q", got)
				}
				return
			}
			if rp.Status != c.status {
				t.Fatalf("status %d, want %d: %v", rp.Status, c.status, rp)
			}
			if !slices.Equal(got, []string{c.forward}) {
				t.Fatalf("upstream received %q, want exactly %q", got, c.forward)
			}
			recs := up.Requests()
			wantPath, _, _ := strings.Cut(strings.SplitN(c.forward, " ", 2)[1], "?")
			if c.decoded != "" {
				wantPath = c.decoded
			}
			if len(recs) != 1 || recs[0].Method != c.method || recs[0].Path != wantPath || string(recs[0].Body) != c.body {
				t.Fatalf("upstream recorded %+v, want %s %s with the body sent", recs, c.method, wantPath)
			}
			// Credentials stop at the gateway unless forward_authorization.
			for _, h := range []string{"Authorization", "X-Api-Key"} {
				if v := recs[0].Header.Get(h); v != "" {
					t.Errorf("upstream received %s: %q", h, v)
				}
			}
			if c.contains != "" && !strings.Contains(string(rp.Body), c.contains) {
				t.Fatalf("answer lacks %q: %v", c.contains, rp)
			}
		})
	}
}

// TestRESTPositiveModel: only documented operations pass.
func TestRESTPositiveModel(t *testing.T) {
	e := startGateway(t)
	key := apiKeyHeader(readKey)
	runCases(t, e, e.orders, []reqCase{
		{name: "unknown path", method: "GET", target: "/api/v1/nope", hdr: key, status: 404, code: "NOT_FOUND"},
		{name: "unknown version", method: "GET", target: "/api/v2/orders", hdr: key, status: 404, code: "NOT_FOUND"},
		{name: "unknown sub-resource", method: "GET", target: "/api/v1/orders/1/items", hdr: key, status: 404, code: "NOT_FOUND"},
		{name: "prefix alone", method: "GET", target: "/api", hdr: key, status: 404, code: "NOT_FOUND"},
		{name: "base path alone", method: "GET", target: "/api/v1", hdr: key, status: 404, code: "NOT_FOUND"},
		{name: "no route", method: "GET", target: "/admin/orders", hdr: key, status: 404, code: "NOT_FOUND"},
		{name: "prefix look-alike", method: "GET", target: "/apix/v1/orders", hdr: key, status: 404, code: "NOT_FOUND"},
		{name: "PUT on a collection", method: "PUT", target: "/api/v1/orders", hdr: key, status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, POST"},
		{name: "DELETE on a collection", method: "DELETE", target: "/api/v1/orders", hdr: key, status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, POST"},
		{name: "PATCH on an item", method: "PATCH", target: "/api/v1/orders/1", hdr: key, ctype: "application/json", body: `{}`, status: 405, code: "METHOD_NOT_ALLOWED", allow: "DELETE, GET"},
		{name: "POST on a read-only path", method: "POST", target: "/api/v1/users/2/orders", hdr: key, ctype: "application/json", body: `{}`, status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET"},
		{name: "OPTIONS", method: "OPTIONS", target: "/api/v1/orders", hdr: key, status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, POST"},
		{name: "TRACE", method: "TRACE", target: "/api/v1/orders", hdr: key, status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, POST"},
		{name: "made-up method", method: "BREW", target: "/api/v1/orders", hdr: key, status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, POST"},
		{name: "lower-case method", method: "get", target: "/api/v1/orders", hdr: key, status: 405, code: "METHOD_NOT_ALLOWED", allow: "GET, POST"},
		{name: "documented operation passes", method: "GET", target: "/api/v1/orders", hdr: key, status: 200, forward: "GET /v1/orders", contains: `"orders"`},
	})
	t.Run("HEAD is not GET", func(t *testing.T) {
		e.orders.Reset()
		req, _ := http.NewRequest(http.MethodHead, e.gw.URL("/api/v1/orders"), nil)
		req.Header.Set("X-API-Key", readKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, POST" || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("HEAD: %d %v", resp.StatusCode, resp.Header)
		}
		if n := e.orders.Count(); n != 0 {
			t.Fatalf("HEAD reached the upstream %d times", n)
		}
	})
}

// TestRESTPathBypass is the path-bypass corpus (the docs/ pages, "How it is
// checked"): DELETE /api/v1/orders/{id} needs a bearer token with
// orders:write, and every request here carries only an API key with
// orders:read. Sent canonically the operation answers 403; every variant
// must be refused before matching anything else (400/404/405), and none may
// reach the upstream.
func TestRESTPathBypass(t *testing.T) {
	e := startGateway(t)
	key := apiKeyHeader(readKey)
	unsafe := func(name, target string) reqCase {
		return reqCase{name: name, method: "DELETE", target: target, hdr: key, status: 400, code: "UNSAFE_PATH"}
	}
	refused := func(name, method, target string, status int, code string, pointers ...string) reqCase {
		return reqCase{name: name, method: method, target: target, hdr: key, status: status, code: code, pointers: pointers}
	}
	corpus := []reqCase{
		// The canonical request: it is the operation, and security refuses it.
		refused("canonical", "DELETE", "/api/v1/orders/1", 403, "FORBIDDEN"),
		refused("canonical with an encoded digit", "DELETE", "/api/v1/orders/%31", 403, "FORBIDDEN"),
		refused("canonical with an encoded letter", "DELETE", "/api/v1/%6frders/1", 403, "FORBIDDEN"),
		refused("absolute-form request-target", "DELETE", "http://gateway.test/api/v1/orders/1", 403, "FORBIDDEN"),

		// Traversal.
		unsafe("dot-dot", "/api/v1/orders/../orders/1"),
		unsafe("dot-dot past the base path", "/api/v1/../v1/orders/1"),
		unsafe("dot-dot past the prefix", "/api/../api/v1/orders/1"),
		unsafe("dot-dot at the end", "/api/v1/orders/1/.."),
		unsafe("dot", "/api/v1/./orders/1"),
		unsafe("dot in the prefix", "/api/./v1/orders/1"),
		unsafe("dot-dot with an encoded slash", "/api/v1/x/..%2forders/1"),
		unsafe("absolute-form with dot-dot", "http://gateway.test/api/v1/x/../orders/1"),

		// Encodings.
		unsafe("encoded slash", "/api/v1/orders%2f1"),
		unsafe("encoded slash upper case", "/api/v1/orders%2F1"),
		unsafe("encoded slash in the prefix", "/api%2fv1/orders/1"),
		unsafe("encoded dot-dot", "/api/v1/orders/%2e%2e/orders/1"),
		unsafe("encoded dot-dot upper case", "/api/v1/%2E%2E/v1/orders/1"),
		unsafe("half-encoded dot-dot", "/api/v1/orders/.%2e/orders/1"),
		unsafe("encoded backslash", "/api/v1/orders%5c1"),
		unsafe("encoded backslash upper case", "/api/v1/orders%5C1"),
		unsafe("double-encoded slash", "/api/v1/orders%252f1"),
		unsafe("double-encoded slash upper case", "/api/v1/orders%252F1"),
		unsafe("double-encoded dot-dot", "/api/v1/%252e%252e/orders/1"),
		unsafe("overlong slash (2 bytes)", "/api/v1/orders%c0%af1"),
		unsafe("overlong slash (3 bytes)", "/api/v1/orders%e0%80%af1"),
		unsafe("overlong dot-dot", "/api/v1/orders/%c0%ae%c0%ae/orders/1"),
		unsafe("invalid UTF-8", "/api/v1/orders/%ff"),
		unsafe("truncated UTF-8", "/api/v1/orders/1%e2%82"),
		unsafe("encoded semicolon", "/api/v1/orders/1%3bx=1"),
		unsafe("encoded NUL", "/api/v1/orders/1%00"),
		unsafe("encoded NUL before an extension", "/api/v1/orders/1%00.json"),
		unsafe("encoded tab", "/api/v1/orders/1%09"),
		unsafe("encoded CR LF", "/api/v1/orders/1%0d%0aX-Injected:%20x"),
		refused("IIS %u encoding", "DELETE", "/api/v1/orders%u002f1", 400, gatewaytest.HTTPLayer),
		refused("bare percent", "DELETE", "/api/v1/orders/1%", 400, gatewaytest.HTTPLayer),
		refused("raw tab", "DELETE", "/api/v1/orders/1\t", 400, gatewaytest.HTTPLayer),
		refused("raw NUL", "DELETE", "/api/v1/orders/1\x00", 400, gatewaytest.HTTPLayer),

		// Case.
		refused("upper-case prefix", "DELETE", "/API/v1/orders/1", 404, "NOT_FOUND"),
		unsafe("upper-case base path", "/api/V1/orders/1"),
		unsafe("capitalised segment", "/api/v1/Orders/1"),
		unsafe("upper-case segment", "/api/V1/ORDERS/1"),
		unsafe("long s folds to s", "/api/v1/order%c5%bf/1"),

		// Separators.
		unsafe("double slash", "/api/v1//orders/1"),
		unsafe("double slash after the prefix", "/api//v1/orders/1"),
		unsafe("double slash before the id", "/api/v1/orders//1"),
		unsafe("trailing slash", "/api/v1/orders/1/"),
		unsafe("backslash", "/api/v1/orders\\1"),
		unsafe("backslash traversal", "/api/v1/x\\..\\orders/1"),
		unsafe("matrix parameter", "/api/v1/orders/1;jsessionid=abc"),
		unsafe("empty matrix segment", "/api/v1/orders;/1"),
		unsafe("matrix parameter on the prefix", "/api;x=1/v1/orders/1"),

		// Unicode look-alikes are other paths.
		refused("fullwidth slash", "DELETE", "/api/v1/orders%ef%bc%8f1", 404, "NOT_FOUND"),
		refused("fullwidth letter", "DELETE", "/api/v1/%ef%bd%8frders/1", 404, "NOT_FOUND"),
		refused("division slash", "DELETE", "/api/v1/orders%e2%88%951", 404, "NOT_FOUND"),
		refused("one dot leader for a dot", "DELETE", "/api/v1/orders/%e2%80%a4%e2%80%a4/orders/1", 404, "NOT_FOUND"),

		// Query and fragment tricks.
		refused("question mark splits the path", "DELETE", "/api/v1/orders?/1", 405, "METHOD_NOT_ALLOWED"),
		refused("encoded question mark", "DELETE", "/api/v1/orders%3f/1", 404, "NOT_FOUND"),
		refused("encoded question mark in the id", "DELETE", "/api/v1/orders/1%3f", 400, "VALIDATION_FAILED", "/path/id"),
		refused("encoded hash in the id", "DELETE", "/api/v1/orders/1%23x", 400, "VALIDATION_FAILED", "/path/id"),
		refused("raw hash in the request-target", "DELETE", "/api/v1/orders/1#x", 400, "VALIDATION_FAILED", "/path/id"),
		refused("extension on the id", "DELETE", "/api/v1/orders/1.json", 400, "VALIDATION_FAILED", "/path/id"),
		refused("trailing dot on the id", "DELETE", "/api/v1/orders/1.", 400, "VALIDATION_FAILED", "/path/id"),
		refused("encoded space on the id", "DELETE", "/api/v1/orders/1%20", 400, "VALIDATION_FAILED", "/path/id"),
		refused("leading zero", "DELETE", "/api/v1/orders/01", 400, "VALIDATION_FAILED", "/path/id"),
		refused("method in the query", "DELETE", "/api/v1/orders/1?_method=GET", 400, "VALIDATION_FAILED", "/query/_method"),

		// Method override: the operation is the request line's method.
		{name: "override header on POST", method: "POST", target: "/api/v1/orders/1", hdr: map[string]string{"X-API-Key": readKey, "X-HTTP-Method-Override": "DELETE"}, ctype: "application/json", body: `{}`,
			status: 405, code: "METHOD_NOT_ALLOWED", allow: "DELETE, GET"},
		{name: "override header and _method query on GET", method: "GET", target: "/api/v1/orders/1?_method=DELETE", hdr: map[string]string{"X-API-Key": readKey, "X-HTTP-Method-Override": "DELETE"},
			status: 400, code: "VALIDATION_FAILED", pointers: []string{"/query/_method"}},

		// Too long.
		unsafe("path over 8 KiB", "/api/v1/orders/"+strings.Repeat("1", 9000)),
	}
	if len(corpus) < 40 {
		t.Fatalf("corpus has %d variants, want at least 40", len(corpus))
	}
	runCases(t, e, e.orders, corpus)

	// What passes reaches exactly its documented operation, as matched.
	override := map[string]string{"X-API-Key": readKey, "X-HTTP-Method-Override": "DELETE", "X-HTTP-Method": "DELETE", "X-Method-Override": "DELETE"}
	runCases(t, e, e.orders, []reqCase{
		{name: "GET canonical", method: "GET", target: "/api/v1/orders/1", hdr: key, status: 200, forward: "GET /v1/orders/1", contains: `"id":1`},
		{name: "GET with method override headers stays GET", method: "GET", target: "/api/v1/orders/1", hdr: override, status: 200, forward: "GET /v1/orders/1", contains: `"id":1`},
		{name: "GET absolute-form", method: "GET", target: "http://gateway.test/api/v1/orders/1", hdr: key, status: 200, forward: "GET /v1/orders/1"},
		{name: "GET encoded digit goes up as sent", method: "GET", target: "/api/v1/orders/%31", hdr: key, status: 200, forward: "GET /v1/orders/%31", decoded: "/v1/orders/1"},
		{name: "GET encoded letter goes up as sent", method: "GET", target: "/api/v1/%6frders/1", hdr: key, status: 200, forward: "GET /v1/%6frders/1", decoded: "/v1/orders/1"},
		{name: "DELETE with orders:write", method: "DELETE", target: "/api/v1/orders/5", hdr: e.bearer("1", "orders:write"), status: 204, forward: "DELETE /v1/orders/5"},
	})
	t.Run("order 1 survived the corpus", func(t *testing.T) {
		rp := gatewaytest.Raw(t, e.gw.Addr(), "GET", "/api/v1/orders/1", key, "", "")
		if rp.Status != 200 {
			t.Fatalf("order 1 is gone: %v", rp)
		}
	})
}

// goodOrder is a valid createOrder body for user "2".
const goodOrder = `{"userId":"2","items":[{"sku":"1","quantity":1,"unitPrice":899}]}`

func orderWith(extra string) string {
	return `{"userId":"2","items":[{"sku":"1","quantity":1,"unitPrice":899}],` + extra + `}`
}

// TestRESTRequestValidation: parameters and bodies against the 3.1 orders
// document and a 3.0 fixture, each failure with its JSON pointer (the docs/ pages
// item 4).
func TestRESTRequestValidation(t *testing.T) {
	e := startGateway(t)
	key := apiKeyHeader(readKey)
	writer := e.bearer("2", "orders:read orders:write")
	bad := func(name, method, target string, hdr map[string]string, ctype, body string, pointers ...string) reqCase {
		return reqCase{name: name, method: method, target: target, hdr: hdr, ctype: ctype, body: body, status: 400, code: "VALIDATION_FAILED", pointers: pointers}
	}
	const js = "application/json"
	runCases(t, e, e.orders, []reqCase{
		// Query parameters.
		bad("limit above maximum", "GET", "/api/v1/orders?limit=1000", key, "", "", "/query/limit"),
		bad("limit below minimum", "GET", "/api/v1/orders?limit=0", key, "", "", "/query/limit"),
		bad("limit not an integer", "GET", "/api/v1/orders?limit=abc", key, "", "", "/query/limit"),
		bad("limit fractional", "GET", "/api/v1/orders?limit=1.5", key, "", "", "/query/limit"),
		bad("limit repeated", "GET", "/api/v1/orders?limit=1&limit=2", key, "", "", "/query/limit"),
		bad("status outside the enum", "GET", "/api/v1/orders?status=bogus", key, "", "", "/query/status"),
		bad("every failure listed", "GET", "/api/v1/orders?limit=1000&status=bogus&debug=1", key, "", "", "/query/limit", "/query/status", "/query/debug"),
		bad("unknown query parameter", "GET", "/api/v1/orders?foo=1", key, "", "", "/query/foo"),
		bad("malformed query", "GET", "/api/v1/orders?limit=%zz", key, "", "", "/query"),
		{name: "valid query", method: "GET", target: "/api/v1/orders?limit=2&status=paid", hdr: key, status: 200, forward: "GET /v1/orders?limit=2&status=paid", contains: `"count":1`},
		{name: "unknown query allowed by config", method: "GET", target: "/open/v1/orders?foo=1", hdr: key, status: 200, forward: "GET /v1/orders?foo=1"},
		bad("known query still checked when unknown is allowed", "GET", "/open/v1/orders?foo=1&limit=1000", key, "", "", "/query/limit"),

		// Path parameters.
		bad("id below minimum", "GET", "/api/v1/orders/0", key, "", "", "/path/id"),
		bad("id not an integer", "GET", "/api/v1/orders/abc", key, "", "", "/path/id"),
		bad("id beyond int64", "GET", "/api/v1/orders/99999999999999999999", key, "", "", "/path/id"),
		bad("user id against its pattern", "GET", "/api/v1/users/a%20b/orders", key, "", "", "/path/id"),

		// Bodies.
		bad("body on a bodiless operation", "GET", "/api/v1/orders/1", key, js, `{}`, "/body"),
		bad("missing body", "POST", "/api/v1/orders", writer, js, "", "/body"),
		bad("missing required property", "POST", "/api/v1/orders", writer, js, `{"userId":"2"}`, "/body"),
		bad("wrong type", "POST", "/api/v1/orders", writer, js, `{"userId":2,"items":[{"sku":"1","quantity":1,"unitPrice":899}]}`, "/body/userId"),
		bad("wrong type nested", "POST", "/api/v1/orders", writer, js, `{"userId":"2","items":[{"sku":"1","quantity":"1","unitPrice":899}]}`, "/body/items/0/quantity"),
		bad("below minimum nested", "POST", "/api/v1/orders", writer, js, `{"userId":"2","items":[{"sku":"1","quantity":0,"unitPrice":899}]}`, "/body/items/0/quantity"),
		bad("additional property", "POST", "/api/v1/orders", writer, js, orderWith(`"admin":true`), "/body"),
		bad("additional property nested", "POST", "/api/v1/orders", writer, js, `{"userId":"2","items":[{"sku":"1","quantity":1,"unitPrice":0,"discount":100}]}`, "/body/items/0"),
		bad("string-or-null refuses a number", "POST", "/api/v1/orders", writer, js, orderWith(`"note":5`), "/body/note"),
		bad("duplicate key", "POST", "/api/v1/orders", writer, js, `{"userId":"evil","userId":"2","items":[{"sku":"1","quantity":1,"unitPrice":899}]}`, "/body"),
		bad("duplicate key spelled with an escape", "POST", "/api/v1/orders", writer, js, `{"userId":"2","\u0075serId":"3","items":[{"sku":"1","quantity":1,"unitPrice":899}]}`, "/body"),
		// Go's encoding/json (the orders service) matches keys without
		// regard to case: the variant must not pass as an unknown extra.
		bad("case variant of a key", "POST", "/api/v1/orders", writer, js, orderWith(`"UserID":"3"`), "/body"),
		bad("duplicate key nested", "POST", "/api/v1/orders", writer, js, `{"userId":"2","items":[{"sku":"1","quantity":1,"quantity":1000,"unitPrice":899}]}`, "/body"),
		// The top object is level 1: 63 arrays inside it reach level 64,
		// which parses (and then fails the schema); 64 arrays do not parse.
		bad("nested 64 deep parses", "POST", "/api/v1/orders", writer, js, orderWith(`"note":`+strings.Repeat("[", 63)+strings.Repeat("]", 63)), "/body/note"),
		bad("nested 65 deep refused", "POST", "/api/v1/orders", writer, js, orderWith(`"note":`+strings.Repeat("[", 64)+strings.Repeat("]", 64)), "/body"),
		bad("nested 1000 deep refused", "POST", "/api/v1/orders", writer, js, strings.Repeat("[", 1000)+strings.Repeat("]", 1000), "/body"),
		bad("trailing data", "POST", "/api/v1/orders", writer, js, goodOrder+`{}`, "/body"),
		bad("not JSON", "POST", "/api/v1/orders", writer, js, `{"userId":`, "/body"),
		bad("invalid UTF-8 in a string", "POST", "/api/v1/orders", writer, js, "{\"userId\":\"2\",\"items\":[{\"sku\":\"\xff\",\"quantity\":1,\"unitPrice\":1}]}", "/body"),
		bad("header against its pattern", "POST", "/api/v1/orders", map[string]string{"Authorization": writer["Authorization"], "Idempotency-Key": "bad key!"}, js, goodOrder, "/header/Idempotency-Key"),
		{name: "wrong content type", method: "POST", target: "/api/v1/orders", hdr: writer, ctype: "text/plain", body: goodOrder, status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "form content type", method: "POST", target: "/api/v1/orders", hdr: writer, ctype: "application/x-www-form-urlencoded", body: "userId=2", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "no content type", method: "POST", target: "/api/v1/orders", hdr: writer, body: goodOrder, status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "string-or-null accepts null", method: "POST", target: "/api/v1/orders", hdr: writer, ctype: js, body: orderWith(`"note":null`), status: 201, forward: "POST /v1/orders", contains: `"note":null`},
		{name: "string-or-null accepts a string", method: "POST", target: "/api/v1/orders", hdr: writer, ctype: js, body: orderWith(`"note":"ring twice"`), status: 201, forward: "POST /v1/orders", contains: `"ring twice"`},
		{name: "JSON with a charset", method: "POST", target: "/api/v1/orders", hdr: writer, ctype: "application/json; charset=utf-8", body: goodOrder, status: 201, forward: "POST /v1/orders"},

		// The same checks on OpenAPI 3.0 semantics.
		bad("3.0: limit above maximum", "GET", "/v30/v1/orders?limit=1000", key, "", "", "/query/limit"),
		bad("3.0: status outside the enum", "GET", "/v30/v1/orders?status=lost", key, "", "", "/query/status"),
		bad("3.0: unknown query parameter", "GET", "/v30/v1/orders?foo=1", key, "", "", "/query/foo"),
		bad("3.0: id not an integer", "GET", "/v30/v1/orders/abc", key, "", "", "/path/id"),
		bad("3.0: nullable refuses a number", "POST", "/v30/v1/orders", key, js, orderWith(`"note":5`), "/body/note"),
		bad("3.0: additional property", "POST", "/v30/v1/orders", key, js, orderWith(`"admin":true`), "/body"),
		bad("3.0: missing required property", "POST", "/v30/v1/orders", key, js, `{"items":[{"sku":"1","quantity":1,"unitPrice":1}]}`, "/body"),
		bad("3.0: duplicate key", "POST", "/v30/v1/orders", key, js, `{"userId":"2","userId":"3","items":[{"sku":"1","quantity":1,"unitPrice":1}]}`, "/body"),
		{name: "3.0: wrong content type", method: "POST", target: "/v30/v1/orders", hdr: key, ctype: "text/plain", body: goodOrder, status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "3.0: nullable accepts null", method: "POST", target: "/v30/v1/orders", hdr: key, ctype: js, body: orderWith(`"note":null`), status: 201, forward: "POST /v1/orders"},
		{name: "3.0: valid query", method: "GET", target: "/v30/v1/orders?limit=1", hdr: key, status: 200, forward: "GET /v1/orders?limit=1"},
	})
}

// TestRESTSecurity: the operation's security requirements against the
// shared identity. createOrder and deleteOrder need a
// bearer token with orders:write; the rest a token with orders:read or any
// API key. The /keys fixture puts scopes on its apiKey schemes.
func TestRESTSecurity(t *testing.T) {
	e := startGateway(t)
	const js = "application/json"
	read, write := apiKeyHeader(readKey), apiKeyHeader(writeKey)
	tokRead, tokWrite, tokNone := e.bearer("2", "orders:read"), e.bearer("2", "orders:read orders:write"), e.bearer("2", "")
	expired := map[string]string{"Authorization": "Bearer " + e.idp.Sign(map[string]any{"sub": "2", "aud": "shop-api", "scope": "orders:write"}, oidctest.Expired())}
	deny := func(name, method, target string, hdr map[string]string, body string, status int, code string) reqCase {
		c := reqCase{name: name, method: method, target: target, hdr: hdr, status: status, code: code}
		if body != "" {
			c.ctype, c.body = js, body
		}
		return c
	}
	runCases(t, e, e.orders, []reqCase{
		deny("no credentials", "GET", "/api/v1/orders", nil, "", 401, "UNAUTHENTICATED"),
		deny("no credentials on a write", "POST", "/api/v1/orders", nil, goodOrder, 401, "UNAUTHENTICATED"),
		deny("unknown API key", "GET", "/api/v1/orders", apiKeyHeader("not-a-key"), "", 401, "UNAUTHENTICATED"),
		deny("expired token", "GET", "/api/v1/orders", expired, "", 401, "UNAUTHENTICATED"),
		deny("token without orders:read", "GET", "/api/v1/orders", tokNone, "", 403, "FORBIDDEN"),
		deny("API key without orders:write creates", "POST", "/api/v1/orders", read, goodOrder, 403, "FORBIDDEN"),
		// The document asks for a bearer token: an API key holding the
		// scope is still not an oauth2 credential.
		deny("API key with orders:write on a bearer-only operation", "POST", "/api/v1/orders", write, goodOrder, 403, "FORBIDDEN"),
		deny("token without orders:write creates", "POST", "/api/v1/orders", tokRead, goodOrder, 403, "FORBIDDEN"),
		deny("API key without orders:write deletes", "DELETE", "/api/v1/orders/4", read, "", 403, "FORBIDDEN"),
		deny("token without orders:write deletes", "DELETE", "/api/v1/orders/4", tokRead, "", 403, "FORBIDDEN"),
		{name: "any API key lists", method: "GET", target: "/api/v1/orders", hdr: read, status: 200, forward: "GET /v1/orders"},
		{name: "token with orders:read lists", method: "GET", target: "/api/v1/orders", hdr: tokRead, status: 200, forward: "GET /v1/orders"},
		{name: "token with orders:write creates", method: "POST", target: "/api/v1/orders", hdr: tokWrite, ctype: js, body: goodOrder, status: 201, forward: "POST /v1/orders", contains: `"userId":"2"`},
		{name: "token with orders:write deletes", method: "DELETE", target: "/api/v1/orders/4", hdr: tokWrite, status: 204, forward: "DELETE /v1/orders/4"},

		// apiKey schemes with scopes (OpenAPI 3.1).
		deny("keys: no credentials", "GET", "/keys/v1/orders", nil, "", 401, "UNAUTHENTICATED"),
		deny("keys: a token is not an API key", "GET", "/keys/v1/orders", tokWrite, "", 403, "FORBIDDEN"),
		deny("keys: API key without orders:write", "POST", "/keys/v1/orders", read, goodOrder, 403, "FORBIDDEN"),
		{name: "keys: API key with orders:read lists", method: "GET", target: "/keys/v1/orders", hdr: read, status: 200, forward: "GET /v1/orders"},
		{name: "keys: API key with orders:write creates", method: "POST", target: "/keys/v1/orders", hdr: write, ctype: js, body: goodOrder, status: 201, forward: "POST /v1/orders"},
	})
	t.Run("401 carries a challenge", func(t *testing.T) {
		for _, c := range []struct {
			name string
			hdr  map[string]string
			want string
		}{
			{"no credentials", nil, `Bearer realm="portcullis"`},
			{"bad credentials", apiKeyHeader("not-a-key"), `error="invalid_token"`},
		} {
			rp := gatewaytest.Raw(t, e.gw.Addr(), "GET", "/api/v1/orders", c.hdr, "", "")
			gatewaytest.WantProblem(t, rp, 401, "UNAUTHENTICATED", nil)
			if ch := rp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") || !strings.Contains(ch, c.want) {
				t.Errorf("%s: WWW-Authenticate %q, want it to hold %q", c.name, ch, c.want)
			}
		}
	})
}

// TestRESTOperationPolicy: CEL policies attached by operationId see the
// path parameters and the parsed body. self compares
// path.id with the token's subject; own compares body.userId with it. An
// API key's subject is "apikey:<name>", so it never owns a user's orders.
func TestRESTOperationPolicy(t *testing.T) {
	e := startGateway(t)
	const js = "application/json"
	bob := e.bearer("2", "orders:read orders:write")
	runCases(t, e, e.orders, []reqCase{
		{name: "own orders", method: "GET", target: "/api/v1/users/2/orders", hdr: bob, status: 200, forward: "GET /v1/users/2/orders", contains: `"userId":"2"`},
		{name: "own orders, id percent-encoded", method: "GET", target: "/api/v1/users/%32/orders", hdr: bob, status: 200, forward: "GET /v1/users/%32/orders", decoded: "/v1/users/2/orders"},
		{name: "someone else's orders", method: "GET", target: "/api/v1/users/3/orders", hdr: bob, status: 403, code: "FORBIDDEN"},
		{name: "a prefix of the subject is not the subject", method: "GET", target: "/api/v1/users/22/orders", hdr: bob, status: 403, code: "FORBIDDEN"},
		{name: "API key named like the user", method: "GET", target: "/api/v1/users/e2e/orders", hdr: apiKeyHeader(readKey), status: 403, code: "FORBIDDEN"},
		{name: "anonymous is refused before the policy", method: "GET", target: "/api/v1/users/2/orders", status: 401, code: "UNAUTHENTICATED"},
		{name: "validation comes before the policy", method: "GET", target: "/api/v1/users/2/orders?all=1", hdr: bob, status: 400, code: "VALIDATION_FAILED", pointers: []string{"/query/all"}},
		{name: "order for oneself", method: "POST", target: "/api/v1/orders", hdr: bob, ctype: js, body: goodOrder, status: 201, forward: "POST /v1/orders"},
		{name: "order for someone else", method: "POST", target: "/api/v1/orders", hdr: bob, ctype: js, body: strings.Replace(goodOrder, `"2"`, `"3"`, 1), status: 403, code: "FORBIDDEN"},
		{name: "policy-free route", method: "GET", target: "/cost/v1/users/3/orders", hdr: bob, status: 200, forward: "GET /v1/users/3/orders"},
	})
}

// TestRESTResponseValidation: validate_responses report passes a broken
// answer on and counts it; enforce replaces it with a 502 problem that
// carries none of the upstream's data.
func TestRESTResponseValidation(t *testing.T) {
	e := startGateway(t)
	key := apiKeyHeader(readKey)
	for _, c := range []struct {
		name, path string
		status     int // the upstream's
		ctype      string
		leak       bool
	}{
		{"undocumented field", "/v1/orders", 200, "application/json", true},
		{"undocumented status", "/v1/orders/1", 418, "application/json", true},
		{"undocumented content type", "/v1/orders/3", 200, "text/html", true},
		{"valid answer", "/v1/orders/2", 200, "application/json", false},
	} {
		t.Run("report: "+c.name, func(t *testing.T) {
			e.leaky.Reset()
			rp := gatewaytest.Raw(t, e.gw.Addr(), "GET", "/report"+c.path, key, "", "")
			if rp.Status != c.status || rp.Header.Get("Content-Type") != c.ctype {
				t.Fatalf("report changed the answer: %v", rp)
			}
			if leaked := strings.Contains(string(rp.Body), "internal-margin-42"); leaked != c.leak {
				t.Fatalf("report must pass the answer on unchanged: %v", rp)
			}
			if got := e.leaky.Lines(); !slices.Equal(got, []string{"GET " + c.path}) {
				t.Fatalf("upstream received %q", got)
			}
		})
		t.Run("enforce: "+c.name, func(t *testing.T) {
			e.leaky.Reset()
			rp := gatewaytest.Raw(t, e.gw.Addr(), "GET", "/enforce"+c.path, key, "", "")
			if got := e.leaky.Lines(); !slices.Equal(got, []string{"GET " + c.path}) {
				t.Fatalf("upstream received %q", got)
			}
			if !c.leak {
				if rp.Status != 200 || string(rp.Body) != validOrder+"\n" && string(rp.Body) != validOrder {
					t.Fatalf("a valid answer must pass: %v", rp)
				}
				return
			}
			gatewaytest.WantProblem(t, rp, 502, "RESPONSE_VALIDATION_FAILED", nil)
			for _, s := range []string{"internal-margin-42", "secret", "teapot", "127.0.0.1", strings.TrimPrefix(e.leaky.URL, "http://")} {
				if strings.Contains(string(rp.Body), s) {
					t.Fatalf("the 502 leaks %q: %s", s, rp.Body)
				}
			}
		})
	}
	t.Run("violations are counted per route and operation", func(t *testing.T) {
		metrics := gatewaytest.Send(t, http.MethodGet, e.gw.AdminURL("/metrics"), nil, "").Body
		for _, want := range []string{
			`portcullis_response_violations_total{operation="listOrders",route="report"} 1`,
			`portcullis_response_violations_total{operation="getOrder",route="report"} 2`,
			`portcullis_response_violations_total{operation="listOrders",route="enforce"} 1`,
			`portcullis_response_violations_total{operation="getOrder",route="enforce"} 2`,
		} {
			if !bytes.Contains(metrics, []byte(want+"\n")) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if bytes.Contains(metrics, []byte(`portcullis_response_violations_total{operation="listOrders",route="orders"}`)) {
			t.Error("a route with validate_responses off counted violations")
		}
	})
}

var remainingRE = regexp.MustCompile(`^"metered";r=(\d+);t=\d+$`)

// TestRESTCost: each operation's x-portcullis-cost (else the route's
// default_cost) is charged to the shared limiter. The
// metered tier refills one unit an hour, so RateLimit's r drops by exactly
// each charge; a refusal before forwarding costs the penalty (1), not the
// operation.
func TestRESTCost(t *testing.T) {
	e := startGateway(t)
	meter := apiKeyHeader(meterKey)
	steps := []struct {
		name           string
		method, target string
		status         int
		remaining      int
	}{
		{"listOrders costs its x-portcullis-cost 5", "GET", "/api/v1/orders", 200, 95},
		{"getOrder costs the default 1", "GET", "/api/v1/orders/1", 200, 94},
		{"getOrder costs the route's default_cost 4", "GET", "/cost/v1/orders/1", 200, 90},
		{"listUserOrders costs its x-portcullis-cost 2 over default_cost", "GET", "/cost/v1/users/2/orders", 200, 88},
		{"a policy refusal costs the penalty", "GET", "/api/v1/users/2/orders", 403, 87},
		{"a security refusal costs the penalty", "DELETE", "/api/v1/orders/1", 403, 86},
		{"a validation refusal costs the penalty", "GET", "/api/v1/orders?limit=1000", 400, 85},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			rp := gatewaytest.Raw(t, e.gw.Addr(), s.method, s.target, meter, "", "")
			if rp.Status != s.status {
				t.Fatalf("status %d, want %d: %v", rp.Status, s.status, rp)
			}
			if p := rp.Header.Get("RateLimit-Policy"); p != `"metered";q=100;w=360000` {
				t.Errorf("RateLimit-Policy %q", p)
			}
			m := remainingRE.FindStringSubmatch(rp.Header.Get("RateLimit"))
			if m == nil {
				t.Fatalf("RateLimit %q", rp.Header.Get("RateLimit"))
			}
			if r, _ := strconv.Atoi(m[1]); r != s.remaining {
				t.Fatalf("RateLimit r=%d, want %d", r, s.remaining)
			}
		})
	}
}

// methodOverride makes h honour X-HTTP-Method-Override, as many web
// frameworks' method-override middleware does.
func methodOverride(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := r.Header.Get("X-HTTP-Method-Override"); m != "" {
			r.Method = m
		}
		h.ServeHTTP(w, r)
	})
}

// TestRESTMethodOverrideNotForwarded: the gateway authorises the request
// line's method, so X-HTTP-Method-Override (and X-HTTP-Method,
// X-Method-Override) must never reach the upstream: one that honours the
// header would run an operation the gateway never matched (here a key with
// only orders:read deleting an order through getOrder).
func TestRESTMethodOverrideNotForwarded(t *testing.T) {
	e := startGatewayWith(t, methodOverride(orders.NewHandler()))
	hdr := map[string]string{"X-API-Key": readKey, "X-HTTP-Method-Override": "DELETE"}
	rp := gatewaytest.Raw(t, e.gw.Addr(), "GET", "/api/v1/orders/3", hdr, "", "")
	for _, r := range e.orders.Requests() {
		for _, h := range []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"} {
			if v := r.Header.Get(h); v != "" {
				t.Errorf("upstream received %s: %q (gateway answered %d)", h, v, rp.Status)
			}
		}
	}
	if after := gatewaytest.Raw(t, e.gw.Addr(), "GET", "/api/v1/orders/3", apiKeyHeader(readKey), "", ""); after.Status != 200 {
		t.Errorf("a read-only key deleted order 3: GET afterwards is %d", after.Status)
	}
}

// TestRESTIntegerParamNotation: integer parameters must be written as
// plain integers. "1e0", "1.0" and "0.5e1" are integers to JSON Schema, but
// upstreams parse such text differently (Go's strconv refuses it,
// JavaScript's parseInt("0.5e1") is 0, below the documented minimum), so
// the value validated would not be the one used: 400 with the pointer.
func TestRESTIntegerParamNotation(t *testing.T) {
	e := startGateway(t)
	key := apiKeyHeader(readKey)
	runCases(t, e, e.orders, []reqCase{
		{name: "path id in exponent notation", method: "GET", target: "/api/v1/orders/1e0", hdr: key, status: 400, code: "VALIDATION_FAILED", pointers: []string{"/path/id"}},
		{name: "path id with a fraction", method: "GET", target: "/api/v1/orders/1.0", hdr: key, status: 400, code: "VALIDATION_FAILED", pointers: []string{"/path/id"}},
		{name: "query limit whose integer prefix is 0", method: "GET", target: "/api/v1/orders?limit=0.5e1", hdr: key, status: 400, code: "VALIDATION_FAILED", pointers: []string{"/query/limit"}},
	})
}
