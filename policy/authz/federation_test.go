package authz

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/schema"
)

func demoGraph(t testing.TB) *schema.Graph {
	t.Helper()
	var subs []schema.SubgraphSDL
	for _, n := range []string{"accounts", "products", "reviews"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "configs", "schemas", n+".graphql"))
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, schema.SubgraphSDL{Name: n, SDL: string(b)})
	}
	g, err := schema.Compose(subs)
	if err != nil {
		t.Fatalf("composing demo: %v", err)
	}
	return g
}

// TestFederatedDemo runs the directives of the composed demo subgraphs.
func TestFederatedDemo(t *testing.T) {
	g := demoGraph(t)
	a, err := Compile(Policies{"admin": "'admin' in identity.roles", "self": "has(args.id) && args.id == identity.subject"}, g,
		GraphQLConfig{Mode: ModeFilter, Rules: []Rule{
			{Coordinate: "Query.user", Policy: "self"},
			{Coordinate: "Mutation.updateUser(input.role)", Policy: "admin"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	user := authn.Identity{Kind: authn.KindJWT, Subject: "1"}
	reviewer := authn.Identity{Kind: authn.KindJWT, Subject: "2", Scopes: []string{"reviews:admin", "users:email"}}
	cases := []struct {
		name string
		q    string
		id   authn.Identity
		want []string
	}{
		{"me_anonymous", `{ me { id } topProducts { name } }`, anon, []string{"me"}},
		{"me_authenticated", `{ me { id username } }`, user, nil},
		{"role_anonymous_via_reviews", `{ latestReviews { body author { username role } } }`, anon, []string{"latestReviews.author.role"}},
		{"email_scope_missing", `{ latestReviews { author { email } product { name } } }`, user, []string{"latestReviews.author.email"}},
		{"cross_subgraph_scope", `{ topProducts { name secretNotes reviews { author { email } } } }`, reviewer, nil},
		{"cross_subgraph_scope_missing", `{ topProducts { name secretNotes } }`, user, []string{"topProducts.secretNotes"}},
		{"self_rule_other", `{ user(id: "9") { username } topProducts { upc } }`, user, []string{"user"}},
		{"self_rule_own", `{ user(id: "1") { username } }`, user, nil},
		{"input_rule", `mutation { updateUser(id: "1", input: {role: "admin"}) { id } }`, user, []string{"updateUser"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := a.Authorize(analyze(t, g, tc.q, nil), tc.id, Request{})
			if got := paths(d.Errors); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("errors = %q, want %q", got, tc.want)
			}
			if len(tc.want) == 0 != d.Allowed {
				t.Fatalf("Allowed = %v", d.Allowed)
			}
			assertClean(t, a, g, d, tc.id)
		})
	}
}
