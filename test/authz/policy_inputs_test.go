package authz

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// TestPolicyReadsHeadersHoweverWritten: the gateway builds the header map
// a policy sees only when some policy reads it, and what a policy reads is
// taken from its checked expression. A policy that reaches the headers by a
// computed key must still see them: if the gateway judged by the source
// text (no "headers" in it), the map would be empty and the blocked header
// would pass.
func TestPolicyReadsHeadersHoweverWritten(t *testing.T) {
	for _, c := range []struct{ name, expr string }{
		{"selected", `!('x-block' in request.headers)`},
		{"indexed by a constant", `!('x-block' in request['headers'])`},
		{"indexed by a computed key", `!('x-block' in request['head' + 'ers'])`},
		{"through a list of request", `![request].exists(r, 'x-block' in r['he' + 'aders'])`},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := upstreams.StartAll(t)
			cfg := fmt.Sprintf(`
identity: {anonymous: true}
policies:
  noblock: %q
rate_limit:
  tiers: {anonymous: %s}
`+gatewaytest.Server("shutdown_grace: 5s")+`graphql:
`+gatewaytest.ShopRoute("%q", `authorization: {mode: reject, rules: [{coordinate: "Query.topProducts", policy: noblock}]}`),
				c.expr, gatewaytest.GenerousTier, set.Products.Endpoint)
			gw := gatewaytest.StartFresh(t, gatewaytest.WriteConfig(t, cfg), set.ResetAll)
			body := gatewaytest.GraphQLBody(`{ topProducts(first: 1) { upc } }`, nil)

			gatewaytest.WantOK(t, gatewaytest.Send(t, http.MethodPost, gw.URL("/graphql"), nil, body))
			set.Products.WantForwarded(t, 1, "topProducts")

			set.ResetAll()
			for _, name := range []string{"X-Block", "x-block", "X-BLOCK"} {
				rp := gatewaytest.Send(t, http.MethodPost, gw.URL("/graphql"), map[string]string{name: "1"}, body)
				if rp.Status != http.StatusForbidden || gatewaytest.FirstCode(t, rp.Body) != "UNAUTHORIZED_FIELD_OR_TYPE" {
					t.Fatalf("with %s: %v, want 403 UNAUTHORIZED_FIELD_OR_TYPE", name, rp)
				}
			}
			set.WantUntouched(t)
		})
	}
}
