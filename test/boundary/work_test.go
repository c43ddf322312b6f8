package boundary

// End-to-end work bounds, introspection at any depth and interface
// inheritance through the gateway binary: validation bombs refused before
// validation, a flood of operations estimated at 0 rate-limited by
// min_cost, a null slicing argument costed by its default, nested
// introspection and inherited interface requirements refused. Every refusal
// asserts status and code and that no upstream received anything.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// workSchema is a monolith behind the /boundary route: Viewer.query returns
// the query type (the introspection fields are reachable through it), and
// Node.email carries a requirement User.email inherits.
const workSchema = `type Query {
  viewer: Viewer
  node(id: ID!): Node
  user(id: ID!): User
  open: String
}

type Viewer {
  query: Query
  name: String
}

interface Node {
  id: ID!
  email: String @requiresScopes(scopes: [["users:email"]])
}

type User implements Node {
  id: ID!
  email: String
  nick: String
}
`

const (
	introspectKey = "bw-introspect-key"
	mailKey       = "bw-mail-key"
)

func startWork(t *testing.T, set *upstreams.Set) *gatewaytest.Gateway {
	t.Helper()
	cfg := fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    - {name: bw-introspect, sha256: %s, scopes: [schema:read]}
    - {name: bw-mail, sha256: %s, scopes: [users:email]}
`+gatewaytest.Server("max_body_bytes: 1048576", "shutdown_grace: 5s", "trusted_proxies: [127.0.0.1/32]")+`graphql:
`+gatewaytest.ShopRoute("%q")+`  - name: boundary
    path: /boundary
    upstream: {url: %q, timeout: 5s}
    schema: {supergraph: schemas/boundary.graphql}
    introspection: {allow_scopes: [schema:read]}
    authorization: {mode: reject}
rate_limit:
  store: memory
  tiers:
    anonymous: {rate: 1, per: 1h, burst: 40}
    default: {rate: 1, per: 1h, burst: 1000}
`, gatewaytest.KeyHash(introspectKey), gatewaytest.KeyHash(mailKey), set.Products.Endpoint, set.Accounts.Endpoint)
	path := gatewaytest.WriteConfig(t, cfg)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "schemas", "boundary.graphql"), []byte(workSchema), 0o600); err != nil {
		t.Fatal(err)
	}
	return gatewaytest.StartFresh(t, path, set.ResetAll)
}

func TestBoundaryWork(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startWork(t, set)
	ip := 0
	nextIP := func() string { ip++; return fmt.Sprintf("198.51.100.%d", ip) }

	t.Run("validation bombs are refused before validation", func(t *testing.T) {
		frags := func(n int) string {
			var b strings.Builder
			b.WriteString("{")
			for i := range n {
				fmt.Fprintf(&b, " ...F%d", i)
			}
			b.WriteString(" }")
			for i := range n {
				fmt.Fprintf(&b, " fragment F%d on Query { a%d: __typename }", i, i)
			}
			return b.String()
		}
		fanOut := func(n int) string {
			var b strings.Builder
			b.WriteString("{ ...F0 }")
			for i := range n {
				fmt.Fprintf(&b, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
			}
			fmt.Fprintf(&b, " fragment F%d on Query { __typename }", n)
			return b.String()
		}
		bombs := []struct{ name, query string }{
			// ~54 KB of one repeated field: seconds of validation without the count.
			{"repeated __typename", "{" + strings.Repeat(" __typename", 4900) + " }"},
			{"repeated object", "{" + strings.Repeat(" topProducts { upc }", 900) + " }"},
			{"fragments side by side", frags(400)},
			{"fragment fan-out", fanOut(30)},
			{"inline fragments around repeats", "{" + strings.Repeat(" ... {", 20) + strings.Repeat(" __typename", 300) + strings.Repeat(" }", 20) + " }"},
			{"repeats in a batch-free operation list", strings.Repeat("query Q { __typename } ", 1) + "fragment X on Query {" + strings.Repeat(" __typename", 2000) + " }"},
		}
		for _, bm := range bombs {
			t.Run(bm.name, func(t *testing.T) {
				set.ResetAll()
				rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), nextIP(), bm.query)
				gatewaytest.WantGQLError(t, rp, http.StatusBadRequest, "MAX_SELECTIONS_LIMIT")
				set.WantUntouched(t)
			})
		}
	})

	t.Run("a flood of free operations is rate-limited by min_cost", func(t *testing.T) {
		set.ResetAll()
		client := nextIP()
		for i := range 40 {
			rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), client, `{ __typename }`)
			gatewaytest.WantOK(t, rp)
			gatewaytest.WantLimit(t, rp, "anonymous", 40, 39-i, 0)
		}
		rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), client, `{ __typename }`)
		gatewaytest.WantGQLError(t, rp, http.StatusTooManyRequests, "RATE_LIMITED")
		set.Products.WantForwarded(t, 40, "__typename")
	})

	t.Run("a null or negative slicing argument is costed by its default", func(t *testing.T) {
		// topProducts(first: Int = 5) of Product (1) with price @cost(2):
		// null takes the default, 5 x (1 + 2) = 15; -1 is no size and
		// takes list_size, 10 x 3 = 30; never 0.
		for q, left := range map[string]int{
			`{ topProducts(first: null) { upc price } }`: 25,
			`{ topProducts(first: -1) { upc price } }`:   10,
		} {
			set.ResetAll()
			rp := gatewaytest.GraphQLFrom(t, gw.URL("/graphql"), nextIP(), q)
			// Forwarded (the subgraph may refuse -1 itself) and charged 15.
			if rp.Status != http.StatusOK {
				t.Fatalf("want 200, got %v", rp)
			}
			gatewaytest.WantLimit(t, rp, "anonymous", 40, left, 0)
			set.Products.WantForwarded(t, 1, "topProducts")
		}
		set.ResetAll()
		b := `{"query":"query($n: Int) { topProducts(first: $n) { upc price } }","variables":{"n":null}}`
		rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/graphql"), nextIP(), b, nil)
		gatewaytest.WantOK(t, rp)
		gatewaytest.WantLimit(t, rp, "anonymous", 40, 25, 0)
	})

	t.Run("introspection through a field returning Query needs the scope", func(t *testing.T) {
		queries := []string{
			`{ viewer { query { __schema { types { name } } } } }`,
			`{ viewer { query { __type(name: "User") { name } } } }`,
			`{ v: viewer { q: query { s: __schema { queryType { name } } } } }`,
			`{ viewer { ...V } } fragment V on Viewer { query { ... on Query { __schema { types { name } } } } }`,
		}
		for _, q := range queries {
			set.ResetAll()
			rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/boundary"), nextIP(), gatewaytest.GraphQLBody(q, nil), nil)
			gatewaytest.WantGQLError(t, rp, http.StatusForbidden, "INTROSPECTION_DISABLED")
			set.WantUntouched(t)
		}
		// With the scope the same operation passes the gateway.
		set.ResetAll()
		// (The upstream behind this route is another schema: what it answers
		// does not matter, only that the gateway let the operation through.)
		gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/boundary"), nextIP(), gatewaytest.GraphQLBody(queries[0], nil), map[string]string{"X-API-Key": introspectKey})
		set.Accounts.WantForwarded(t, 1, "__schema")
	})

	t.Run("an interface field's requirement holds on the object type", func(t *testing.T) {
		for _, q := range []string{
			`{ user(id: "1") { id email } }`,
			`{ node(id: "1") { id ... on User { email } } }`,
			`{ node(id: "1") { ...U } } fragment U on User { mail: email }`,
		} {
			set.ResetAll()
			rp := gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/boundary"), nextIP(), gatewaytest.GraphQLBody(q, nil), nil)
			gatewaytest.WantGQLError(t, rp, http.StatusForbidden, "UNAUTHORIZED_FIELD_OR_TYPE")
			set.WantUntouched(t)
		}
		set.ResetAll()
		gatewaytest.SendFrom(t, http.MethodPost, gw.URL("/boundary"), nextIP(), gatewaytest.GraphQLBody(`{ user(id: "1") { id email } }`, nil), map[string]string{"X-API-Key": mailKey})
		set.Accounts.WantForwarded(t, 1, "email")
	})
}
