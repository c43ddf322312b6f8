package authz

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/internal/testkit/golden"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/schema"
)

var (
	shopOnce  sync.Once
	shopGraph *schema.Graph
	shopErr   error
)

func shop(t testing.TB) *schema.Graph {
	t.Helper()
	shopOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join("testdata", "shop.graphql"))
		if err != nil {
			shopErr = err
			return
		}
		shopGraph, shopErr = schema.ParseSDL("shop", string(b))
	})
	if shopErr != nil {
		t.Fatalf("loading test schema: %v", shopErr)
	}
	return shopGraph
}

var testPolicies = Policies{
	"admin":     "'admin' in identity.roles",
	"moderator": "'moderator' in identity.roles",
	"self":      "has(args.id) && args.id == identity.subject",
}

var testRules = []Rule{
	{Coordinate: "Query.user", Policy: "self"},
	{Coordinate: "Mutation.updateUser(input.role)", Policy: "admin"},
	{Coordinate: "Mutation.updateUser(input.profile.verified)", Scopes: []string{"users:verify"}},
	{Coordinate: "Query.users(first)", Scopes: []string{"users:bulk"}},
}

func compileShop(t testing.TB, mode string, dryRun bool) *GraphQLAuthorizer {
	t.Helper()
	a, err := Compile(testPolicies, shop(t), GraphQLConfig{Mode: mode, DryRun: dryRun, Rules: testRules})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return a
}

var generous = analysis.Limits{MaxDepth: 100, MaxHeight: 10000, MaxAliases: 10000, MaxRootFields: 1000,
	MaxTokens: 100000, MaxDirectives: 1000, MaxCost: 1 << 30, MaxBatch: 10}

func analyze(t testing.TB, g *schema.Graph, q string, vars map[string]any) *analysis.Report {
	t.Helper()
	rep := analysis.NewAnalyzer(g, analysis.CostConfig{}).Analyze(analysis.Request{Query: q, Variables: vars}, generous, analysis.Access{})
	if !rep.OK() {
		t.Fatalf("analysis of %q failed: %v", q, rep.Errors)
	}
	return rep
}

// Identities of the tests.
var (
	anon  = authn.Anonymous()
	alice = authn.Identity{Kind: authn.KindJWT, Subject: "u1", Tier: authn.TierDefault}
	// aliceMail may read e-mail addresses.
	aliceMail = authn.Identity{Kind: authn.KindJWT, Subject: "u1", Scopes: []string{"users:email"}, Tier: authn.TierDefault}
	root      = authn.Identity{Kind: authn.KindJWT, Subject: "u9", Roles: []string{"admin"},
		Scopes: []string{"users:email", "secret", "admin", "users:bulk", "users:verify"}, Tier: authn.TierDefault}
	mod = authn.Identity{Kind: authn.KindJWT, Subject: "u5", Roles: []string{"moderator"}, Tier: authn.TierDefault}
)

func paths(errs []Error) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		parts := make([]string, len(e.Path))
		for i, p := range e.Path {
			parts[i], _ = p.(string)
		}
		out = append(out, strings.Join(parts, "."))
	}
	return out
}

// assertClean re-analyses a filtered document and authorizes it again for
// the same identity: nothing unauthorized may be left in what is forwarded.
func assertClean(t *testing.T, a *GraphQLAuthorizer, g *schema.Graph, d *Decision, id authn.Identity) {
	t.Helper()
	if d.Document == "" {
		return
	}
	rep := analysis.NewAnalyzer(g, analysis.CostConfig{}).Analyze(analysis.Request{Query: d.Document, Variables: d.Variables}, generous, analysis.Access{})
	if !rep.OK() {
		t.Fatalf("filtered document is invalid: %v\n%s", rep.Errors, d.Document)
	}
	again := a.Authorize(rep, id, Request{})
	if !again.Allowed || len(again.Errors) > 0 {
		t.Fatalf("filtered document still has unauthorized selections %v:\n%s", paths(again.Errors), d.Document)
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), []byte(got))
}
