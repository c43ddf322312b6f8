package test

// End-to-end governance through the gateway binary (docs/governance.md):
// trusted documents rolled out from audit to safelist, per-coordinate rate
// limits against login brute force, an external decision point (a real
// OPA server built from its Go module) and upstream errors that never leak.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/policy/external/opatest"
	"github.com/portcullis-gw/portcullis/policy/trusted"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// govPost sends one GraphQL POST with extra headers and returns the status,
// the headers and the body.
func govPost(t *testing.T, url, body string, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	resp, b := send(t, http.MethodPost, url, "application/json", body, hdr)
	return resp.StatusCode, resp.Header, b
}

func codeOf(t *testing.T, status int, body []byte) string {
	t.Helper()
	if status == http.StatusOK {
		var r struct{ Errors []any }
		if json.Unmarshal(body, &r) == nil && len(r.Errors) == 0 {
			return ""
		}
	}
	return firstCode(t, body)
}

const (
	govKnown   = "query Known { topProducts(first: 1) { upc } }"
	govLearned = "query Learned { topProducts(first: 2) { name } }"
	govIOS     = "query IOSOnly { product(upc: \"1\") { upc name } }"
	govNew     = "query NeverSeen { topProducts(first: 3) { upc price } }"
)

// TestTrustedDocumentsRollout is a week of audit condensed: a known client
// and an unknown one send listed and unlisted operations; everything passes
// and the unlisted ones are audited; the record is exported as a manifest;
// the route is switched to safelist on SIGHUP; the same traffic passes
// except the one operation never seen while learning.
func TestTrustedDocumentsRollout(t *testing.T) {
	set := upstreams.StartAll(t)
	shared, _ := json.Marshal(map[string]string{"known-v1": govKnown})
	ios, _ := json.Marshal(trusted.ApolloManifest{Format: trusted.ApolloFormat, Version: 1,
		Operations: []trusted.ApolloOperation{{ID: sha256Hex(govIOS), Name: "IOSOnly", Type: "query", Body: govIOS}}})
	route := func(mode, manifest string) string {
		return fmt.Sprintf(`
    persisted_operations:
      mode: %s
      manifest: %s
      clients: {ios: ios.json}
      record: {file: record.json, flush_interval: 50ms}`, mode, manifest)
	}
	cfgPath := writeConfig(t, e2eConfig(set, ""))
	dir := filepath.Dir(cfgPath)
	for name, data := range map[string][]byte{"shared.json": shared, "ios.json": ios} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write := func(mode, manifest string) {
		cfg := strings.Replace(e2eConfig(set, ""), "        - {name: reviews, file: schemas/reviews.graphql}",
			"        - {name: reviews, file: schemas/reviews.graphql}"+route(mode, manifest), 1)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("audit", "shared.json")
	gw := startGateway(t, cfgPath)
	web := map[string]string{"graphql-client-name": "web", "graphql-client-version": "1.4"}
	iosHdr := map[string]string{"apollographql-client-name": "ios", "apollographql-client-version": "7.0"}

	type step struct {
		name   string
		body   string
		hdr    map[string]string
		audit  int    // status in audit mode
		strict int    // status in safelist mode
		code   string // code of a safelist refusal
	}
	steps := []step{
		{"known client, listed operation by documentId", `{"documentId":"known-v1"}`, web, 200, 200, ""},
		{"known client, listed operation by sha256 documentId", `{"documentId":"sha256:` + sha256Hex(govKnown) + `"}`, web, 200, 200, ""},
		{"known client, listed operation by Apollo hash", `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + sha256Hex(govKnown) + `"}}}`, web, 200, 200, ""},
		{"known client, listed operation as text", gqlBody(govKnown), web, 200, 200, ""},
		{"known client, listed operation respaced", gqlBody("query Known {\n  topProducts(first: 1) { upc }\n}"), web, 200, 200, ""},
		{"known client, unlisted operation (learned)", gqlBody(govLearned), web, 200, 200, ""},
		{"ios client, its own manifest", gqlBody(govIOS), iosHdr, 200, 200, ""},
		{"ios client, by its manifest's hash", `{"documentId":"sha256:` + sha256Hex(govIOS) + `"}`, iosHdr, 200, 200, ""},
		{"no client header, the shared list", gqlBody(govKnown), nil, 200, 200, ""},
	}
	for _, s := range steps {
		t.Run("audit/"+s.name, func(t *testing.T) {
			status, _, body := govPost(t, gw.url("/graphql"), s.body, s.hdr)
			if status != s.audit {
				t.Fatalf("status %d, want %d: %s", status, s.audit, body)
			}
		})
	}
	// Audit mode cannot forward an id it does not know: there is no text.
	if status, _, body := govPost(t, gw.url("/graphql"), `{"documentId":"nope-v9"}`, web); status != 400 || firstCode(t, body) != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("unknown documentId in audit mode: %d %s", status, body)
	}
	// Client headers are read strictly.
	if status, _, body := govPost(t, gw.url("/graphql"), gqlBody(govKnown), map[string]string{"graphql-client-name": "web", "apollographql-client-name": "ios"}); status != 400 || firstCode(t, body) != "BAD_REQUEST" {
		t.Fatalf("disagreeing client headers: %d %s", status, body)
	}
	// A refused operation is never recorded.
	if status, _, _ := govPost(t, gw.url("/graphql"), gqlBody("query Refused { nope }"), web); status != 400 {
		t.Fatalf("invalid operation: %d", status)
	}
	gw.waitLog(t, `"msg":"passed","audit":true`)
	gw.waitLog(t, `"reason":"unknown_operation"`)
	metrics := adminGet(t, gw, "/metrics")
	if !strings.Contains(metrics, `portcullis_unknown_operations_total{client="web",route="shop"} 1`) {
		t.Errorf("unknown operations not counted:\n%s", grepLines(metrics, "unknown_operations"))
	}

	// The record reaches the file within its flush interval.
	record := filepath.Join(dir, "record.json")
	var ops []trusted.Operation
	deadline := time.Now().Add(20 * time.Second)
	for {
		ops, _ = trusted.ReadRecord(record)
		if len(ops) >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	names := map[string]bool{}
	for _, op := range ops {
		names[op.Name+"/"+op.Client] = true
		if op.Name == "Refused" {
			t.Errorf("a refused operation was recorded: %+v", op)
		}
	}
	for _, want := range []string{"Known/web", "Learned/web", "IOSOnly/ios", "Known/"} {
		if !names[want] {
			t.Errorf("record lacks %s: %+v", want, ops)
		}
	}

	// Export the week's record as the shared manifest, then enforce it.
	exported := filepath.Join(dir, "exported.json")
	// The web client's operations become the shared list; ios keeps its own.
	out, err := exec.Command(binPath, "trusted-documents", "export", "-c", cfgPath, "-o", exported, "--client", "web", "shop").CombinedOutput()
	if err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	write("safelist", "exported.json")
	if err := gw.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	gw.waitLog(t, `"msg":"config reloaded"`)
	// documentId "known-v1" named the old manifest's id; the exported one
	// names documents by the sha256 of their body.
	steps[0].body = `{"documentId":"sha256:` + sha256Hex(govKnown) + `"}`
	for _, s := range steps {
		t.Run("safelist/"+s.name, func(t *testing.T) {
			status, _, body := govPost(t, gw.url("/graphql"), s.body, s.hdr)
			if status != s.strict {
				t.Fatalf("status %d, want %d: %s", status, s.strict, body)
			}
		})
	}
	refused := []struct {
		name, body string
		hdr        map[string]string
		code       string
	}{
		{"the operation never seen", gqlBody(govNew), web, "PERSISTED_QUERY_NOT_IN_LIST"},
		{"by an unknown documentId", `{"documentId":"sha256:` + sha256Hex(govNew) + `"}`, web, "PERSISTED_QUERY_NOT_IN_LIST"},
		{"by an unknown Apollo hash", `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + sha256Hex(govNew) + `"}}}`, web, "PERSISTED_QUERY_NOT_IN_LIST"},
		{"web asking for the ios-only operation", gqlBody(govIOS), web, "PERSISTED_QUERY_NOT_IN_LIST"},
		{"ios asking for a shared operation", gqlBody(govKnown), iosHdr, "PERSISTED_QUERY_NOT_IN_LIST"},
		{"a listed operation with a field added", gqlBody("query Known { topProducts(first: 1) { upc name } }"), web, "PERSISTED_QUERY_NOT_IN_LIST"},
		{"a listed operation with an alias", gqlBody("query Known { x: topProducts(first: 1) { upc } }"), web, "PERSISTED_QUERY_NOT_IN_LIST"},
		{"an unlisted text with a listed operation's hash", pqWith(govNew, sha256Hex(govKnown)), web, "PERSISTED_QUERY_NOT_IN_LIST"},
	}
	for _, r := range refused {
		t.Run("safelist refuses/"+r.name, func(t *testing.T) {
			status, _, body := govPost(t, gw.url("/graphql"), r.body, r.hdr)
			if status != http.StatusForbidden || firstCode(t, body) != r.code {
				t.Fatalf("%d %s, want 403 %s", status, body, r.code)
			}
		})
	}
}

// pqWith is a body with a query and an Apollo persisted-query hash.
func pqWith(query, hash string) string {
	b, _ := json.Marshal(map[string]any{"query": query, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}})
	return string(b)
}

func adminGet(t *testing.T, gw *proc, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + gw.adminAddr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// loginUpstream is a real HTTP GraphQL server for the login schema: every
// login answers a token, and it counts the requests that reach it.
type loginUpstream struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newLoginUpstream(t *testing.T) *loginUpstream {
	u := &loginUpstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{}}`))
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// aliasedLogins is n login attempts in one operation, one alias each.
func aliasedLogins(n int) string {
	var b strings.Builder
	b.WriteString("mutation {")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, ` a%d: login(username: "admin", password: "guess%d") { token }`, i, i)
	}
	b.WriteString(" }")
	return b.String()
}

// TestCoordinateRateLimits: five login attempts per minute per IP, however
// they are disguised, with both stores.
func TestCoordinateRateLimits(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			rl := "store: memory"
			if store == "redis" {
				rdb, opts := rlSharedRedis(t, 12)
				rlDeleteKeys(t, rdb, "portcullis:rl:{#coord:*")
				rl = fmt.Sprintf("store: redis\n  redis: {address: %q, password: %q, db: 12}\n  timeout: 2s", opts.Addr, opts.Password)
			}
			up := newLoginUpstream(t)
			set := upstreams.StartAll(t)
			cfgPath := writeConfig(t, fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: e2e, sha256: %s, scopes: [orders:read]}
server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0, trusted_proxies: [127.0.0.1/32]}
rate_limit:
  %s
  tiers:
    anonymous: {rate: 1000, per: 1s, burst: 100000}
    default: {rate: 1000, per: 1s, burst: 100000}
  coordinates:
    - {coordinate: "Mutation.login", rate: 5, per: 1m, burst: 5, key: ip}
    - {operation: "orders.listOrders", rate: 2, per: 1h, burst: 2, key: subject}
graphql:
  - name: login
    path: /graphql
    upstream: {url: %q, timeout: 5s}
    schema: {subgraphs: [{name: login, file: %s}]}
    limits: {max_aliases: 200, max_root_fields: 200, max_batch: 10, max_cost: 100000, max_height: 1000}
rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
`, sha256Hex(ordersKey), rl, up.srv.URL, mustAbs(t, "testdata/governance/login.graphql"), set.Orders.URL))
			gw := startGateway(t, cfgPath)
			ip := 0
			client := func() map[string]string {
				ip++
				return map[string]string{"X-Forwarded-For": fmt.Sprintf("10.%d.7.%d", map[string]int{"memory": 1, "redis": 2}[store], ip)}
			}
			login := func(hdr map[string]string, body string) (int, http.Header, string) {
				if !strings.HasPrefix(body, "{") && !strings.HasPrefix(body, "[") {
					body = gqlBody(body)
				}
				status, h, b := govPost(t, gw.url("/graphql"), body, hdr)
				return status, h, codeOf(t, status, b)
			}
			frag := `mutation { ...L ...L } fragment L on Mutation { a: login(username: "u", password: "1") { token } b: login(username: "u", password: "2") { token } }`
			shapes := []struct {
				name string
				body string
				uses int
			}{
				{"aliases", aliasedLogins(5), 5},
				{"fragment spreads", frag, 4},
				{"batch", `[` + gqlBody(aliasedLogins(2)) + `,` + gqlBody(aliasedLogins(2)) + `,` + gqlBody(`mutation { login(username: "u", password: "p") { token } }`) + `]`, 5},
				{"mixed with other fields", `{"query":"mutation { logout a: login(username: \"u\", password: \"1\") { token } logout2: logout b: login(username: \"u\", password: \"2\") { token } }"}`, 2},
				{"inline fragments", `{"query":"mutation { ... on Mutation { a: login(username: \"u\", password: \"1\") { token } } ... { b: login(username: \"u\", password: \"2\") { token } } }"}`, 2},
			}
			for _, s := range shapes {
				t.Run(s.name, func(t *testing.T) {
					hdr := client()
					// The budget admits exactly five attempts, in any shape.
					left := 5
					for left >= s.uses {
						status, h, code := login(hdr, s.body)
						if status != 200 || code != "" {
							t.Fatalf("with %d attempts left, %d uses: %d %s (%s)", left, s.uses, status, code, s.body)
						}
						left -= s.uses
						// The coordinate's pair stands beside the tier's.
						if p := h.Values("RateLimit-Policy"); len(p) != 2 || p[1] != `"Mutation.login";q=5;w=60` || !strings.HasPrefix(p[0], `"anonymous"`) {
							t.Errorf("RateLimit-Policy = %q", p)
						}
						r := h.Values("RateLimit")
						name, params, ok := "", map[string]int(nil), len(r) == 2
						if ok {
							name, params, ok = rlStructured(r[1])
						}
						// One use refills in 12s: t is about the uses spent times 12.
						if !ok || name != "Mutation.login" || params["r"] != left || !rlWithin(params["t"], (5-left)*12) {
							t.Errorf("RateLimit = %q, want the coordinate's r=%d", r, left)
						}
					}
					before := up.calls.Load()
					status, h, code := login(hdr, s.body)
					if status != http.StatusTooManyRequests || code != "COORDINATE_RATE_LIMITED" {
						t.Fatalf("attempt past the budget: %d %s", status, code)
					}
					if up.calls.Load() != before {
						t.Fatal("a refused attempt reached the upstream")
					}
					if p := h.Get("RateLimit-Policy"); p != `"Mutation.login";q=5;w=60` {
						t.Errorf("RateLimit-Policy = %q", p)
					}
					if r := h.Get("RateLimit"); !strings.HasPrefix(r, `"Mutation.login";r=`) {
						t.Errorf("RateLimit = %q", r)
					}
					// Other operations of the same client still pass.
					if status, _, code := login(hdr, `{"query":"{ hello }"}`); status != 200 || code != "" {
						t.Errorf("a query without login was refused: %d %s", status, code)
					}
				})
			}
			t.Run("100 aliased attempts in one request are 100 attempts", func(t *testing.T) {
				hdr := client()
				status, h, code := login(hdr, aliasedLogins(100))
				if status != http.StatusTooManyRequests || code != "COORDINATE_RATE_LIMITED" {
					t.Fatalf("100 aliases: %d %s", status, code)
				}
				if h.Get("Retry-After") != "" {
					t.Errorf("Retry-After %q on a request that can never pass", h.Get("Retry-After"))
				}
				// Refused whole: the five attempts are still there.
				if status, _, code := login(hdr, aliasedLogins(5)); status != 200 || code != "" {
					t.Fatalf("after the refused 100: %d %s", status, code)
				}
			})
			t.Run("a client's budget is its own", func(t *testing.T) {
				a, b := client(), client()
				if status, _, _ := login(a, aliasedLogins(5)); status != 200 {
					t.Fatal(status)
				}
				if status, _, _ := login(a, aliasedLogins(1)); status != 429 {
					t.Fatalf("a: %d", status)
				}
				if status, _, _ := login(b, aliasedLogins(5)); status != 200 {
					t.Fatalf("b: %d", status)
				}
			})
			t.Run("REST operation limit, keyed by subject", func(t *testing.T) {
				for i, want := range []int{200, 200, 429} {
					resp, body := send(t, http.MethodGet, gw.url("/api/v1/orders"), "", "", map[string]string{"X-API-Key": ordersKey, "X-Forwarded-For": "10.9.9." + fmt.Sprint(i+1)})
					if resp.StatusCode != want {
						t.Fatalf("call %d: %d %s", i+1, resp.StatusCode, body)
					}
					if want == 429 {
						if firstCode(t, body) != "COORDINATE_RATE_LIMITED" || resp.Header.Get("RateLimit-Policy") != `"orders.listOrders";q=2;w=3600` {
							t.Fatalf("refusal: %s %v", body, resp.Header)
						}
					}
				}
			})
			gw.waitLog(t, `"reason":"coordinate_rate_limited"`)
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// opaFront is a real HTTP hop in front of OPA that counts the decisions
// asked for and can hold them (a slow decision point).
type opaFront struct {
	srv   *httptest.Server
	calls atomic.Int64
	slow  atomic.Bool
}

func newOPAFront(t *testing.T, opa *opatest.Server) *opaFront {
	target, _ := url.Parse(opa.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	f := &opaFront{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if f.slow.Load() {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Second):
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// TestExternalAuthorizationOPA: the gateway obeys a real OPA's decisions on
// GraphQL and REST routes, filters what it removes, refuses when it is down
// or slow, and asks once for repeated identical inputs.
func TestExternalAuthorizationOPA(t *testing.T) {
	opa := opatest.Start(t, "testdata/governance/authz.rego")
	front := newOPAFront(t, opa)
	down := opatest.Start(t, "testdata/governance/authz.rego")
	downURL := down.DataURL("portcullis/authz/decision")
	down.Stop()
	set := upstreams.StartAll(t)
	const (
		adminKey   = "gov-admin-key"
		userKey    = "gov-user-key"
		partnerKey = "gov-partner-key"
	)
	ext := func(url string, extra string) string {
		return fmt.Sprintf("{url: %q, timeout: 300ms, cache_ttl: 1m%s}", url, extra)
	}
	decision := front.srv.URL + "/v1/data/portcullis/authz/decision"
	schema := `
    schema:
      subgraphs:
        - {name: accounts, file: schemas/accounts.graphql}
        - {name: products, file: schemas/products.graphql}
        - {name: reviews, file: schemas/reviews.graphql}`
	cfgPath := writeConfig(t, fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: admin, sha256: %s, scopes: [users:admin, users:names, users:email, orders:read]}
    - {name: user, sha256: %s, scopes: [users:email, orders:read]}
    - {name: partner, sha256: %s, scopes: [orders:read], tier: partner}
server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}
rate_limit:
  tiers:
    anonymous: {rate: 1000, per: 1s, burst: 100000}
    default: {rate: 1000, per: 1s, burst: 100000}
    partner: {rate: 1000, per: 1s, burst: 100000}
graphql:
  - name: shop
    path: /graphql
    upstream: {url: %q, timeout: 5s}%s
    authorization: {mode: filter, external: %s}
  - name: strict
    path: /strict
    upstream: {url: %q, timeout: 5s}%s
    authorization: {mode: reject, external: %s}
  - name: down
    path: /down
    upstream: {url: %q, timeout: 5s}%s
    authorization: {external: %s}
  - name: open
    path: /open
    upstream: {url: %q, timeout: 5s}%s
    authorization: {external: %s}
rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
    authorization: {external: %s}
`, sha256Hex(adminKey), sha256Hex(userKey), sha256Hex(partnerKey),
		set.Accounts.Endpoint, schema, ext(decision, ""),
		set.Accounts.Endpoint, schema, ext(decision, ""),
		set.Accounts.Endpoint, schema, ext(downURL, ""),
		set.Accounts.Endpoint, schema, ext(downURL, ", on_error: allow"),
		set.Orders.URL, ext(decision, "")))
	gw := startGateway(t, cfgPath)
	key := func(k string) map[string]string { return map[string]string{"X-API-Key": k} }
	update := gqlBody(`mutation { updateUser(id: "2", input: {username: "robert"}) { id } }`)
	users := gqlBody(`{ user(id: "2") { id username email } }`)

	cases := []struct {
		name, path, body string
		hdr              map[string]string
		status           int
		code, msg        string
	}{
		{"allow", "/graphql", gqlBody(`{ user(id: "2") { id } }`), key(userKey), 200, "", ""},
		{"deny with the policy's reason", "/graphql", update, key(userKey), 403, "EXTERNAL_AUTHORIZATION_DENIED", "only user administrators may update users"},
		{"admin allowed", "/graphql", update, key(adminKey), 200, "", ""},
		{"deny hidden in a fragment", "/graphql", gqlBody(`mutation { ...M } fragment M on Mutation { u: updateUser(id: "2", input: {username: "x"}) { id } }`), key(userKey), 403, "EXTERNAL_AUTHORIZATION_DENIED", ""},
		{"reject mode refuses what filter mode removes", "/strict", users, key(userKey), 403, "UNAUTHORIZED_FIELD_OR_TYPE", ""},
		{"OPA down denies", "/down", gqlBody(`{ user(id: "2") { id } }`), key(userKey), 403, "EXTERNAL_AUTHORIZATION_UNAVAILABLE", ""},
		{"OPA down with on_error allow", "/open", gqlBody(`{ user(id: "2") { id } }`), key(userKey), 200, "", ""},
		{"REST deny", "/api/v1/orders", "", key(userKey), 403, "EXTERNAL_AUTHORIZATION_DENIED", "listing orders is for partners"},
		{"REST allow", "/api/v1/orders", "", key(partnerKey), 200, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := http.MethodPost
			ct := "application/json"
			if c.body == "" {
				method, ct = http.MethodGet, ""
			}
			resp, body := send(t, method, gw.url(c.path), ct, c.body, c.hdr)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if got := codeOf(t, resp.StatusCode, body); got != c.code {
				t.Fatalf("code %q, want %q: %s", got, c.code, body)
			}
			if c.msg != "" && !strings.Contains(string(body), c.msg) {
				t.Fatalf("answer lacks the reason %q: %s", c.msg, body)
			}
		})
	}
	gw.waitLog(t, `"reason":"only user administrators may update users"`)

	t.Run("filter mode removes what OPA lists", func(t *testing.T) {
		status, _, body := govPost(t, gw.url("/graphql"), users, key(userKey))
		var r struct {
			Data   map[string]any
			Errors []struct {
				Path       []any
				Extensions map[string]any
			}
		}
		if status != 200 || json.Unmarshal(body, &r) != nil {
			t.Fatalf("%d %s", status, body)
		}
		// username is String!: its removal nulls the user (GraphQL spec,
		// "Handling Field Errors"), and its path is reported.
		if u, ok := r.Data["user"]; !ok || u != nil {
			t.Fatalf("user = %v, want null: %s", u, body)
		}
		if len(r.Errors) != 1 || fmt.Sprint(r.Errors[0].Path) != "[user username]" || r.Errors[0].Extensions["code"] != "UNAUTHORIZED_FIELD_OR_TYPE" {
			t.Fatalf("errors = %+v", r.Errors)
		}
		// Without the removed field the rest is answered.
		if status, _, body := govPost(t, gw.url("/graphql"), gqlBody(`{ user(id: "2") { id email } }`), key(userKey)); status != 200 || !strings.Contains(string(body), `"email":"bob@example.com"`) {
			t.Fatalf("%d %s", status, body)
		}
		status, _, body = govPost(t, gw.url("/graphql"), users, key(adminKey))
		if status != 200 || !strings.Contains(string(body), `"username":`) {
			t.Fatalf("admin: %d %s", status, body)
		}
	})
	t.Run("cache: one OPA call for repeated identical inputs", func(t *testing.T) {
		q := gqlBody(`{ user(id: "3") { id } }`)
		before := front.calls.Load()
		for i := 0; i < 10; i++ {
			if status, _, body := govPost(t, gw.url("/graphql"), q, key(adminKey)); status != 200 {
				t.Fatalf("%d %s", status, body)
			}
		}
		if got := front.calls.Load() - before; got != 1 {
			t.Fatalf("OPA asked %d times for 10 identical requests, want 1", got)
		}
		// Another argument value is another input.
		if status, _, _ := govPost(t, gw.url("/graphql"), gqlBody(`{ user(id: "4") { id } }`), key(adminKey)); status != 200 {
			t.Fatal(status)
		}
		if got := front.calls.Load() - before; got != 2 {
			t.Fatalf("OPA asked %d times, want 2", got)
		}
	})
	t.Run("slow OPA times out and denies", func(t *testing.T) {
		front.slow.Store(true)
		defer front.slow.Store(false)
		status, _, body := govPost(t, gw.url("/graphql"), gqlBody(`{ user(id: "5") { id } }`), key(userKey))
		if status != 403 || firstCode(t, body) != "EXTERNAL_AUTHORIZATION_UNAVAILABLE" {
			t.Fatalf("%d %s", status, body)
		}
		if strings.Contains(string(body), "127.0.0.1") || strings.Contains(string(body), "deadline") {
			t.Fatalf("the answer names internals: %s", body)
		}
	})
}

// leakyUpstream answers like a careless back end: stack traces and internal
// extensions in GraphQL errors, HTML error pages, and headers naming its
// software.
func leakyUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Server", "Apache/2.4.41 (Ubuntu)")
		h.Set("X-Powered-By", "Express")
		h.Set("X-AspNet-Version", "4.0.30319")
		h.Set("X-Runtime", "0.013")
		h.Set("X-Backend-Pod", "orders-7f9c")
		var body struct{ Query string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/") || strings.Contains(body.Query, "hello"):
			h.Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte("<html><h1>Whitelabel Error Page</h1>java.lang.NullPointerException at com.acme.orders.Db(Db.java:42) jdbc:postgresql://db01.internal:5432</html>"))
		default:
			h.Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"data":{"me":null},"errors":[{"message":"connect ECONNREFUSED db01.internal:5432","path":["me"],"locations":[{"line":1,"column":3}],"stacktrace":["at Db.connect (/srv/app/db.js:10)"],"extensions":{"code":"INTERNAL_SERVER_ERROR","exception":{"stacktrace":["Error: at /srv/app/db.js:10"]},"serviceName":"accounts","retryable":true}}],"extensions":{"tracing":{"version":1},"queryPlan":"Fetch(accounts)"}}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestNothingLeaksBack: upstream errors reach the client with only what
// GraphQL defines, REST 5xx bodies become problem documents, and the back
// end's fingerprinting headers never arrive.
func TestNothingLeaksBack(t *testing.T) {
	leaky := leakyUpstream(t)
	login := mustAbs(t, "testdata/governance/login.graphql")
	cfgPath := writeConfig(t, fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: e2e, sha256: %s, scopes: [orders:read]}
server: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}
graphql:
  - name: plain
    path: /graphql
    upstream: {url: %q, timeout: 5s}
    schema: {subgraphs: [{name: login, file: %s}]}
  - name: masked
    path: /masked
    upstream: {url: %q, timeout: 5s, remove_response_headers: [X-Backend-Pod]}
    schema: {subgraphs: [{name: login, file: %s}]}
    errors: {mask_messages: true, allow_extensions: [retryable]}
  - name: keep
    path: /keep
    upstream: {url: %q, timeout: 5s, keep_response_headers: [Server]}
    schema: {subgraphs: [{name: login, file: %s}]}
rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
  - name: raw
    prefix: /raw
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
    pass_upstream_errors: true
`, sha256Hex(ordersKey), leaky.URL, login, leaky.URL, login, leaky.URL, login, leaky.URL, leaky.URL))
	gw := startGateway(t, cfgPath)
	internals := []string{"db01.internal", "/srv/app", "stacktrace", "exception", "serviceName", "queryPlan", "tracing", "java.lang", "Whitelabel"}
	fingerprints := []string{"Server", "X-Powered-By", "X-Aspnet-Version", "X-Runtime"}
	noLeak := func(t *testing.T, h http.Header, body []byte, allowed ...string) {
		t.Helper()
		for _, s := range internals {
			if strings.Contains(string(body), s) && !slices.Contains(allowed, s) {
				t.Errorf("answer leaks %q: %s", s, body)
			}
		}
		for _, k := range fingerprints {
			if h.Get(k) != "" && !slices.Contains(allowed, k) {
				t.Errorf("header %s: %q reached the client", k, h.Get(k))
			}
		}
	}
	t.Run("GraphQL errors keep message, path, locations, code", func(t *testing.T) {
		status, h, body := govPost(t, gw.url("/graphql"), gqlBody("{ me }"), nil)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		noLeak(t, h, body, "db01.internal")
		want := `{"data":{"me":null},"errors":[{"extensions":{"code":"INTERNAL_SERVER_ERROR"},"locations":[{"column":3,"line":1}],"message":"connect ECONNREFUSED db01.internal:5432","path":["me"]}]}`
		if got := canonical(t, body); got != want {
			t.Fatalf("answer\n%s\nwant\n%s", got, want)
		}
		if h.Get("X-Backend-Pod") != "orders-7f9c" {
			t.Errorf("a header nobody configured was removed")
		}
	})
	t.Run("mask_messages and allow_extensions", func(t *testing.T) {
		status, h, body := govPost(t, gw.url("/masked"), gqlBody("{ me }"), nil)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		noLeak(t, h, body)
		if !strings.Contains(string(body), `"retryable":true`) || !strings.Contains(string(body), `"code":"INTERNAL_SERVER_ERROR"`) {
			t.Errorf("allowed extension or code lost: %s", body)
		}
		if h.Get("X-Backend-Pod") != "" {
			t.Errorf("configured header X-Backend-Pod reached the client")
		}
		gw.waitLog(t, "connect ECONNREFUSED db01.internal:5432")
	})
	t.Run("a GraphQL upstream's HTML 500 page", func(t *testing.T) {
		status, h, body := govPost(t, gw.url("/graphql"), gqlBody("{ hello }"), nil)
		if status != http.StatusBadGateway || firstCode(t, body) != "UPSTREAM_ERROR" {
			t.Fatalf("%d %s", status, body)
		}
		noLeak(t, h, body)
	})
	t.Run("keep_response_headers", func(t *testing.T) {
		_, h, _ := govPost(t, gw.url("/keep"), gqlBody("{ me }"), nil)
		if h.Get("Server") == "" || h.Get("X-Powered-By") != "" {
			t.Errorf("Server %q, X-Powered-By %q", h.Get("Server"), h.Get("X-Powered-By"))
		}
	})
	t.Run("REST 5xx becomes a problem document of the same status", func(t *testing.T) {
		resp, body := send(t, http.MethodGet, gw.url("/api/v1/orders"), "", "", map[string]string{"X-API-Key": ordersKey})
		if resp.StatusCode != 500 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") || firstCode(t, body) != "UPSTREAM_ERROR" {
			t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		noLeak(t, resp.Header, body)
	})
	t.Run("pass_upstream_errors relays the body", func(t *testing.T) {
		resp, body := send(t, http.MethodGet, gw.url("/raw/v1/orders"), "", "", map[string]string{"X-API-Key": ordersKey})
		if resp.StatusCode != 500 || !strings.Contains(string(body), "Whitelabel") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		// Fingerprinting headers go whatever the body does.
		noLeak(t, resp.Header, nil)
	})
}

// canonical re-encodes JSON with sorted keys.
func canonical(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// TestCoordinateLimitTypo: a coordinate limit no schema has is a config
// error, not a limit that silently counts nothing.
func TestCoordinateLimitTypo(t *testing.T) {
	set := upstreams.StartAll(t)
	cfg := writeConfig(t, e2eConfig(set, `rate_limit:
  coordinates:
    - {coordinate: "Mutation.logn", rate: 5, per: 1m, burst: 5}
    - {operation: "orders.createOrdr", rate: 5, per: 1m, burst: 5}
`))
	out, err := exec.Command(binPath, "check", "-c", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("check accepted a coordinate limit on no field:\n%s", out)
	}
	for _, want := range []string{"rate_limit.coordinates[0].coordinate: no GraphQL route's schema has the field Mutation.logn", `rate_limit.coordinates[1].operation: no operationId "createOrdr"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
}
