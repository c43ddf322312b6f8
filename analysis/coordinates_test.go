package analysis

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/schema"
)

func loginGraph(t testing.TB) *schema.Graph {
	t.Helper()
	b, err := os.ReadFile("testdata/login.graphql")
	if err != nil {
		t.Fatal(err)
	}
	g, err := schema.ParseSDL("login", string(b))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// aliasedLogins is n login attempts in one document, each under an alias.
func aliasedLogins(n int) string {
	var b strings.Builder
	b.WriteString("mutation {")
	for i := 0; i < n; i++ {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("x", i%3))
		b.WriteString(string(rune('a'+i%26)) + string(rune('a'+i/26)))
		b.WriteString(`: login(username: "u", password: "p`)
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(`") { token }`)
	}
	b.WriteString(" }")
	return b.String()
}

// TestCoordinateCountsEveryDisguise: the login brute-force shapes all count
// one per attempt.
func TestCoordinateCountsEveryDisguise(t *testing.T) {
	g := loginGraph(t)
	a := NewAnalyzer(g, CostConfig{ListSize: 10})
	w, unknown := WatchCoordinates(g, []string{"Mutation.login", "User.email"})
	if len(unknown) > 0 {
		t.Fatalf("unknown = %v", unknown)
	}
	lim := DefaultLimits
	lim.MaxAliases, lim.MaxRootFields, lim.MaxCost, lim.MaxHeight = 1000, 1000, 1_000_000, 10000
	cases := []struct {
		name   string
		batch  []Request
		logins int
		emails int
	}{
		{"one", []Request{{Query: `mutation { login(username: "u", password: "p") { token } }`}}, 1, 0},
		{"100 aliases", []Request{{Query: aliasedLogins(100)}}, 100, 0},
		{"repeated with other fields", []Request{{Query: `mutation { a: login(username: "u", password: "1") { token } logout b: login(username: "u", password: "2") { token } }`}}, 2, 0},
		{"fragment spread twice", []Request{{Query: `mutation { ...L x: login(username: "u", password: "3") { token } } fragment L on Mutation { a: login(username: "u", password: "1") { token } b: login(username: "u", password: "2") { token } }`}}, 3, 0},
		{"nested fragment spreads", []Request{{Query: `mutation { ...A } fragment A on Mutation { ...B c: login(username: "u", password: "3") { token } } fragment B on Mutation { a: login(username: "u", password: "1") { token } b: login(username: "u", password: "2") { token } }`}}, 3, 0},
		{"inline fragment", []Request{{Query: `mutation { ... on Mutation { a: login(username: "u", password: "1") { token } } b: login(username: "u", password: "2") { token } }`}}, 2, 0},
		{"variables", []Request{{Query: `mutation($p: String!) { a: login(username: "u", password: $p) { token } b: login(username: "u", password: $p) { token } }`, Variables: map[string]any{"p": "x"}}}, 2, 0},
		{"batch of 3", []Request{
			{Query: `mutation { login(username: "u", password: "1") { token } }`},
			{Query: `mutation { a: login(username: "u", password: "2") { token } b: login(username: "u", password: "3") { token } }`},
		}, 3, 0},
		{"merged identical field runs once", []Request{{Query: `mutation { login(username: "u", password: "1") { token } login(username: "u", password: "1") { user { id } } }`}}, 2, 0},
		{"field through its interface", []Request{{Query: `{ node(id: 1) { email ... on User { email name } } me { e: email } }`}}, 0, 3},
		{"skipped literally still counts", []Request{{Query: `mutation { login(username: "u", password: "1") @skip(if: true) { token } }`}}, 1, 0},
		{"none", []Request{{Query: `{ hello }`}}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reps []*Report
			for _, r := range c.batch {
				rep := a.Analyze(r, lim, Access{})
				if !rep.OK() {
					t.Fatalf("analysis refused: %v", rep.Errors)
				}
				reps = append(reps, rep)
			}
			counts := make([]int, w.Len())
			used := w.Count(reps, counts)
			if want := []int{c.logins, c.emails}; !slices.Equal(counts, want) {
				t.Fatalf("counts = %v, want %v", counts, want)
			}
			if used != (c.logins+c.emails > 0) {
				t.Fatalf("used = %v", used)
			}
		})
	}
}

func TestWatchCoordinatesUnknown(t *testing.T) {
	_, unknown := WatchCoordinates(loginGraph(t), []string{"Mutation.login", "Mutation.nope", "Nope.x", "login", ".x", "Mutation."})
	if want := []string{"Mutation.nope", "Nope.x", "login", ".x", "Mutation."}; !slices.Equal(unknown, want) {
		t.Fatalf("unknown = %v, want %v", unknown, want)
	}
}

func BenchmarkCoordinateCount(b *testing.B) {
	g := books(b)
	a := NewAnalyzer(g, CostConfig{ListSize: 10})
	q, err := os.ReadFile("testdata/ops/fragments.graphql")
	if err != nil {
		b.Fatal(err)
	}
	rep := a.Analyze(Request{Query: string(q), Variables: map[string]any{"n": 3.0, "id": "b1"}}, DefaultLimits, Access{})
	if !rep.OK() {
		b.Fatal(rep.Errors)
	}
	w, _ := WatchCoordinates(g, []string{"Query.book", "Book.title", "Author.name"})
	reps := []*Report{rep}
	counts := make([]int, w.Len())
	b.ReportAllocs()
	for b.Loop() {
		clear(counts)
		w.Count(reps, counts)
	}
}

// mediumQuery is the medium workload of analysis/gqlrequest's benchmarks,
// cut to the fields the bundled schemas (configs/schemas) have.
const mediumQuery = `query ProductPage($upc: String!, $first: Int = 5, $withReviews: Boolean! = true) {
  product(upc: $upc) {
    ...ProductFields
    reviews @include(if: $withReviews) {
      ...ReviewFields
      author { id username email }
    }
  }
  topProducts(first: $first) { ...ProductFields }
}

fragment ProductFields on Product {
  upc
  name
  price
  inStock
}

fragment ReviewFields on Review {
  id
  body
  product { upc name }
}
`

// BenchmarkCoordinateCountMedium is the per-request cost of per-coordinate
// counting on the medium query, beside the baseline of a cached analysis
// of the same request measured in the same run (ratio = count / analyze).
func BenchmarkCoordinateCountMedium(b *testing.B) {
	var subs []schema.Subgraph
	for _, n := range []string{"accounts", "products", "reviews"} {
		subs = append(subs, schema.Subgraph{Name: n, File: "../configs/schemas/" + n + ".graphql"})
	}
	g, err := schema.Load(b.Context(), schema.Config{Subgraphs: subs})
	if err != nil {
		b.Fatal(err)
	}
	a := NewAnalyzer(g, CostConfig{ListSize: 10})
	req := Request{Query: mediumQuery, OperationName: "ProductPage", Variables: map[string]any{"upc": "1", "first": 3.0, "withReviews": true}}
	rep := a.Analyze(req, DefaultLimits, Access{})
	if !rep.OK() {
		b.Fatal(rep.Errors)
	}
	w, unknown := WatchCoordinates(g, []string{"Query.product", "Review.body", "User.email", "Product.price"})
	if len(unknown) > 0 {
		b.Fatal(unknown)
	}
	reps := []*Report{rep}
	counts := make([]int, w.Len())
	// CPU time, not wall time: on a shared machine the wall time is mostly
	// waiting for a core.
	const baselineRuns = 2000
	cpu0 := cpuNanos()
	for i := 0; i < baselineRuns; i++ {
		a.Analyze(req, DefaultLimits, Access{})
	}
	baseline := float64(cpuNanos()-cpu0) / baselineRuns
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 = cpuNanos()
	for b.Loop() {
		clear(counts)
		w.Count(reps, counts)
	}
	b.StopTimer()
	cpu := float64(cpuNanos()-cpu0) / float64(b.N)
	if counts[0] != 1 || counts[1] != 1 || counts[3] != 2 {
		b.Fatalf("counts = %v", counts)
	}
	if baseline > 0 {
		b.ReportMetric(cpu, "cpu-ns/op")
		b.ReportMetric(baseline, "analyze-cpu-ns/op")
		b.ReportMetric(cpu/baseline, "count/analyze")
	}
}
