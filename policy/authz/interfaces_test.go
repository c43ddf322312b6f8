package authz

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/schema"
)

func interfacesGraph(t *testing.T) *schema.Graph {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "interfaces.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := schema.ParseSDL("interfaces", string(b))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestInterfaceRequirementsInherited attacks a requirement written on an
// interface field or an interface through the implementing object type:
// directly, through fragments on the object type, and through a rule on the
// interface. Each must be refused; the same request with the right passes.
func TestInterfaceRequirementsInherited(t *testing.T) {
	g := interfacesGraph(t)
	rules := []Rule{{Coordinate: "Node.id", Scopes: []string{"ids"}}, {Coordinate: "Named", Scopes: []string{"named:read"}}}
	a, err := Compile(testPolicies, g, GraphQLConfig{Mode: ModeReject, Rules: rules[1:]})
	if err != nil {
		t.Fatal(err)
	}
	withRule, err := Compile(testPolicies, g, GraphQLConfig{Mode: ModeReject, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	mail := authn.Identity{Kind: authn.KindJWT, Subject: "u1", Scopes: []string{"users:email"}, Tier: authn.TierDefault}
	// full satisfies every implementation of Node, as selecting a Node
	// field through the interface requires.
	full := authn.Identity{Kind: authn.KindJWT, Subject: "u1", Scopes: []string{"users:email", "named:read"}, Tier: authn.TierDefault}
	named := authn.Identity{Kind: authn.KindJWT, Subject: "u1", Scopes: []string{"named:read"}, Roles: []string{"admin"}, Tier: authn.TierDefault}
	cases := []struct {
		name  string
		az    *GraphQLAuthorizer
		q     string
		deny  authn.Identity // refused
		allow authn.Identity // passes
	}{
		{"object field directly", a, `{ user(id: "u1") { id email } }`, alice, mail},
		{"object field in a list", a, `{ users { email } }`, alice, mail},
		{"inline fragment on the object type", a, `{ node(id: "1") { __typename ... on User { email } } }`, alice, mail},
		{"named fragment on the object type", a, `{ node(id: "1") { ...U } } fragment U on User { e: email }`, alice, mail},
		{"through the interface", a, `{ node(id: "1") { email } }`, mail, full},
		{"interface type on its implementation", a, `{ account { plan } }`, anon, alice},
		{"interface type by fragment", a, `{ node(id: "1") { ... on Account { plan } } }`, anon, alice},
		{"interface implementing interface, field", a, `{ pet { email } }`, named, authn.Identity{Kind: authn.KindJWT, Subject: "u1", Scopes: []string{"users:email", "named:read"}, Tier: authn.TierDefault}},
		{"interface implementing interface, own field", a, `{ pet { name } }`, authn.Identity{Kind: authn.KindJWT, Subject: "u1", Scopes: []string{"named:read"}, Tier: authn.TierDefault}, named},
		{"config rule on the interface type", a, `{ pet { id } }`, alice, named},
		{"config rule on the interface field", withRule, `{ user(id: "u2") { id } }`, alice, authn.Identity{Kind: authn.KindJWT, Subject: "u2", Scopes: []string{"ids"}, Tier: authn.TierDefault}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := analyze(t, g, tc.q, nil)
			if d := tc.az.Authorize(rep, tc.deny, Request{}); d.Allowed || len(d.Errors) == 0 {
				t.Fatalf("inherited requirement bypassed: %+v", d)
			}
			if d := tc.az.Authorize(rep, tc.allow, Request{}); !d.Allowed || len(d.Errors) > 0 {
				t.Fatalf("allowed identity refused: %+v", d.Errors)
			}
		})
	}
	// Open fields stay open.
	if d := a.Authorize(analyze(t, g, `{ user(id: "u1") { id nick } open }`, nil), anon, Request{}); !d.Allowed {
		t.Errorf("open fields refused: %+v", d.Errors)
	}
}

// TestCoverageShowsInheritedRequirements: check --coverage lists the
// requirement an object field inherits from its interface.
func TestCoverageShowsInheritedRequirements(t *testing.T) {
	g := interfacesGraph(t)
	a, err := Compile(testPolicies, g, GraphQLConfig{Mode: ModeReject})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]CoverageEntry{}
	for _, e := range Coverage(g, a) {
		got[e.Coordinate] = e
	}
	for coord, want := range map[string]string{
		"User.email":    "scopes(users:email)",
		"Account.email": "scopes(users:email)",
		"Pet.email":     "scopes(users:email)",
		"Account.plan":  "none", // a type's requirement is on the fields that return it
		"Pet.name":      "policy(admin)",
		"Node.email":    "scopes(users:email)",
		"User.nick":     "none",
		"Query.user":    "none",
		"Query.account": "authenticated",
		"Query.node":    "none",
	} {
		e, ok := got[coord]
		if !ok {
			t.Errorf("%s not listed", coord)
			continue
		}
		if !strings.Contains(e.Requirement, want) || (want == "none") != e.Unprotected {
			t.Errorf("%s: requirement %q, want %q", coord, e.Requirement, want)
		}
	}
}
