package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// TestGraphQLAttacks sends each abusive operation through the real gateway
// binary and asserts the refusal, its status and code, and that the
// upstream subgraph received nothing.
func TestGraphQLAttacks(t *testing.T) {
	set := upstreams.StartAll(t)
	cfg := strings.Replace(baseConfig(set, ""), "max_body_bytes: 65536", "max_body_bytes: 8388608", 1)
	cfg = strings.Replace(cfg, "    schema:\n", "    limits: {max_depth: 12, max_aliases: 30, max_directives: 50, max_tokens: 5000, max_cost: 5000}\n    schema:\n", 1)
	gw := gatewaytest.Start(t, gatewaytest.WriteConfig(t, cfg))

	nested := "{ topProducts { upc } }"
	for i := 0; i < 249; i++ { // two levels each: about 500 in all
		// reviews -> product -> reviews ... deepens without bound.
		nested = strings.Replace(nested, "{ upc }", "{ reviews { product { upc } } }", 1)
	}
	var aliases strings.Builder
	aliases.WriteString("{ ")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&aliases, "a%d: topProducts { upc } ", i)
	}
	aliases.WriteString("}")
	fiveMB := "{ topProducts { " + strings.Repeat("upc ", 5<<20/4) + "} }"
	directives := "{ topProducts { upc" + strings.Repeat(" @include(if: true)", 1000) + " } }"
	batch := make([]map[string]string, 1000)
	for i := range batch {
		batch[i] = map[string]string{"query": "{ topProducts { upc } }"}
	}
	batchBody, _ := json.Marshal(batch)

	cases := []struct {
		name   string
		method string
		body   string
		query  string // for GET
		status int
		code   string
	}{
		{"500-level nesting", "POST", gatewaytest.GraphQLBody(nested, nil), "", 400, "MAX_DEPTH_LIMIT"},
		{"10,000 aliases of one field", "POST", gatewaytest.GraphQLBody(aliases.String(), nil), "", 400, "MAX_TOKENS_LIMIT"},
		{"a 5 MB document of repeated fields", "POST", gatewaytest.GraphQLBody(fiveMB, nil), "", 400, "MAX_TOKENS_LIMIT"},
		{"1,000 directives", "POST", gatewaytest.GraphQLBody(directives, nil), "", 400, "MAX_TOKENS_LIMIT"},
		{"circular fragments", "POST", gatewaytest.GraphQLBody("query { topProducts { ...A } } fragment A on Product { upc ...B } fragment B on Product { name ...A }", nil), "", 400, "GRAPHQL_VALIDATION_FAILED"},
		{"a batch of 1,000 operations", "POST", string(batchBody), "", 400, "MAX_BATCH_LIMIT"},
		{"introspection without scope", "POST", gatewaytest.GraphQLBody("{ __schema { types { name } } }", nil), "", 403, "INTROSPECTION_DISABLED"},
		{"__type without scope", "POST", gatewaytest.GraphQLBody(`{ __type(name: "User") { fields { name } } }`, nil), "", 403, "INTROSPECTION_DISABLED"},
		{"typo'd field with introspection off", "POST", gatewaytest.GraphQLBody("{ topProducts { nam } }", nil), "", 400, "GRAPHQL_VALIDATION_FAILED"},
		{"mutation over GET", "GET", "", `mutation { updateUser(id: "1", input: {role: "admin"}) { id } }`, 405, "METHOD_NOT_ALLOWED"},
		{"too many aliases (under the token limit)", "POST", gatewaytest.GraphQLBody("{ "+strings.Repeat("x: topProducts { upc } ", 1)+aliasList(40)+" }", nil), "", 400, "MAX_ALIASES_LIMIT"},
		{"too expensive", "POST", gatewaytest.GraphQLBody("{ topProducts(first: 1000) { reviews { body product { reviews { body } } } } }", nil), "", 400, "COST_ESTIMATED_TOO_EXPENSIVE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set.ResetAll()
			var resp *http.Response
			var body []byte
			if c.method == "GET" {
				resp, body = get(t, gw.URL("/graphql?query="+url.QueryEscape(c.query)))
			} else {
				resp, body = post(t, gw.URL("/graphql"), "application/json", c.body)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.status, body)
			}
			if code := gatewaytest.FirstCode(t, body); code != c.code {
				t.Fatalf("code %q, want %q: %.300s", code, c.code, body)
			}
			for _, s := range set.Subgraphs() {
				if n := s.Recorder.Count(); n != 0 {
					t.Fatalf("%s received %d requests", s.Name, n)
				}
			}
			if c.name == "typo'd field with introspection off" {
				// The client sent "nam" and "topProducts"; "name" and "Product"
				// could only come from the schema.
				if strings.Contains(string(body), "Did you mean") || strings.Contains(string(body), "name") || strings.Contains(string(body), "Product\"") || strings.Contains(string(body), "type Product") {
					t.Fatalf("schema leaked through the error: %s", body)
				}
			}
		})
	}
}

func aliasList(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "a%d: __typename ", i)
	}
	return b.String()
}
