package analysis

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// bomb is a family of documents built to make gqlparser's validator work
// hard; gen(k) grows with k.
type bomb struct {
	name string
	gen  func(k int) string
}

func repeat(k int, f func(i int) string) string {
	var b strings.Builder
	for i := range k {
		b.WriteString(f(i))
	}
	return b.String()
}

// bombs are the worst shapes found for the validator: repeated fields
// (OverlappingFieldsCanBeMerged compares every pair), fragments meeting at
// one place (compared pairwise, recursively), inline fragments nested around
// repeated fields (each level collects and compares again), deep nesting,
// wide unions, large arguments compared pairwise, many operations re-walking
// one fragment, many variables.
var bombs = []bomb{
	{"repeated-leaf", func(k int) string { return "{" + strings.Repeat(" __typename", k) + " }" }},
	{"repeated-object", func(k int) string { return "{" + strings.Repeat(" book { title author { name } }", k) + " }" }},
	{"distinct-aliases", func(k int) string {
		return "{" + repeat(k, func(i int) string { return fmt.Sprintf(" a%d: __typename", i) }) + " }"
	}},
	{"fragments-side-by-side", func(k int) string {
		return "{" + repeat(k, func(i int) string { return fmt.Sprintf(" ...F%d", i) }) + " }" +
			repeat(k, func(i int) string { return fmt.Sprintf(" fragment F%d on Query { a%d: __typename }", i, i) })
	}},
	{"wide-fragments-side-by-side", func(k int) string {
		return "{" + repeat(k, func(i int) string { return fmt.Sprintf(" ...F%d", i) }) + " }" +
			repeat(k, func(i int) string {
				return fmt.Sprintf(" fragment F%d on Query {", i) + repeat(20, func(j int) string { return fmt.Sprintf(" a%d_%d: __typename", i, j) }) + " }"
			})
	}},
	{"fragment-chain", func(k int) string {
		return "{ ...G0 }" + repeat(k, func(i int) string {
			return fmt.Sprintf(" fragment G%d on Query { ...G%d ...H%d } fragment H%d on Query { __typename }", i, i+1, i, i)
		}) + fmt.Sprintf(" fragment G%d on Query { __typename }", k)
	}},
	{"fragment-fan-out", func(k int) string {
		return "{ ...F0 }" + repeat(k, func(i int) string {
			return fmt.Sprintf(" fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
		}) + fmt.Sprintf(" fragment F%d on Query { __typename }", k)
	}},
	{"nested-inline-fragments", func(k int) string {
		return "{" + strings.Repeat(" ... {", k) + strings.Repeat(" __typename", 20) + strings.Repeat(" }", k) + " }"
	}},
	{"inline-fragments-around-repeats", func(k int) string {
		return "{" + strings.Repeat(" ... {", 8) + strings.Repeat(" __typename", k) + strings.Repeat(" }", 8) + " }"
	}},
	{"deep-nesting", func(k int) string {
		return "{ book {" + strings.Repeat(" related {", k) + " title" + strings.Repeat(" }", k) + " } }"
	}},
	{"wide-union", func(k int) string {
		return "{ thing {" + repeat(k, func(i int) string {
			if i%2 == 0 {
				return " ... on Book { id title author { name } }"
			}
			return " ... on Author { id name books { title } }"
		}) + " } }"
	}},
	{"repeated-large-arguments", func(k int) string {
		arg := `{name: "x", nested: {name: "y", nested: {name: "z", nested: {name: "w", nested: {name: "v"}}}}}`
		return "{" + strings.Repeat(" weighted(filter: "+arg+", tags: [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]) { id }", k) + " }"
	}},
	{"operations-sharing-a-fragment", func(k int) string {
		return repeat(k, func(i int) string { return fmt.Sprintf(" query Q%d { ...F }", i) }) +
			" fragment F on Query {" + repeat(40, func(j int) string { return fmt.Sprintf(" a%d: __typename", j) }) + " }"
	}},
	{"many-variables", func(k int) string {
		return "query(" + repeat(k, func(i int) string { return fmt.Sprintf(" $v%d: Int", i) }) + ") {" +
			repeat(k, func(i int) string { return fmt.Sprintf(" a%d: newestAdditions(limit: $v%d) { id }", i, i) }) + " }"
	}},
	{"directives", func(k int) string {
		return "{" + repeat(k, func(i int) string {
			return fmt.Sprintf(" a%d: __typename @skip(if: false) @include(if: true)", i)
		}) + " }"
	}},
}

// largest finds the largest k whose document passes the checks that run
// before validation (the token count and the selection count) under lim.
func largest(gen func(int) string, lim Limits) (int, string) {
	fits := func(k int) bool {
		q := gen(k)
		if _, over := CountTokens(q, lim.MaxTokens); over {
			return false
		}
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			return false
		}
		_, over := countSelections(doc, lim.MaxSelections)
		return !over
	}
	lo, hi := 1, 2
	for fits(hi) {
		lo, hi = hi, hi*2
		if hi > 1<<20 {
			break
		}
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, gen(lo)
}

// TestBombsAtTheBoundary proves the benchmark measures the worst that gets
// through: each document passes the default pre-validation limits and the
// next larger one of its family does not.
func TestBombsAtTheBoundary(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10}, WithCacheSize(0))
	for _, bm := range bombs {
		t.Run(bm.name, func(t *testing.T) {
			k, q := largest(bm.gen, DefaultLimits)
			if r := a.Analyze(Request{Query: q}, Limits{}, Access{}); hasCode(r, CodeMaxSelections) || hasCode(r, CodeMaxTokens) || hasCode(r, CodeParseFailed) {
				t.Fatalf("k=%d refused before validation: %v", k, codes(r))
			}
			r := a.Analyze(Request{Query: bm.gen(k + 1)}, Limits{}, Access{})
			if !hasCode(r, CodeMaxSelections) && !hasCode(r, CodeMaxTokens) && !hasCode(r, CodeParseFailed) {
				t.Fatalf("k=%d: the next document passes the pre-validation limits: %v", k+1, codes(r))
			}
		})
	}
}

// BenchmarkValidationBombs parses and validates the largest document of
// each bomb family that passes the default token and selection limits,
// which bounds what any request can make the validator do (the goal: under
// 5 ms per document). It also reports what the same families cost with only
// the token limit, the blow-up the selection count stops, and the
// pre-pass's own cost per byte.
func BenchmarkValidationBombs(b *testing.B) {
	g := books(b)
	rs := rules.NewDefaultRules()
	validate := func(b *testing.B, q string) {
		b.SetBytes(int64(len(q)))
		cpu := cpuNanos()
		for b.Loop() {
			doc, err := parser.ParseQuery(&ast.Source{Input: q})
			if err != nil {
				b.Fatal(err)
			}
			validator.ValidateWithRules(g.Schema(), doc, rs)
		}
		// CPU time per document: on a shared machine wall time also counts
		// the wait for a core (GC workers are included, as they should be).
		b.ReportMetric(float64(cpuNanos()-cpu)/float64(b.N)/1e6, "cpu-ms/doc")
	}
	for _, bm := range bombs {
		k, q := largest(bm.gen, DefaultLimits)
		doc, _ := parser.ParseQuery(&ast.Source{Input: q})
		n, _ := countSelections(doc, 0)
		b.Run("default-limits/"+bm.name, func(b *testing.B) {
			validate(b, q)
			b.ReportMetric(float64(k), "k")
			b.ReportMetric(float64(n), "selections")
		})
	}
	tokensOnly := DefaultLimits
	tokensOnly.MaxSelections = 1 << 30
	for _, name := range []string{"repeated-leaf", "fragments-side-by-side", "inline-fragments-around-repeats"} {
		for _, bm := range bombs {
			if bm.name != name {
				continue
			}
			_, q := largest(bm.gen, tokensOnly)
			b.Run("tokens-only/"+bm.name, func(b *testing.B) { validate(b, q) })
		}
	}
	// The pre-pass on the largest document of tokens, its cost per byte.
	for _, bm := range bombs[:3] {
		_, q := largest(bm.gen, tokensOnly)
		doc, _ := parser.ParseQuery(&ast.Source{Input: q})
		b.Run("pre-pass/"+bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(q)))
			for b.Loop() {
				countSelections(doc, 0) // the whole document, not stopping at a limit
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(q)), "ns/byte")
		})
	}
}
