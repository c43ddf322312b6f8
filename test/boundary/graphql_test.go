package boundary

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
)

// bodyCase is one request through the boundary gateway: either a
// refusal (status and code, and the route's upstream received nothing) or
// an allowed request whose upstream received exactly want, the body the
// gateway builds from the checked values.
type bodyCase struct {
	name   string
	method string // POST (default) or GET
	path   string // default /graphql
	body   string // POST body
	query  url.Values
	status int
	code   string
	// want is the exact body the upstream must receive, as POST.
	want string
	// runs is the query a JSON.parse reader takes from what it received.
	runs string
}

const (
	qTop   = "{ topProducts { upc } }"
	qFirst = "query($n: Int) { topProducts(first: $n) { upc } }"
	qUser  = `{ user(id: \"1\") { id username } }`
)

func (b *boundary) upstreamOf(path string) *jsUpstream {
	switch path {
	case "/drop":
		return b.drop
	case "/apq":
		return b.apq
	case "/safe":
		return b.safe
	case "/filter":
		return b.filter
	}
	return b.shop
}

func (b *boundary) run(t *testing.T, cases []bodyCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.resetAll()
			path := c.path
			if path == "" {
				path = "/graphql"
			}
			var resp *http.Response
			var body []byte
			if c.method == "GET" {
				resp, body = send(t, "GET", b.gw.URL(path+"?"+c.query.Encode()), "", "", nil)
			} else {
				resp, body = send(t, "POST", b.gw.URL(path), "application/json", c.body, nil)
			}
			got := received(b.upstreamOf(path))
			if c.want == "" {
				if resp.StatusCode != c.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
				}
				if code := gatewaytest.FirstCode(t, body); code != c.code {
					t.Fatalf("code %q, want %q: %s", code, c.code, body)
				}
				if len(got) != 0 {
					t.Fatalf("the upstream received %d requests; the first: %s", len(got), got[0].body)
				}
				return
			}
			if c.status != 0 && resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if len(got) != 1 {
				t.Fatalf("the upstream received %d requests, want 1 (answer %d %s)", len(got), resp.StatusCode, body)
			}
			if got[0].method != http.MethodPost {
				t.Errorf("upstream method %s, want POST", got[0].method)
			}
			if string(got[0].body) != c.want {
				t.Fatalf("the upstream received\n%s\nwant exactly\n%s", got[0].body, c.want)
			}
			if ct := got[0].header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("upstream Content-Type %q", ct)
			}
			if c.runs != "" {
				if len(got[0].ran) == 0 || got[0].ran[0]["query"] != c.runs {
					t.Fatalf("a case-sensitive upstream runs %v, want %q", got[0].ran, c.runs)
				}
			}
		})
	}
}

func bad(name, body string) bodyCase {
	return bodyCase{name: name, body: body, status: 400, code: "BAD_REQUEST"}
}

// TestBoundaryGraphQLRefusals: every request that a case-insensitive or
// lenient reader would read otherwise than graphql-js is refused whole.
func TestBoundaryGraphQLRefusals(t *testing.T) {
	b := startBoundary(t)
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	b.run(t, []bodyCase{
		// Key case: Go's encoding/json took the last of query/Query.
		bad("query beside Query", `{"query":"{ me { id } }","Query":"`+qTop+`"}`),
		bad("Query alone", `{"Query":"`+qTop+`"}`),
		bad("QUERY alone", `{"QUERY":"`+qTop+`"}`),
		bad("operationname", `{"query":"query A { topProducts { upc } } query B { me { id } }","operationName":"A","operationname":"B"}`),
		bad("OperationName", `{"query":"query A { topProducts { upc } }","OperationName":"A"}`),
		bad("Variables", `{"query":"`+qFirst+`","Variables":{"n":1000}}`),
		bad("variables beside Variables", `{"query":"`+qFirst+`","variables":{"n":1},"Variables":{"n":1000}}`),
		bad("Extensions", `{"query":"`+qTop+`","Extensions":{}}`),
		// Duplicates at every depth.
		bad("duplicate query", `{"query":"`+qTop+`","query":"{ me { id } }"}`),
		bad("duplicate query through an escape", `{"query":"`+qTop+`","\u0071uery":"{ me { id } }"}`),
		bad("duplicate operationName", `{"query":"query A { topProducts { upc } } query B { me { id } }","operationName":"A","operationName":"B"}`),
		bad("duplicate variables", `{"query":"`+qFirst+`","variables":{"n":1},"variables":{"n":1000}}`),
		bad("duplicate variable", `{"query":"`+qFirst+`","variables":{"n":1,"n":1000}}`),
		bad("duplicate nested in variables", `{"query":"`+qFirst+`","variables":{"n":1,"in":{"a":[{"role":"x","role":"admin"}]}}}`),
		bad("duplicate in extensions", `{"query":"`+qTop+`","extensions":{"tracing":true,"tracing":false}}`),
		bad("duplicate deep in extensions", `{"query":"`+qTop+`","extensions":{"x":{"y":{"z":1,"z":2}}}}`),
		// Unknown members and wrong types.
		bad("unknown member", `{"query":"`+qTop+`","foo":1}`),
		bad("documentId without persisted operations", `{"documentId":"abc"}`),
		bad("query a number", `{"query":1}`),
		bad("query null", `{"query":null}`),
		bad("query an array", `{"query":["`+qTop+`"]}`),
		bad("operationName a number", `{"query":"`+qTop+`","operationName":1}`),
		bad("variables a string", `{"query":"`+qFirst+`","variables":"{\"n\":1}"}`),
		bad("variables an array", `{"query":"`+qFirst+`","variables":[1]}`),
		bad("extensions a string", `{"query":"`+qTop+`","extensions":"x"}`),
		// What JSON readers disagree on.
		bad("byte order mark", "\uFEFF"+`{"query":"`+qTop+`"}`),
		bad("invalid UTF-8", "{\"query\":\"{ topProducts { upc } } #\xff\"}"),
		bad("lone surrogate", `{"query":"{ topProducts { upc } } #\ud800"}`),
		bad("number beyond a double", `{"query":"`+qFirst+`","variables":{"n":1e999}}`),
		bad("trailing data", `{"query":"`+qTop+`"}{"query":"{ me { id } }"}`),
		bad("nesting too deep", `{"query":"`+qFirst+`","variables":{"n":1,"x":`+deep+`}}`),
		// Batches go through the same reader, entry by entry.
		bad("batch with a Query entry", `[{"query":"`+qTop+`"},{"query":"`+qTop+`","Query":"{ me { id } }"}]`),
		bad("batch with a duplicate", `[{"query":"`+qTop+`"},{"query":"`+qTop+`","query":"{ me { id } }"}]`),
		bad("batch with a duplicate variable", `[{"query":"`+qFirst+`","variables":{"n":1,"n":1000}}]`),
		bad("batch of a string", `["`+qTop+`"]`),
		bad("empty batch", `[]`),
		// GET: repeated parameters and strict JSON in variables/extensions.
		{name: "GET repeated query", method: "GET", query: url.Values{"query": {qTop, "{ me { id } }"}}, status: 400, code: "BAD_REQUEST"},
		{name: "GET repeated operationName", method: "GET", query: url.Values{"query": {qTop}, "operationName": {"A", "B"}}, status: 400, code: "BAD_REQUEST"},
		{name: "GET repeated variables", method: "GET", query: url.Values{"query": {qFirst}, "variables": {`{"n":1}`, `{"n":1000}`}}, status: 400, code: "BAD_REQUEST"},
		{name: "GET repeated extensions", method: "GET", query: url.Values{"query": {qTop}, "extensions": {`{}`, `{}`}}, status: 400, code: "BAD_REQUEST"},
		{name: "GET duplicate variable", method: "GET", query: url.Values{"query": {qFirst}, "variables": {`{"n":1,"n":1000}`}}, status: 400, code: "BAD_REQUEST"},
		{name: "GET variables an array", method: "GET", query: url.Values{"query": {qFirst}, "variables": {`[1]`}}, status: 400, code: "BAD_REQUEST"},
		{name: "GET extensions with a lone surrogate", method: "GET", query: url.Values{"query": {qTop}, "extensions": {`{"x":"\udc00"}`}}, status: 400, code: "BAD_REQUEST"},
		// APQ and safelist routes read just as strictly.
		{name: "APQ with a Query beside the hash", path: "/apq", body: `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + gatewaytest.KeyHash(qTop) + `"}},"Query":"{ me { id } }"}`, status: 400, code: "BAD_REQUEST"},
		{name: "APQ with a duplicate hash", path: "/apq", body: `{"query":"` + qTop + `","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + gatewaytest.KeyHash(qTop) + `","sha256Hash":"` + gatewaytest.KeyHash("{ me { id } }") + `"}}}`, status: 400, code: "BAD_REQUEST"},
		{name: "safelist with a Query beside the listed one", path: "/safe", body: `{"query":"` + helloQuery + `","Query":"{ me { id } }"}`, status: 400, code: "BAD_REQUEST"},
		{name: "safelist with a duplicate query", path: "/safe", body: `{"query":"` + helloQuery + `","query":"{ me { id } }"}`, status: 400, code: "BAD_REQUEST"},
		{name: "safelist documentId and persistedQuery both", path: "/safe", body: `{"documentId":"hello-v1","extensions":{"persistedQuery":{"version":1,"sha256Hash":"hello-v1"}}}`, status: 400, code: "BAD_REQUEST"},
		{name: "safelist unknown documentId", path: "/safe", body: `{"documentId":"other"}`, status: 403, code: "PERSISTED_QUERY_NOT_IN_LIST"},
		{name: "filter with a Query", path: "/filter", body: `{"query":"` + qUser + `","Query":"{ user(id: \"1\") { email } }"}`, status: 400, code: "BAD_REQUEST"},
		{name: "filter with a duplicate variable", path: "/filter", body: `{"query":"query($id: ID!) { user(id: $id) { id } }","variables":{"id":"1","id":"2"}}`, status: 400, code: "BAD_REQUEST"},
		// drop mode drops unknown members, but still refuses duplicates.
		{name: "drop: duplicate inside a dropped member", path: "/drop", body: `{"query":"` + qTop + `","x":{"a":1,"a":2}}`, status: 400, code: "BAD_REQUEST"},
		{name: "drop: Query alone leaves no query", path: "/drop", body: `{"Query":"` + qTop + `"}`, status: 400, code: "BAD_REQUEST"},
	})
}

// TestBoundaryGraphQLForwarded: what the upstream receives is the gateway's
// own canonical serialisation of the checked values, in every mode.
func TestBoundaryGraphQLForwarded(t *testing.T) {
	b := startBoundary(t)
	hash := gatewaytest.KeyHash(qTop)
	b.run(t, []bodyCase{
		{name: "whitespace and escapes normalised", body: " {\n \"query\" : \"{ topProducts { upc \\u007d }\" } ", status: 200,
			want: `{"query":"{ topProducts { upc } }"}`, runs: qTop},
		{name: "members in canonical order, literals kept", body: `{"extensions":{"tag":"caf\u00e9","n":1.50},"variables":{"n":1},"operationName":"Q","query":"query Q($n: Int) { topProducts(first: $n) { upc } }"}`, status: 200,
			want: `{"query":"query Q($n: Int) { topProducts(first: $n) { upc } }","operationName":"Q","variables":{"n":1},"extensions":{"tag":"café","n":1.50}}`},
		{name: "null members left out", body: `{"query":"` + qTop + `","operationName":null,"variables":null,"extensions":null}`, status: 200,
			want: `{"query":"` + qTop + `"}`},
		{name: "number literal not rounded", body: `{"query":"` + qFirst + `","variables":{"n":2.0E0}}`,
			want: `{"query":"` + qFirst + `","variables":{"n":2.0E0}}`},
		{name: "batch", body: `[ {"query":"` + qTop + `"} , {"variables":{"n":1},"query":"` + qFirst + `"} ]`,
			want: `[{"query":"` + qTop + `"},{"query":"` + qFirst + `","variables":{"n":1}}]`},
		{name: "GET as the equivalent POST", method: "GET", query: url.Values{"query": {qFirst}, "variables": {` {"n" : 1} `}, "extensions": {`{"a":[true,null]}`}}, status: 200,
			want: `{"query":"` + qFirst + `","variables":{"n":1},"extensions":{"a":[true,null]}}`, runs: qFirst},
		{name: "GET ignores a Query parameter it never reads", method: "GET", query: url.Values{"query": {qTop}, "Query": {"{ me { id } }"}}, status: 200,
			want: `{"query":"` + qTop + `"}`, runs: qTop},
		{name: "drop mode drops unknown members", path: "/drop", body: `{"query":"` + qTop + `","Query":"{ me { id } }","foo":{"bar":1}}`, status: 200,
			want: `{"query":"` + qTop + `"}`, runs: qTop},
		{name: "APQ registration forwards the query without the hash", path: "/apq", body: `{"query":"` + qTop + `","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + hash + `"}}}`, status: 200,
			want: `{"query":"` + qTop + `"}`, runs: qTop},
		{name: "APQ by hash forwards the full query", path: "/apq", body: `{"extensions":{"persistedQuery":{"sha256Hash":"` + hash + `","version":1},"trace":1}}`, status: 200,
			want: `{"query":"` + qTop + `","extensions":{"trace":1}}`, runs: qTop},
		{name: "APQ by documentId", path: "/apq", body: `{"documentId":"sha256:` + hash + `"}`, status: 200,
			want: `{"query":"` + qTop + `"}`, runs: qTop},
		{name: "safelist by id", path: "/safe", body: `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"hello-v1"}}}`, status: 200,
			want: `{"query":"` + helloQuery + `"}`, runs: helloQuery},
		{name: "safelist by documentId", path: "/safe", body: `{"documentId":"hello-v1","operationName":"Hello"}`, status: 200,
			want: `{"query":"` + helloQuery + `","operationName":"Hello"}`, runs: helloQuery},
		{name: "safelist by identical text", path: "/safe", body: `{"query":"` + helloQuery + `"}`, status: 200,
			want: `{"query":"` + helloQuery + `"}`, runs: helloQuery},
		{name: "filter: nothing removed, literals kept", path: "/filter", body: `{"variables":{"n":1.0,"id":"1"},"query":"query($n: Int, $id: ID!) { users(first: $n) { id } user(id: $id) { id } }"}`,
			want: `{"query":"query($n: Int, $id: ID!) { users(first: $n) { id } user(id: $id) { id } }","variables":{"n":1.0,"id":"1"}}`},
	})
}

// TestBoundaryGraphQLFilterForwarded: filter mode forwards its rewritten
// document with only the variables it still uses, as the client wrote them.
func TestBoundaryGraphQLFilterForwarded(t *testing.T) {
	b := startBoundary(t)
	b.resetAll()
	body := `{"query":"query($id: ID!, $f: Boolean!) { user(id: $id) { id username email @include(if: $f) } }","variables":{"f":true,"id":"1"},"Query":"x"}`
	resp, ans := send(t, "POST", b.gw.URL("/filter"), "application/json", body, nil)
	if resp.StatusCode != 400 || gatewaytest.FirstCode(t, ans) != "BAD_REQUEST" {
		t.Fatalf("a Query member in filter mode: %d %s", resp.StatusCode, ans)
	}
	body = strings.Replace(body, `,"Query":"x"`, "", 1)
	resp, ans = send(t, "POST", b.gw.URL("/filter"), "application/json", body, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, ans)
	}
	got := received(b.filter)
	if len(got) != 1 {
		t.Fatalf("upstream received %d requests", len(got))
	}
	fwd := string(got[0].body)
	q, _ := got[0].ran[0]["query"].(string)
	if strings.Contains(q, "email") || !strings.Contains(q, "username") {
		t.Fatalf("filtered document %q", q)
	}
	// The rewritten document, quoted, then the variable it still uses.
	if want := `{"query":` + quoteJSON(q) + `,"variables":{"id":"1"}}`; fwd != want {
		t.Fatalf("forwarded\n%s\nwant\n%s", fwd, want)
	}
}

// quoteJSON quotes s as the gateway's canonical writer does (RFC 8259
// escapes only), for the filter test's rewritten documents, which hold no
// characters other than printable ASCII, '"' and newlines.
func quoteJSON(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`).Replace(s) + `"`
}

// TestBoundaryGraphQLResponseType: a client that accepts
// application/graphql-response+json gets it on every answer, allowed or
// refused, whatever the upstream labelled its own.
func TestBoundaryGraphQLResponseType(t *testing.T) {
	b := startBoundary(t)
	const gqlResp = "application/graphql-response+json; charset=utf-8"
	for _, c := range []struct {
		name, path, body, accept, want string
		status                         int
	}{
		{"allowed, accepting graphql-response+json", "/graphql", `{"query":"` + qTop + `"}`, "application/graphql-response+json", gqlResp, 200},
		{"allowed, accepting both", "/graphql", `{"query":"` + qTop + `"}`, "application/graphql-response+json, application/json;q=0.9", gqlResp, 200},
		{"refused, accepting graphql-response+json", "/graphql", `{"Query":"` + qTop + `"}`, "application/graphql-response+json", gqlResp, 400},
		{"filtered, accepting graphql-response+json", "/filter", `{"query":"{ user(id: \"1\") { id email } }"}`, "application/graphql-response+json", gqlResp, 200},
		{"allowed, accepting application/json", "/graphql", `{"query":"` + qTop + `"}`, "application/json", "application/json", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := send(t, "POST", b.gw.URL(c.path), "application/json", c.body, map[string]string{"Accept": c.accept})
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, c.want) {
				t.Fatalf("Content-Type %q, want %q", got, c.want)
			}
		})
	}
}
