package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/gateway/errcode"
)

const helloHash = "3f710a83decac3d21ddeae7bd265d8c5a48749226d23327b5dfd7031f406a987"

func persistedConfig(t *testing.T, mode string) string {
	manifest := ""
	if mode == "safelist" {
		abs, err := filepath.Abs("graphqlhttp/testdata/persisted/apollo.json")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			t.Fatal(err)
		}
		manifest = ", manifest: " + abs
	}
	return `
identity: {anonymous: true}
graphql:
  - name: shop
    path: /graphql
    upstream: {url: "{{gql}}/query", timeout: 2s}
    schema: {supergraph: schema.graphql}
    persisted_operations: {mode: ` + mode + manifest + `}
rest:
  - name: api
    prefix: /api
    openapi: orders.yaml
    upstream: {url: "{{rest}}", timeout: 2s}
`
}

// TestSafelistThroughGateway: only manifest operations pass, by hash or by
// identical text; the upstream receives the full text without the
// persistedQuery extension; anything else is 403 and reaches nothing.
func TestSafelistThroughGateway(t *testing.T) {
	h := newHarness(t, persistedConfig(t, "safelist"))
	cases := []struct {
		name, body string
		status     int
		code       string
		forwarded  string
	}{
		{"by hash", `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + helloHash + `"}}}`, 200, "", "query Hello { hello }"},
		{"by custom id", `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"set-hello-v1"}},"variables":{"v":"x"}}`, 200, "", "mutation SetHello"},
		{"identical text", `{"query":"query Hello { hello }"}`, 200, "", "query Hello { hello }"},
		{"other text", `{"query":"{ hello }"}`, 403, errcode.PersistedNotInList, ""},
		{"unknown hash", `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + strings.Repeat("a", 64) + `"}}}`, 403, errcode.PersistedNotInList, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(h.gql.got())
			resp, body := h.do("POST", "/graphql", jsonCT, c.body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			got := h.gql.got()
			if c.code != "" {
				if code := gqlCode(t, body); code != c.code {
					t.Fatalf("code %q, want %q", code, c.code)
				}
				if len(got) != before {
					t.Fatal("a refused operation reached the upstream")
				}
				return
			}
			last := got[len(got)-1].Body
			if !strings.Contains(last, c.forwarded) || strings.Contains(last, "persistedQuery") {
				t.Fatalf("upstream got %s", last)
			}
		})
	}
}

// TestAPQThroughGateway: Apollo's automatic persisted queries. A miss is
// PERSISTED_QUERY_NOT_FOUND; a registration that passes every check is
// kept; the hash alone then reaches the upstream as the full text.
func TestAPQThroughGateway(t *testing.T) {
	h := newHarness(t, persistedConfig(t, "allow_apq"))
	hashOnly := `{"extensions":{"persistedQuery":{"version":1,"sha256Hash":"` + helloHash + `"}}}`
	resp, body := h.do("POST", "/graphql", jsonCT, hashOnly)
	if resp.StatusCode != 400 || gqlCode(t, body) != errcode.PersistedNotFound {
		t.Fatalf("miss: %d %s", resp.StatusCode, body)
	}
	resp, body = h.do("POST", "/graphql", jsonCT, `{"query":"query Hello { hello }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"`+strings.Repeat("b", 64)+`"}}}`)
	if resp.StatusCode != 400 || gqlCode(t, body) != errcode.BadRequest {
		t.Fatalf("wrong hash: %d %s", resp.StatusCode, body)
	}
	resp, body = h.do("POST", "/graphql", jsonCT, `{"query":"query Hello { hello }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"`+helloHash+`"}}}`)
	if resp.StatusCode != 200 {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	resp, body = h.do("POST", "/graphql", jsonCT, hashOnly)
	if resp.StatusCode != 200 {
		t.Fatalf("hit: %d %s", resp.StatusCode, body)
	}
	got := h.gql.got()
	if last := got[len(got)-1].Body; last != `{"query":"query Hello { hello }"}` {
		t.Fatalf("upstream got %s", last)
	}
}
