package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/graphqlhttp"
	"github.com/portcullis-gw/portcullis/gateway/resthttp"
	"github.com/portcullis-gw/portcullis/upstream"
)

// recorder is a real upstream that remembers what reached it.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	srv  *httptest.Server
}

type recorded struct {
	Method, Path, RawPath, Query string
	Header                       http.Header
	Body                         string
}

func newRecorder(t testing.TB, reply string) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Clone(), string(b)})
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, reply)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (rec *recorder) got() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recorded(nil), rec.reqs...)
}

type harness struct {
	t       testing.TB
	gw      *Gateway
	srv     *httptest.Server
	gql     *recorder
	rest    *recorder
	admin   *recorder
	logs    *bytes.Buffer
	logsMu  *sync.Mutex
	baseURL string
}

// syncBuffer is an io.Writer safe for the server's goroutines.
type syncBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (s syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

const baseConfig = `
identity: {anonymous: true}
server:
  max_body_bytes: 2048
  trusted_proxies: [10.9.0.0/16]
graphql:
  - name: shop
    path: /graphql
    upstream: {url: "{{gql}}/query", timeout: 2s}
    schema: {supergraph: schema.graphql}
    limits: {max_batch: 3}
  - name: nobatch
    path: /nobatch
    upstream: {url: "{{gql}}/query", timeout: 2s}
    schema: {supergraph: schema.graphql}
rest:
  - name: api
    prefix: /api
    openapi: orders.yaml
    upstream: {url: "{{rest}}", timeout: 2s}
  - name: admin-api
    prefix: /api/admin
    openapi: orders.yaml
    upstream: {url: "{{admin}}/base", timeout: 2s}
    strip_prefix: true
`

func newHarness(t testing.TB, yaml string, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, logs: &bytes.Buffer{}, logsMu: &sync.Mutex{}}
	h.gql = newRecorder(t, `{"data":{"hello":"world"}}`)
	h.rest = newRecorder(t, `{"orders":[]}`)
	h.admin = newRecorder(t, `{"admin":true}`)
	yaml = strings.NewReplacer("{{gql}}", h.gql.srv.URL, "{{rest}}", h.rest.srv.URL, "{{admin}}", h.admin.srv.URL).Replace(yaml)
	dir := t.TempDir()
	copyFile(t, "testdata/schema.graphql", filepath.Join(dir, "schema.graphql"))
	copyFile(t, "testdata/orders.yaml", filepath.Join(dir, "orders.yaml"))
	path := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("loading config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(syncBuffer{h.logsMu, h.logs}, nil))
	gw, err := New(cfg, append([]Option{WithLogger(log), WithAccessLog(io.Discard)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.gw = gw
	h.srv = httptest.NewServer(gw.Handler())
	t.Cleanup(func() { h.srv.Close(); gw.Close() })
	h.baseURL = h.srv.URL
	return h
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) do(method, path string, hdr map[string]string, body string) (*http.Response, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.baseURL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// rawDo sends a request line verbatim, so paths reach the server without
// the client library cleaning them.
func (h *harness) rawDo(requestLine string) (int, string) {
	h.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.baseURL, "http://"))
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, requestLine+"\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

// gqlCode extracts the first GraphQL error code of a response body.
func gqlCode(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(body, &r); err != nil || len(r.Errors) == 0 {
		t.Fatalf("not a GraphQL error response: %s", body)
	}
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

// problemCode checks a problem+json body and returns its code.
func problemCode(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != resthttp.MediaProblem {
		t.Fatalf("Content-Type = %q, want %q (body %s)", ct, resthttp.MediaProblem, body)
	}
	var p resthttp.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("bad problem: %v: %s", err, body)
	}
	if p.Status != resp.StatusCode || p.Type == "" || p.Title == "" {
		t.Fatalf("incomplete problem %+v for status %d", p, resp.StatusCode)
	}
	return p.Code
}

func TestGraphQLForwarding(t *testing.T) {
	h := newHarness(t, baseConfig)
	body := `{"query":"{ hello }"}`
	resp, got := h.do("POST", "/graphql", map[string]string{
		"Content-Type":    "application/json",
		"X-Forwarded-For": "6.6.6.6",
		"Forwarded":       "for=6.6.6.6",
		"X-Real-IP":       "6.6.6.6",
		"X-Request-Id":    "client-chosen",
	}, body)
	if resp.StatusCode != 200 || string(got) != `{"data":{"hello":"world"}}` {
		t.Fatalf("got %d %s", resp.StatusCode, got)
	}
	reqs := h.gql.got()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/query" || r.Body != body {
		t.Errorf("upstream got %s %q", r.Path, r.Body)
	}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q: client-sent value must be replaced", xff)
	}
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != "" {
		t.Errorf("client-sent Forwarded/X-Real-IP reached the upstream: %v", r.Header)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" || id == "client-chosen" {
		t.Errorf("X-Request-Id = %q: an untrusted client's ID must be replaced", id)
	}
	if r.Header.Get("X-Request-Id") != id {
		t.Errorf("upstream X-Request-Id = %q, want %q", r.Header.Get("X-Request-Id"), id)
	}
}

func TestGraphQLGet(t *testing.T) {
	h := newHarness(t, baseConfig)
	resp, body := h.do("GET", "/graphql?query=%7Bhello%7D", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET query: %d %s", resp.StatusCode, body)
	}
	if got := h.gql.got(); len(got) != 1 || got[0].Method != "POST" || got[0].Body != `{"query":"{hello}"}` || got[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("upstream got %+v", got)
	}
	resp, body = h.do("GET", "/graphql?query=mutation%7BsetHello(value:%22x%22)%7D", nil, "")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || gqlCode(t, body) != errcode.MethodNotAllowed {
		t.Fatalf("GET mutation: %d allow=%q %s", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
	if n := len(h.gql.got()); n != 1 {
		t.Fatalf("a refused GET mutation reached the upstream (%d requests)", n)
	}
}

func TestGraphQLRefusals(t *testing.T) {
	h := newHarness(t, baseConfig)
	big := `{"query":"{ hello }","variables":{"pad":"` + strings.Repeat("x", 4096) + `"}}`
	cases := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		body   string
		status int
		code   string
	}{
		{"text/plain without preflight header", "POST", "/graphql", map[string]string{"Content-Type": "text/plain"}, `{"query":"{hello}"}`, 400, errcode.CSRF},
		{"form without preflight header", "POST", "/graphql", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, `query=x`, 400, errcode.CSRF},
		{"multipart without preflight header", "POST", "/graphql", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, `--x--`, 400, errcode.CSRF},
		{"no content type", "POST", "/graphql", map[string]string{"Content-Type": ""}, `{"query":"{hello}"}`, 400, errcode.CSRF},
		{"empty preflight header", "POST", "/graphql", map[string]string{"Content-Type": "text/plain", "X-Portcullis-CSRF": ""}, `{"query":"{hello}"}`, 400, errcode.CSRF},
		{"form with preflight header is still not JSON", "POST", "/graphql", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Portcullis-CSRF": "1"}, `query=x`, 415, errcode.UnsupportedMedia},
		{"xml", "POST", "/graphql", map[string]string{"Content-Type": "application/xml"}, `<q/>`, 415, errcode.UnsupportedMedia},
		{"PUT", "PUT", "/graphql", jsonCT, `{"query":"{hello}"}`, 405, errcode.MethodNotAllowed},
		{"not JSON", "POST", "/graphql", jsonCT, `{"query":`, 400, errcode.BadRequest},
		{"missing query", "POST", "/graphql", jsonCT, `{"variables":{}}`, 400, errcode.BadRequest},
		{"syntax error", "POST", "/graphql", jsonCT, `{"query":"{ hello "}`, 400, analysis.CodeParseFailed},
		{"two operations without a name", "POST", "/graphql", jsonCT, `{"query":"query A { hello } query B { hello }"}`, 400, analysis.CodeValidationFailed},
		{"unknown operation name", "POST", "/graphql", jsonCT, `{"query":"query A { hello }","operationName":"B"}`, 400, analysis.CodeValidationFailed},
		{"unknown field", "POST", "/graphql", jsonCT, `{"query":"{ hello secret }"}`, 400, analysis.CodeValidationFailed},
		{"batch over max_batch", "POST", "/graphql", jsonCT, `[{"query":"{hello}"},{"query":"{hello}"},{"query":"{hello}"},{"query":"{hello}"}]`, 400, analysis.CodeMaxBatch},
		{"batch where batching is off", "POST", "/nobatch", jsonCT, `[{"query":"{hello}"},{"query":"{hello}"}]`, 400, analysis.CodeMaxBatch},
		{"empty batch", "POST", "/graphql", jsonCT, `[]`, 400, errcode.BadRequest},
		{"body over max_body_bytes", "POST", "/graphql", jsonCT, big, 413, errcode.TooLarge},
		{"bad variables over GET", "GET", "/graphql?query=%7Bhello%7D&variables=%5B", nil, "", 400, errcode.BadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.gql.got())
			resp, body := h.do(c.method, c.path, c.hdr, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if code := gqlCode(t, body); code != c.code {
				t.Fatalf("code %q, want %q", code, c.code)
			}
			if n := len(h.gql.got()); n != before {
				t.Fatalf("a refused request reached the upstream")
			}
		})
	}
}

func TestGraphQLAccepted(t *testing.T) {
	h := newHarness(t, baseConfig)
	cases := []struct {
		name string
		hdr  map[string]string
		body string
	}{
		{"text/plain with X-Portcullis-CSRF", map[string]string{"Content-Type": "text/plain", "X-Portcullis-CSRF": "1"}, `{"query":"{hello}"}`},
		{"text/plain with Apollo-Require-Preflight", map[string]string{"Content-Type": "text/plain", "Apollo-Require-Preflight": "true"}, `{"query":"{hello}"}`},
		{"json with charset", map[string]string{"Content-Type": "application/json; charset=utf-8"}, `{"query":"{hello}"}`},
		{"batch within max_batch", jsonCT, `[{"query":"{hello}"},{"query":"query Q { hello }","operationName":"Q"}]`},
		{"named operation among several", jsonCT, `{"query":"query A { hello } mutation B { setHello(value:\"x\") }","operationName":"B"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.gql.got())
			resp, body := h.do("POST", "/graphql", c.hdr, c.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			got := h.gql.got()
			if n := len(got); n != before+1 {
				t.Fatalf("upstream got %d new requests, want 1", n-before)
			}
			if ct := got[len(got)-1].Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("upstream Content-Type %q", ct)
			}
		})
	}
}

func TestGraphQLResponseMediaType(t *testing.T) {
	h := newHarness(t, baseConfig)
	resp, _ := h.do("POST", "/graphql", map[string]string{"Content-Type": "application/json", "Accept": "application/graphql-response+json"}, `{"query":"{"}`)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, graphqlhttp.MediaGraphQLResponse) {
		t.Errorf("Content-Type = %q for a client accepting %s", ct, graphqlhttp.MediaGraphQLResponse)
	}
	resp, _ = h.do("POST", "/graphql", jsonCT, `{"query":"{"}`)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, graphqlhttp.MediaJSON) {
		t.Errorf("Content-Type = %q for a plain client", ct)
	}
}

func TestRESTRouting(t *testing.T) {
	h := newHarness(t, baseConfig)
	cases := []struct {
		name     string
		method   string
		path     string
		status   int
		code     string
		upstream *recorder
		wantPath string
	}{
		{"documented operation", "GET", "/api/v1/orders", 200, "", h.rest, "/api/v1/orders"},
		{"longest prefix wins and strips", "GET", "/api/admin/v1/orders", 200, "", h.admin, "/base/v1/orders"},
		{"prefix itself is not an operation", "GET", "/api", 404, errcode.NotFound, nil, ""},
		{"undocumented path under a prefix", "GET", "/api/v1/secret", 404, errcode.NotFound, nil, ""},
		{"undocumented method", "DELETE", "/api/v1/orders", 405, errcode.MethodNotAllowed, nil, ""},
		{"undocumented query parameter", "GET", "/api/v1/orders?debug=1", 400, "VALIDATION_FAILED", nil, ""},
		{"prefix is not a string prefix", "GET", "/apix", 404, errcode.NotFound, nil, ""},
		{"unknown path", "GET", "/nowhere", 404, errcode.NotFound, nil, ""},
		{"root", "GET", "/", 404, errcode.NotFound, nil, ""},
		{"graphql path is exact", "GET", "/graphql/x", 404, errcode.NotFound, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			counts := []int{len(h.rest.got()), len(h.admin.got()), len(h.gql.got())}
			resp, body := h.do(c.method, c.path, nil, "")
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.upstream == nil {
				if code := problemCode(t, resp, body); code != c.code {
					t.Fatalf("code %q, want %q", code, c.code)
				}
				if c.status == 405 && resp.Header.Get("Allow") != "GET, POST" {
					t.Fatalf("Allow = %q", resp.Header.Get("Allow"))
				}
				now := []int{len(h.rest.got()), len(h.admin.got()), len(h.gql.got())}
				if now[0] != counts[0] || now[1] != counts[1] || now[2] != counts[2] {
					t.Fatalf("a refused request reached an upstream")
				}
				return
			}
			got := c.upstream.got()
			if last := got[len(got)-1]; last.Path != c.wantPath {
				t.Fatalf("upstream path %q, want %q", last.Path, c.wantPath)
			}
		})
	}
}

func TestUnsafePaths(t *testing.T) {
	h := newHarness(t, baseConfig)
	for _, p := range []string{
		"/api/../graphql",
		"/api/./v1/orders",
		"/api//v1/orders",
		"/api/v1%2forders",
		"/api/v1%2Forders",
		"/api/%2e%2e/admin",
		"/api/v1/orders;jsessionid=1",
		"/api/v1\\orders",
		"/api/v1/%00",
		"/api/admin%2fusers",
	} {
		t.Run(p, func(t *testing.T) {
			before := len(h.rest.got()) + len(h.admin.got()) + len(h.gql.got())
			status, body := h.rawDo("GET " + p + " HTTP/1.1")
			if status != 400 || !strings.Contains(body, errcode.UnsafePath) {
				t.Fatalf("status %d body %s, want 400 %s", status, body, errcode.UnsafePath)
			}
			if after := len(h.rest.got()) + len(h.admin.got()) + len(h.gql.got()); after != before {
				t.Fatal("an unsafe path reached an upstream")
			}
		})
	}
	// The forwarded path is byte for byte the matched one.
	status, _ := h.rawDo("GET /api/v1/orders HTTP/1.1")
	got := h.rest.got()
	if status != 200 || got[len(got)-1].Path != "/api/v1/orders" {
		t.Fatalf("status %d, upstream got %+v", status, got)
	}
}

func TestRESTBodyCap(t *testing.T) {
	h := newHarness(t, baseConfig)
	resp, body := h.do("POST", "/api/v1/orders", jsonCT, strings.Repeat("x", 4096))
	if resp.StatusCode != 413 || problemCode(t, resp, body) != errcode.TooLarge {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if len(h.rest.got()) != 0 {
		t.Fatal("an oversized body reached the upstream")
	}
}

func TestPanicRecovery(t *testing.T) {
	boom := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Request().Header.Get("X-Boom") != "" {
				panic("boom")
			}
			return next(c)
		}
	}
	h := newHarness(t, baseConfig, WithMiddleware(boom))
	resp, body := h.do("GET", "/api/v1/orders", map[string]string{"X-Boom": "1"}, "")
	if resp.StatusCode != 500 || problemCode(t, resp, body) != errcode.Internal {
		t.Fatalf("REST panic: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), "boom") || strings.Contains(string(body), "goroutine") {
		t.Fatalf("panic details leaked to the client: %s", body)
	}
	resp, body = h.do("GET", "/api/v1/orders", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("request after the panic: %d %s", resp.StatusCode, body)
	}
	h.logsMu.Lock()
	logged := h.logs.String()
	h.logsMu.Unlock()
	if !strings.Contains(logged, "panic while serving request") || !strings.Contains(logged, "gateway_test.go") {
		t.Fatalf("panic not logged with its stack: %s", logged)
	}
	if got := testutilCounter(t, h.gw, "portcullis_panics_recovered_total"); got != 1 {
		t.Fatalf("panics counter = %v", got)
	}
}

func TestUpstreamDown(t *testing.T) {
	h := newHarness(t, baseConfig)
	h.gql.srv.Close()
	resp, body := h.do("POST", "/graphql", jsonCT, `{"query":"{hello}"}`)
	if resp.StatusCode != 503 && resp.StatusCode != 502 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	code := gqlCode(t, body)
	if code != upstream.KindUnavailable.Code() && code != upstream.KindError.Code() {
		t.Fatalf("code %q", code)
	}
	if strings.Contains(string(body), "127.0.0.1") {
		t.Fatalf("upstream address leaked: %s", body)
	}
	resp, _ = h.do("GET", "/api/v1/orders", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("gateway stopped serving other routes: %d", resp.StatusCode)
	}
}

func TestAccessLogAndMetrics(t *testing.T) {
	var access bytes.Buffer
	mu := &sync.Mutex{}
	h := newHarness(t, baseConfig, WithAccessLog(syncBuffer{mu, &access}))
	h.do("POST", "/graphql", map[string]string{"Content-Type": "text/plain"}, `{"query":"{hello}"}`)
	h.do("GET", "/api/v1/orders", nil, "")
	mu.Lock()
	lines := strings.Split(strings.TrimSpace(access.String()), "\n")
	mu.Unlock()
	if len(lines) != 2 {
		t.Fatalf("want 2 access lines, got %q", lines)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"method": "POST", "route": "shop", "status": float64(400), "decision": "deny", "code": errcode.CSRF, "path": "/graphql"} {
		if first[k] != want {
			t.Errorf("access log %s = %v, want %v (%s)", k, first[k], want, lines[0])
		}
	}
	for _, k := range []string{"request_id", "duration_ms", "client_ip"} {
		if _, ok := first[k]; !ok {
			t.Errorf("access log lacks %s: %s", k, lines[0])
		}
	}
	rec := httptest.NewRecorder()
	h.gw.AdminHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	m := rec.Body.String()
	for _, want := range []string{
		`portcullis_requests_total{decision="deny",route="shop",status="400"} 1`,
		`portcullis_requests_total{decision="allow",route="api",status="200"} 1`,
		`portcullis_request_duration_seconds_bucket{route="api"`,
		`portcullis_analysis_cache_misses_total{route="shop"}`,
		`portcullis_ratelimit_decisions_total`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestTrustedRequestID(t *testing.T) {
	h := newHarness(t, baseConfig)
	// The peer (127.0.0.1) is not in trusted_proxies: a client ID is replaced.
	resp, _ := h.do("GET", "/api/v1/orders", map[string]string{"X-Request-Id": "abc"}, "")
	if resp.Header.Get("X-Request-Id") == "abc" {
		t.Fatal("untrusted X-Request-Id kept")
	}
	// A trusted peer's ID is kept (in-process: fake the peer address).
	for _, c := range []struct{ id, want string }{{"trusted-1", "trusted-1"}, {"bad id\r\n", ""}} {
		req := httptest.NewRequest("GET", "/api/v1/orders", nil)
		req.RemoteAddr = "10.9.1.1:1234"
		req.Header.Set("X-Request-Id", c.id)
		rec := httptest.NewRecorder()
		h.gw.Handler().ServeHTTP(rec, req)
		got := rec.Header().Get("X-Request-Id")
		if c.want != "" && got != c.want || c.want == "" && got == c.id {
			t.Errorf("id %q: got %q", c.id, got)
		}
	}
}

func TestAdminEndpoints(t *testing.T) {
	h := newHarness(t, baseConfig)
	admin := httptest.NewServer(h.gw.AdminHandler())
	defer admin.Close()
	get := func(p string) int {
		resp, err := http.Get(admin.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get("/healthz"); s != 200 {
		t.Fatalf("/healthz %d", s)
	}
	if s := get("/readyz"); s != 503 {
		t.Fatalf("/readyz before start-up checks: %d, want 503", s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.gw.ready.start(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	waitFor(t, func() bool { return get("/readyz") == 200 })
}
