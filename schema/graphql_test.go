package schema

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

func TestDetect(t *testing.T) {
	cases := []struct {
		name, sdl string
		want      Kind
	}{
		{"monolith", `type Query { a: Int @cost(weight: 1) }`, KindMonolith},
		{"fed2 link", `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3") type Query { a: Int }`, KindSubgraph},
		{"fed1 key", `type User @key(fields: "id") { id: ID }`, KindSubgraph},
		{"fed1 extends", `type User @extends { id: ID }`, KindSubgraph},
		{"supergraph link", `schema @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query } type Query { a: Int }`, KindSupergraph},
		{"supergraph join without link", `type Query @join__type(graph: A) { a: Int }`, KindSupergraph},
		{"unparsable", `type Query {`, KindMonolith},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Detect(c.sdl); got != c.want {
				t.Fatalf("Detect = %v, want %v", got, c.want)
			}
		})
	}
}

func TestMonolithMetadata(t *testing.T) {
	g, err := ParseSDL("shop", `
type Query {
  user(id: ID! @cost(weight: 3)): User @authenticated @requiresScopes(scopes: [["a", "b"], ["a"]])
  users(first: Int): [User] @listSize(assumedSize: 50, slicingArguments: ["first"])
  debug: String @inaccessible
}
type User @policy(policies: [["self"]]) @cost(weight: 2) { id: ID! name: String @tag(name: "pii") }
input F { a: Int @cost(weight: 5) }
type Mutation { m(f: F): Int }
`)
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind() != KindMonolith {
		t.Fatalf("kind %v", g.Kind())
	}
	u := g.Field("Query", "user")
	if u == nil || !u.Requirements.Authenticated || fmt.Sprint(u.Requirements.Scopes) != "[[a]]" || *u.Arguments["id"].Cost != 3 {
		t.Fatalf("Query.user metadata: %+v", u)
	}
	if ls := g.Field("Query", "users").ListSize; ls == nil || *ls.AssumedSize != 50 || ls.SlicingArguments[0] != "first" || !ls.RequireOneSlicingArgument {
		t.Fatalf("listSize: %+v", ls)
	}
	if ut := g.Type("User"); *ut.Cost != 2 || fmt.Sprint(ut.Requirements.Policies) != "[[self]]" {
		t.Fatalf("User: %+v", ut)
	}
	if c := g.Type("F").InputFields["a"].Cost; c == nil || *c != 5 {
		t.Fatalf("input field cost %v", c)
	}
	if g.Field("Query", "nope") != nil || g.Type("Nope") != nil {
		t.Fatal("unknown coordinates must be nil")
	}
	// @inaccessible is absent for clients: validation refuses it.
	if _, errs := gqlparser.LoadQueryWithRules(g.Schema(), `{ debug }`, rules.NewDefaultRules()); len(errs) == 0 {
		t.Fatal("inaccessible field accepted by validation")
	}
	if _, errs := gqlparser.LoadQueryWithRules(g.Schema(), `{ user(id: 1) { name } }`, rules.NewDefaultRules()); len(errs) != 0 {
		t.Fatalf("valid query refused: %v", errs)
	}
	if g.Schema().Directives["cost"] != nil {
		t.Fatal("API schema keeps the @cost definition")
	}
	assertRoundTrip(t, g)
}

func TestInaccessibleRemovedFromAPISchema(t *testing.T) {
	subs := loadFixture(t, filepath.Join("testdata", "compose", "valid_inaccessible"))
	g, err := Compose(subs)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`{ internal { x } }`, `{ user(id: 1, debug: true) { id } }`, `{ user(id: 1) { ssn } }`} {
		if _, errs := gqlparser.LoadQueryWithRules(g.Schema(), q, rules.NewDefaultRules()); len(errs) == 0 {
			t.Errorf("query %s touching an @inaccessible element was accepted", q)
		}
	}
	if g.Schema().Types["Secret"] != nil || g.Schema().Types["Role"].EnumValues.ForName("LEGACY") != nil {
		t.Error("inaccessible type or enum value left in the API schema")
	}
	for name := range g.Schema().Types {
		if strings.HasPrefix(name, "join__") || strings.HasPrefix(name, "link__") {
			t.Errorf("federation internal type %s in the API schema", name)
		}
	}
}

func TestParseSDLErrors(t *testing.T) {
	cases := map[string]string{
		"syntax":            `type Query {`,
		"undefined type":    `type Query { a: Nope }`,
		"unknown directive": `type Query { a: Int @nope }`,
		"bad supergraph":    `schema @link(url: "https://specs.apollo.dev/join/v0.3") { query: Query } type Query { a: Nope }`,
		"bad subgraph":      `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"]) type Query { a: Int } type U @key(fields: "x") { id: ID }`,
	}
	for name, sdl := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseSDL("s", sdl); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSubgraphAloneKeepsName(t *testing.T) {
	g, err := ParseSDL("products", `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
type Query { p: P } type P @key(fields: "id") { id: ID! }`)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Field("Query", "p").Subgraphs; len(got) != 1 || got[0] != "products" {
		t.Fatalf("subgraphs %v", got)
	}
}

func serviceHandler(sdl string, status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method", http.StatusMethodNotAllowed)
			return
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"_service": map[string]any{"sdl": sdl}}})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	fixture := filepath.Join("testdata", "compose", "valid_entities")
	accounts, _ := os.ReadFile(filepath.Join(fixture, "accounts.graphql"))
	reviews, _ := os.ReadFile(filepath.Join(fixture, "reviews.graphql"))
	accountsFile := filepath.Join(dir, "accounts.graphql")
	if err := os.WriteFile(accountsFile, accounts, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serviceHandler(string(reviews), http.StatusOK))
	defer srv.Close()
	broken := httptest.NewServer(serviceHandler("", http.StatusInternalServerError))
	defer broken.Close()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)

	t.Run("file and url", func(t *testing.T) {
		g, err := Load(context.Background(), Config{Subgraphs: []Subgraph{
			{Name: "accounts", File: accountsFile}, {Name: "reviews", URL: srv.URL}}})
		if err != nil {
			t.Fatal(err)
		}
		if f := g.Field("User", "reviews"); f == nil || f.Subgraphs[0] != "reviews" {
			t.Fatalf("User.reviews: %+v", f)
		}
		if infos := g.Subgraphs(); len(infos) != 2 || infos[1].URL != srv.URL {
			t.Fatalf("subgraphs %+v", infos)
		}
		// A supergraph file loads to the same metadata.
		super := filepath.Join(dir, "supergraph.graphql")
		if err := os.WriteFile(super, []byte(g.SupergraphSDL()), 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := Load(context.Background(), Config{Supergraph: super})
		if err != nil {
			t.Fatal(err)
		}
		if back.Version() != g.Version() {
			t.Fatal("supergraph file loads to a different graph")
		}
	})
	errCases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"http error names subgraph and url", Config{Subgraphs: []Subgraph{{Name: "reviews", URL: broken.URL}}},
			[]string{`"reviews"`, broken.URL, "500"}},
		{"timeout", Config{Subgraphs: []Subgraph{{Name: "slow", URL: slow.URL, Timeout: 50 * time.Millisecond}}},
			[]string{`"slow"`, slow.URL, "deadline"}},
		{"missing file", Config{Subgraphs: []Subgraph{{Name: "a", File: filepath.Join(dir, "nope.graphql")}}},
			[]string{`"a"`}},
		{"composition error", Config{Subgraphs: []Subgraph{{Name: "accounts", File: accountsFile}, {Name: "again", File: accountsFile}}},
			[]string{"INVALID_FIELD_SHARING"}},
		{"nothing configured", Config{}, []string{"no supergraph"}},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(context.Background(), c.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	t.Run("composition errors are typed", func(t *testing.T) {
		_, err := Load(context.Background(), Config{Subgraphs: []Subgraph{{Name: "accounts", File: accountsFile}, {Name: "again", File: accountsFile}}})
		var ce *CompositionErrors
		if !errors.As(err, &ce) || len(ce.Errors) == 0 {
			t.Fatalf("want *CompositionErrors, got %v", err)
		}
	})
}

func TestRequirementClauses(t *testing.T) {
	cases := []struct {
		a, b [][]string
		want string
	}{
		{nil, [][]string{{"x"}}, "[[x]]"},
		{[][]string{{"a"}, {"b"}}, [][]string{{"c"}}, "[[a c] [b c]]"},
		{[][]string{{"a"}, {"a", "b"}}, nil, "[[a]]"},
		{[][]string{{"a"}, {"b"}}, [][]string{{"a"}}, "[[a]]"},
		{[][]string{{"b", "a", "a"}}, [][]string{{"a", "b"}}, "[[a b]]"},
	}
	for _, c := range cases {
		if got := fmt.Sprint(andClauses(c.a, c.b)); got != c.want {
			t.Errorf("and(%v, %v) = %s, want %s", c.a, c.b, got, c.want)
		}
	}
}
