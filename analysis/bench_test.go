package analysis

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// benchQuery is a ~1 KB operation with fragments (the docs/ pages benchmark).
const benchQuery = `query Shelf($n: Int!, $id: ID) {
  newestAdditions(limit: $n) { ...BookParts related(first: 2) { id title author { ...AuthorParts } } }
  bestsellers { ...BookParts author { ...AuthorParts } }
  book(id: $id) @include(if: true) { ... on Book { title id } ...BookParts }
  me { name books { __typename id title publisher { name } } }
  search(input: {term: "dune", pagination: {first: 5}}) { ...BookParts }
  bookConnection(first: 4) { total edges { node { ...BookParts } } }
  node(id: "x") { id ... on Book { title } ... on Author { name } }
  thing { ... on Book { id title writer: author { name } } ... on Author { id name books { id title } } }
  shelf: bestsellers { id title publisher { name address { zipCode } } related(first: 3) { id } }
}
fragment BookParts on Book {
  id
  title
  writer: author { ...AuthorParts }
  publisher { name address { zipCode } }
}
fragment AuthorParts on Author { id name }
`

var benchVars = map[string]any{"n": 3, "id": "b1"}

// BenchmarkAnalyze: uncached is the whole path (tokens, parse, validate,
// walk); cached is a cache hit, variables applied again; baseline is
// gqlparser's ParseQuery + ValidateWithRules alone, for the ratio the issue
// asks about; tokenFlood is a 1 MB document refused by the token count.
func BenchmarkAnalyze(b *testing.B) {
	g := books(b)
	b.Run("uncached", func(b *testing.B) {
		a := NewAnalyzer(g, CostConfig{ListSize: 10}, WithCacheSize(0))
		b.SetBytes(int64(len(benchQuery)))
		for b.Loop() {
			if r := a.Analyze(Request{Query: benchQuery, Variables: benchVars}, Limits{}, Access{}); !r.OK() {
				b.Fatal(r.Errors)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		a := NewAnalyzer(g, CostConfig{ListSize: 10})
		for b.Loop() {
			if r := a.Analyze(Request{Query: benchQuery, Variables: benchVars}, Limits{}, Access{}); !r.OK() {
				b.Fatal(r.Errors)
			}
		}
	})
	static := strings.NewReplacer("$n", "3", "$id", `"b1"`, "($n: Int!, $id: ID)", "").Replace(benchQuery)
	b.Run("cached-no-variables", func(b *testing.B) {
		a := NewAnalyzer(g, CostConfig{ListSize: 10})
		for b.Loop() {
			if r := a.Analyze(Request{Query: static}, Limits{}, Access{}); !r.OK() {
				b.Fatal(r.Errors)
			}
		}
	})
	b.Run("baseline-gqlparser", func(b *testing.B) {
		rs := rules.NewDefaultRules()
		for b.Loop() {
			doc, err := parser.ParseQuery(&ast.Source{Input: benchQuery})
			if err != nil {
				b.Fatal(err)
			}
			if errs := validator.ValidateWithRules(g.Schema(), doc, rs); len(errs) > 0 {
				b.Fatal(errs)
			}
		}
	})
	flood := strings.Repeat("a ", 1<<19)
	b.Run("tokenFlood-1MB", func(b *testing.B) {
		a := NewAnalyzer(g, CostConfig{ListSize: 10})
		for b.Loop() {
			if r := a.Analyze(Request{Query: flood}, Limits{}, Access{}); !hasCode(r, CodeMaxTokens) {
				b.Fatal(r.Errors)
			}
		}
	})
}

func TestBenchQueryValid(t *testing.T) {
	// The benchmark must measure an accepted operation.
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	r := a.Analyze(Request{Query: benchQuery, Variables: benchVars}, Limits{}, Access{})
	if !r.OK() {
		t.Fatal(r.Errors)
	}
	if n := len(benchQuery); n < 800 || n > 1400 {
		t.Errorf("bench query is %s bytes, want about 1 KB", strconv.Itoa(n))
	}
}
