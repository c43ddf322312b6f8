package analysis

import (
	"reflect"
	"strings"
	"testing"
)

// TestCachedVariablesMatchUncached: a cache hit evaluates the operation's
// cached measures against the request's variables. For every operation and
// every set of variables its report must be exactly the report of an
// analyzer without cache, however the cache was primed.
func TestCachedVariablesMatchUncached(t *testing.T) {
	tests := []struct {
		name  string
		query string
		vars  []map[string]any
	}{
		{"slicing argument from a variable", `query($n: Int!) { newestAdditions(limit: $n) { title author { name } } }`,
			[]map[string]any{{"n": 3}, {"n": 7}, {"n": 0}, {"n": -2}}},
		{"two slicing arguments, one a variable", `query($l: Int) { authors(first: 2, last: $l) { name } }`,
			[]map[string]any{{"l": 5}, {"l": 1}, {}, {"l": nil}}},
		{"default slicing argument overridden by a variable", `query($f: Int) { authors(first: $f) { name } }`,
			[]map[string]any{{"f": 9}, {}, {"f": nil}}},
		{"variable default", `query($f: Int = 6) { authors(first: $f) { name } }`,
			[]map[string]any{{}, {"f": 2}}},
		{"requireOneSlicingArgument decided by variables", `query($f: Int, $l: Int) { strictAuthors(first: $f, last: $l) { name } e: expensive }`,
			[]map[string]any{{"f": 2}, {"f": 2, "l": 3}, {}, {"l": 4}}},
		{"requireOneSlicingArgument fragment spread twice", `query($f: Int, $l: Int) { ...F x: strictAuthors(first: 1) { name } ...F } fragment F on Query { strictAuthors(first: $f, last: $l) { name } }`,
			[]map[string]any{{"f": 1}, {"f": 1, "l": 1}, {}}},
		{"list argument length from a variable", `query($ids: [ID!]!) { byIds(ids: $ids) { title related { id } } }`,
			[]map[string]any{{"ids": []any{"a", "b"}}, {"ids": []any{"a"}}, {"ids": []any{}}}},
		{"list argument with a variable element", `query($x: ID!) { byIds(ids: ["a", $x, "c"]) { title } }`,
			[]map[string]any{{"x": "b"}, {"x": "z"}}},
		{"dotted slicing path from a variable", `query($in: SearchInput!) { search(input: $in) { title } }`,
			[]map[string]any{{"in": map[string]any{"pagination": map[string]any{"first": 2}}}, {"in": map[string]any{"pagination": map[string]any{}}}, {"in": map[string]any{"term": "x"}}}},
		{"dotted slicing path through a literal", `query($n: Int) { search(input: {term: "x", pagination: {first: $n}}) { title } }`,
			[]map[string]any{{"n": 5}, {"n": 1}, {}}},
		{"sizedFields sized by a variable", `query($n: Int!) { bookConnection(first: $n) { total edges { node { title related(first: 2) { id } } } } }`,
			[]map[string]any{{"n": 5}, {"n": 50}}},
		{"nested lists under a variable size", `query($n: Int!) { newestAdditions(limit: $n) { related { related(first: 3) { id } } } }`,
			[]map[string]any{{"n": 1}, {"n": 4}}},
		{"nested input objects from variables", `query($f: Filter, $w: Int) { weighted(filter: $f, w: $w, tags: ["a"]) { title } }`,
			[]map[string]any{{"f": map[string]any{"name": "a", "nested": map[string]any{"name": "b", "nested": map[string]any{"name": "c"}}}}, {"f": map[string]any{"name": "a"}, "w": 3}, {}}},
		{"variable inside an input object literal", `query($n: String, $t: [String]) { weighted(filter: {name: $n, nested: {name: "x"}}, tags: $t) { title } }`,
			[]map[string]any{{"n": "a", "t": []any{"x", "y", "z"}}, {"t": []any{}}, {}}},
		{"skip and include with variables", `query($s: Boolean!, $i: Boolean!, $n: Int!) { expensive @skip(if: $s) newestAdditions(limit: $n) @include(if: $i) { title ... @skip(if: $s) { author { name } } } book @skip(if: true) { related(first: $n) { id } } }`,
			[]map[string]any{{"s": true, "i": false, "n": 2}, {"s": false, "i": true, "n": 3}}},
		{"argument values with defaults", `query($id: ID, $after: ID) { book(id: $id) { id related { id } } newestAdditions(after: $after, limit: 2) { id } authors { name } }`,
			[]map[string]any{{"id": "b1"}, {"after": "c"}, {}}},
		{"mutation with a variable", `mutation($t: String!) { addBook(title: $t) { title author { name } } }`,
			[]map[string]any{{"t": "a"}, {"t": "b"}}},
		{"fragments with variables spread at several places", `query($n: Int!, $id: ID) { newestAdditions(limit: $n) { ...B } book(id: $id) { ...B } } fragment B on Book { id related(first: $n) { id author { books { id } } } }`,
			[]map[string]any{{"n": 2, "id": "x"}, {"n": 9}}},
		{"bench query", benchQuery, []map[string]any{benchVars, {"n": 1}, {"n": 12, "id": "b9"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uncached := NewAnalyzer(books(t), CostConfig{ListSize: 10}, WithCacheSize(0))
			cached := NewAnalyzer(books(t), CostConfig{ListSize: 10})
			// Prime the cache with the last set, so every other set is a hit
			// on measures walked for other variables.
			cached.Analyze(Request{Query: tc.query, Variables: tc.vars[len(tc.vars)-1]}, generous, Access{})
			var first *Report
			for i, vars := range tc.vars {
				want := uncached.Analyze(Request{Query: tc.query, Variables: vars}, generous, Access{})
				got := cached.Analyze(Request{Query: tc.query, Variables: vars}, generous, Access{})
				if got.Operation == want.Operation {
					t.Fatal("the uncached analyzer shares a document")
				}
				assertSameReport(t, i, got, want)
				// Only the slicing-argument check may refuse: the operations
				// are valid.
				for _, e := range want.Errors {
					if !strings.Contains(e.Message, "slicing argument") {
						t.Errorf("variables #%d: %v", i, e)
					}
				}
				if i == 0 {
					first = got
				}
			}
			if s := cached.Stats(); s.Misses != 1 || s.Hits != uint64(len(tc.vars)) {
				t.Errorf("stats = %+v, want one miss and every set a hit", s)
			}
			// Later requests never change an earlier report.
			again := uncached.Analyze(Request{Query: tc.query, Variables: tc.vars[0]}, generous, Access{})
			assertSameReport(t, 0, first, again)
		})
	}
}

// assertSameReport compares two reports of the same operation from
// different analyzers: everything but the document nodes, which are parsed
// once per analyzer.
func assertSameReport(t *testing.T, i int, got, want *Report) {
	t.Helper()
	g, w := comparable(got), comparable(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("variables #%d: cached report\n%+v\nuncached\n%+v", i, g, w)
	}
}

func comparable(r *Report) Report {
	c := *r
	c.Document, c.Operation = nil, nil
	c.Fields = make([]FieldUse, len(r.Fields))
	for i, f := range r.Fields {
		f.Field = nil
		f.Arguments = r.Arguments(i)
		c.Fields[i] = f
	}
	return c
}
