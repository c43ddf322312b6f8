package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRefundAndCostExtensions: a list assumed to hold 10 items that came
// back with 2 is charged 10 up front and refunded 8 once the answer is
// measured; extensions.cost reports it, and the next charge starts from
// the refunded budget.
func TestRefundAndCostExtensions(t *testing.T) {
	up := newRecorder(t, `{"data":{"products":[{"upc":"1"},{"upc":"2"}]}}`)
	cfg := `
identity: {anonymous: true}
rate_limit:
  tiers:
    anonymous: {rate: 1, per: 1h, burst: 200}
graphql:
  - name: shop
    path: /graphql
    upstream: {url: "` + up.srv.URL + `/query", timeout: 2s}
    schema: {supergraph: schema.graphql}
    cost: {list_size: 10}
    cost_extensions: true
    refund: true
rest:
  - name: api
    prefix: /api
    openapi: orders.yaml
    upstream: {url: "` + up.srv.URL + `", timeout: 2s}
`
	h := newHarness(t, cfg)
	query := `{"query":"{ products { upc } }"}`

	resp, body := h.do("POST", "/graphql", jsonCT, query)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("RateLimit"); got != `"anonymous";r=190;t=36000` {
		t.Errorf("RateLimit = %q after charging the estimate of 10", got)
	}
	var ans struct {
		Data       map[string]any
		Extensions struct{ Cost map[string]int }
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Data["products"] == nil {
		t.Fatalf("data lost: %s", body)
	}
	want := map[string]int{"requested": 2, "remaining": 198, "limit": 200}
	for k, v := range want {
		if ans.Extensions.Cost[k] != v {
			t.Errorf("extensions.cost.%s = %d, want %d (%s)", k, ans.Extensions.Cost[k], v, body)
		}
	}
	// The next request starts from the refunded budget: 198 - 10.
	resp, _ = h.do("POST", "/graphql", jsonCT, query)
	if got := resp.Header.Get("RateLimit"); !strings.HasPrefix(got, `"anonymous";r=188;`) {
		t.Errorf("RateLimit = %q, want r=188 after the refund", got)
	}
	if got := resp.Header.Get("RateLimit-Policy"); got != `"anonymous";q=200;w=720000` {
		t.Errorf("RateLimit-Policy = %q", got)
	}
}
