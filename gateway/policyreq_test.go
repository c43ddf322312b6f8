package gateway

import "testing"

// TestPolicyHeaders: CEL policies see request headers by lower-case name,
// never the credentials.
func TestPolicyHeaders(t *testing.T) {
	cfg := `
identity: {anonymous: true}
policies:
  tenant: "'x-tenant' in request.headers && request.headers['x-tenant'] == 'acme'"
  nocreds: "!('authorization' in request.headers) && !('cookie' in request.headers)"
graphql:
  - name: shop
    path: /graphql
    upstream: {url: "{{gql}}/query", timeout: 2s}
    schema: {supergraph: schema.graphql}
    authorization:
      mode: reject
      rules:
        - {coordinate: "Query.hello", policy: tenant}
        - {coordinate: "Query.products", policy: nocreds}
rest:
  - name: api
    prefix: /api
    openapi: orders.yaml
    upstream: {url: "{{rest}}", timeout: 2s}
`
	h := newHarness(t, cfg)
	cases := []struct {
		name   string
		hdr    map[string]string
		query  string
		status int
	}{
		{"tenant header matches", map[string]string{"Content-Type": "application/json", "X-Tenant": "acme"}, `{ hello }`, 200},
		{"tenant header differs", map[string]string{"Content-Type": "application/json", "X-Tenant": "evil"}, `{ hello }`, 403},
		{"tenant header missing", map[string]string{"Content-Type": "application/json"}, `{ hello }`, 403},
		{"credentials are hidden from policies", map[string]string{"Content-Type": "application/json", "Cookie": "s=1"}, `{ products { upc } }`, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := h.do("POST", "/graphql", c.hdr, `{"query":"`+c.query+`"}`)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, body)
			}
			if c.status == 403 && gqlCode(t, body) != "UNAUTHORIZED_FIELD_OR_TYPE" {
				t.Fatalf("code: %s", body)
			}
		})
	}
}
