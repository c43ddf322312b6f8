package analysis

import (
	"testing"
)

// FuzzAnalyze feeds arbitrary documents and operation names: the analyzer
// must never panic or hang, and a report it accepts must be within limits.
func FuzzAnalyze(f *testing.F) {
	seeds := []string{
		`{ book { title author { name } } }`,
		`query Q($n: Int!) { newestAdditions(limit: $n) { ...P } } fragment P on Book { title writer: author { name } }`,
		`{ book { ...A } } fragment A on Book { author { books { ...A } } }`,
		`{ __schema { types { name fields { name } } } }`,
		`mutation { addBook(title: "x") { id } }`,
		`{ search(input: {term: "x", pagination: {first: 99999999999999999999}}) { id } }`,
		`{ weighted(filter: {nested: {nested: {name: "x"}}}, tags: ["a"]) { id } }`,
		`{ a: book @skip(if: true) { id } ... @include(if: false) { me { id } } }`,
		"{ \"unterminated",
		`query A { book { id } } query B { me { id } }`,
	}
	for _, s := range seeds {
		f.Add(s, "")
	}
	f.Add(`query A { book { id } } query B { me { id } }`, "B")
	a := NewAnalyzer(books(f), CostConfig{ListSize: 10}, WithCacheSize(64))
	f.Fuzz(func(t *testing.T, q, op string) {
		lim := Limits{}
		r := a.Analyze(Request{Query: q, OperationName: op, Variables: map[string]any{"n": 2}}, lim, Access{Introspection: len(q)%2 == 0})
		if r == nil {
			t.Fatal("nil report")
		}
		if r.OK() {
			d := DefaultLimits
			if r.Depth > d.MaxDepth || r.Height > d.MaxHeight || r.Aliases > d.MaxAliases || r.RootFields > d.MaxRootFields ||
				r.Directives > d.MaxDirectives || r.Tokens > d.MaxTokens || r.Cost > float64(d.MaxCost) {
				t.Fatalf("accepted over the limits: %+v", r)
			}
		}
	})
}
