package analysis

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestArgumentsPerRequest: on a cache hit every field's arguments are this
// request's (variables, literals and defaults), the shared Fields are never
// written, and a report keeps its values after later requests.
func TestArgumentsPerRequest(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	q := `query($n: Int!, $id: ID) { book(id: "b1") { id } newestAdditions(limit: $n) { title related(first: 2) { id } } again: book(id: $id) { title } }`
	r1 := a.Analyze(Request{Query: q, Variables: map[string]any{"n": 3, "id": "x"}}, Limits{}, Access{})
	r2 := a.Analyze(Request{Query: q, Variables: map[string]any{"n": 7}}, Limits{}, Access{})
	if !r1.OK() || !r2.OK() || a.Stats().Hits != 1 {
		t.Fatalf("r1 %v, r2 %v, stats %+v", r1.Errors, r2.Errors, a.Stats())
	}
	args := func(r *Report) string {
		var out []string
		for i, f := range r.Fields {
			if v := r.Arguments(i); len(v) > 0 {
				out = append(out, fmt.Sprint(f.Path, v))
			}
		}
		return strings.Join(out, " ")
	}
	if got, want := args(r1), "[book] map[id:b1] [newestAdditions] map[limit:3] [newestAdditions related] map[first:2] [again] map[id:x]"; got != want {
		t.Errorf("first request's arguments\n%s\nwant\n%s", got, want)
	}
	if got, want := args(r2), "[book] map[id:b1] [newestAdditions] map[limit:7] [newestAdditions related] map[first:2]"; got != want {
		t.Errorf("second request's arguments\n%s\nwant\n%s", got, want)
	}
	// The shared slice holds only what no variable changes.
	for i, f := range r2.Fields {
		if strings.Contains(fmt.Sprint(f.Path), "newestAdditions]") || fmt.Sprint(f.Path) == "[again]" {
			if f.Arguments != nil {
				t.Errorf("shared field %d %v holds per-request arguments %v", i, f.Path, f.Arguments)
			}
		}
	}
	// JSON shows the request's values.
	b, err := json.Marshal(r1)
	if err != nil || !strings.Contains(string(b), `"arguments":{"limit":3}`) || !strings.Contains(string(b), `"arguments":{"id":"x"}`) {
		t.Errorf("JSON %s, %v", b, err)
	}
}

// TestCacheHitAllocationsDoNotGrowWithTheOperation: a cache hit allocates
// for what the variables touch, not per field of the operation (a copy of
// the fields would cost ~100 bytes a field).
func TestCacheHitAllocationsDoNotGrowWithTheOperation(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	op := func(n int) string {
		var b strings.Builder
		b.WriteString(`query($n: Int!) { newestAdditions(limit: $n) { id } `)
		for i := range n {
			fmt.Fprintf(&b, "b%d: book { id title publisher { name } } ", i)
		}
		b.WriteString("}")
		return b.String()
	}
	vars := map[string]any{"n": 3}
	perHit := func(q string) (allocs, bytes float64) {
		if r := a.Analyze(Request{Query: q, Variables: vars}, Limits{}, Access{}); !r.OK() {
			t.Fatal(r.Errors)
		}
		const runs = 200
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			a.Analyze(Request{Query: q, Variables: vars}, Limits{}, Access{})
		}
		runtime.ReadMemStats(&after)
		return float64(after.Mallocs-before.Mallocs) / runs, float64(after.TotalAlloc-before.TotalAlloc) / runs
	}
	smallA, smallB := perHit(op(1))
	largeA, largeB := perHit(op(15))
	if largeA > smallA+0.5 || largeB > smallB+512 {
		t.Errorf("a cache hit allocates %.1f times, %.0f bytes with 6 fields; %.1f times, %.0f bytes with 62", smallA, smallB, largeA, largeB)
	}
}

// TestTypeConditions: every distinct type condition of the document, in
// all operations and fragment definitions, nested ones too, is listed once
// per document and shared by the reports of its requests.
func TestTypeConditions(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	q := `query A { thing { ... on Book { id author { ... on Author { name } } } ...Au } }
query B { node(id: "1") { ... on Book { title } ... { id } } }
fragment Au on Author { id ... on Author { name } }`
	r1 := a.Analyze(Request{Query: q, OperationName: "A"}, Limits{}, Access{})
	r2 := a.Analyze(Request{Query: q, OperationName: "B"}, Limits{}, Access{})
	if !r1.OK() || !r2.OK() {
		t.Fatal(r1.Errors, r2.Errors)
	}
	if got := strings.Join(r1.TypeConditions, ","); got != "Book,Author" {
		t.Errorf("type conditions %q, want Book,Author", got)
	}
	if &r1.TypeConditions[0] != &r2.TypeConditions[0] {
		t.Error("the list is not shared through the cache")
	}
	if r := a.Analyze(Request{Query: `{ book { id } }`}, Limits{}, Access{}); r.TypeConditions == nil || len(r.TypeConditions) != 0 {
		t.Errorf("a document without fragments: %#v, want an empty list", r.TypeConditions)
	}
	if r := a.Analyze(Request{Query: `{ bok }`}, Limits{}, Access{}); r.TypeConditions != nil {
		t.Errorf("an invalid document: %#v, want nil", r.TypeConditions)
	}
}
