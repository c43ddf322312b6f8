package analysis

import (
	"testing"
)

// TestCost checks the static estimate against numbers derived by hand from
// the rules in cost.go (list_size 10). The first five are the examples of
// Apollo's demand-control documentation with the numbers it gives.
func TestCost(t *testing.T) {
	tests := []struct {
		name  string
		query string
		vars  map[string]any
		want  float64
		code  string // an expected error code, if any
	}{
		// Apollo docs: 1 book + 1 author + 1 publisher + 1 address (@cost 5) = 8.
		{"apollo BookQuery with Address @cost(5)", `query BookQuery { book(id: 1) { title author { name } publisher { name address { zipCode } } } }`, nil, 8, ""},
		// Apollo docs: 5 x (1 + 1 + 1 + 5) = 40.
		{"apollo BestsellersQuery assumedSize 5", `query BestsellersQuery { bestsellers { title author { name } publisher { name address { zipCode } } } }`, nil, 40, ""},
		// Apollo docs: 3 x 8 = 24.
		{"apollo NewestAdditions limit 3", `query NewestAdditions { newestAdditions(limit: 3) { title author { name } publisher { name address { zipCode } } } }`, nil, 24, ""},
		// Apollo docs: 7 x 8 = 56.
		{"apollo NewestAdditions limit 7", `query NewestAdditions { newestAdditions(limit: 7) { title author { name } publisher { name address { zipCode } } } }`, nil, 56, ""},
		// Apollo docs without the Address weight would be 4; here only the
		// objects without @cost: 1 book + 1 author = 2.
		{"objects cost 1 scalars 0", `{ book(id: 1) { title author { name } } }`, nil, 2, ""},
		{"slicing argument from variable", `query($n: Int!) { newestAdditions(limit: $n) { title } }`, map[string]any{"n": 3}, 3, ""},
		{"list without listSize uses list_size", `{ books { title } }`, nil, 10, ""},
		{"list of objects with object child", `{ books { author { name } } }`, nil, 20, ""},
		// 10 x (1 + 10 x 1)
		{"nested lists multiply", `{ books { related { title } } }`, nil, 110, ""},
		{"slicing argument default", `{ authors { name } }`, nil, 3, ""},
		{"largest of several slicing arguments", `{ authors(first: 5, last: 8) { name } }`, nil, 8, ""},
		{"explicit value overrides default", `{ authors(first: 2) { name } }`, nil, 2, ""},
		{"requireOneSlicingArgument satisfied", `{ strictAuthors(first: 2) { name } }`, nil, 2, ""},
		// No slicing argument: error, and the size falls back to list_size.
		{"requireOneSlicingArgument none", `{ strictAuthors { name } }`, nil, 10, CodeValidationFailed},
		{"requireOneSlicingArgument two", `{ strictAuthors(first: 2, last: 3) { name } }`, nil, 3, CodeValidationFailed},
		{"list argument length literal", `{ byIds(ids: ["a", "b", "c"]) { title } }`, nil, 3, ""},
		{"list argument length variable", `query($ids: [ID!]!) { byIds(ids: $ids) { title } }`, map[string]any{"ids": []any{"a", "b"}}, 2, ""},
		// 6 books + SearchInput 1 + Pagination 1
		{"dotted slicing path literal", `{ search(input: {term: "x", pagination: {first: 6}}) { title } }`, nil, 8, ""},
		// input field default first = 4: 4 + 1 + 1
		{"dotted slicing path input default", `{ search(input: {term: "x", pagination: {}}) { title } }`, nil, 6, ""},
		// unresolved path, not required: list_size 10 + SearchInput 1
		{"dotted slicing path absent", `{ search(input: {term: "x"}) { title } }`, nil, 11, ""},
		// 2 + SearchInput 1 + Pagination 1
		{"dotted slicing path variable", `query($in: SearchInput!) { search(input: $in) { title } }`, map[string]any{"in": map[string]any{"pagination": map[string]any{"first": 2}}}, 4, ""},
		// connection 1 x (1 + edges 5 x (1 + node 1))
		{"sizedFields", `{ bookConnection(first: 5) { edges { node { title } } } }`, nil, 11, ""},
		{"sizedFields not selected", `{ bookConnection(first: 5) { total } }`, nil, 1, ""},
		{"field @cost on scalar", `{ expensive }`, nil, 7, ""},
		{"scalar type @cost", `{ rating }`, nil, 2, ""},
		{"argument @cost", `{ weighted(w: 1) { title } }`, nil, 4, ""},
		// list weight 2 + 2 elements x 2, + Book 1
		{"list argument @cost per element", `{ weighted(tags: ["a", "b"]) { title } }`, nil, 7, ""},
		// Book 1 + Filter 1 + name 4
		{"input object and input field @cost", `{ weighted(filter: {name: "x"}) { title } }`, nil, 6, ""},
		{"nested input objects", `{ weighted(filter: {nested: {name: "x"}}) { title } }`, nil, 7, ""},
		// Book 1 + Filter (1 + 4 + nested (1 + 4))
		{"input object from variable", `query($f: Filter) { weighted(filter: $f) { title } }`, map[string]any{"f": map[string]any{"name": "a", "nested": map[string]any{"name": "b"}}}, 11, ""},
		{"null argument costs nothing", `{ weighted(filter: null, w: null) { title } }`, nil, 1, ""},
		{"mutation adds 10", `mutation { addBook(title: "x") { title } }`, nil, 11, ""},
		{"subscription", `subscription { bookAdded { title } }`, nil, 1, ""},
		{"skip true costs 0", `{ book(id: 1) @skip(if: true) { title } expensive }`, nil, 7, ""},
		{"include false costs 0", `{ expensive @include(if: false) book { title } }`, nil, 1, ""},
		{"skip false counts", `{ expensive @skip(if: false) }`, nil, 7, ""},
		{"variable condition counts", `query($s: Boolean!) { expensive @skip(if: $s) }`, map[string]any{"s": true}, 7, ""},
		{"skipped inline fragment", `{ book { ... @skip(if: true) { author { name } } } }`, nil, 1, ""},
		{"fragments counted at every use", `{ book { ...F } b2: book { ...F } } fragment F on Book { author { name } }`, nil, 4, ""},
		{"interface", `{ node(id: 1) { id ... on Book { author { name } } } }`, nil, 2, ""},
		// union 1 + Book.author 1 + Author.books 10 x 1
		{"union sums its fragments", `{ thing { ... on Book { author { name } } ... on Author { books { title } } } }`, nil, 12, ""},
		{"list of lists counts once", `{ shelves { title } }`, nil, 10, ""},
		{"__typename is free", `{ book { __typename } }`, nil, 1, ""},
		// No blind spot: a null, negative or omitted slicing argument falls
		// back to the argument's default, else assumedSize, else list_size.
		{"negative slicing value falls back to list_size", `{ newestAdditions(limit: -5) { title } }`, nil, 10, ""},
		{"null slicing argument takes the default", `{ authors(first: null) { name } }`, nil, 3, ""},
		{"null slicing variable takes the default", `query($n: Int) { authors(first: $n) { name } }`, map[string]any{"n": nil}, 3, ""},
		{"omitted slicing variable takes the default", `query($n: Int) { authors(first: $n) { name } }`, nil, 3, ""},
		{"null slicing argument without default takes assumedSize", `{ recent(first: null) { title } }`, nil, 7, ""},
		{"null slicing variable without default takes assumedSize", `query($n: Int) { recent(first: $n) { title } }`, map[string]any{"n": nil}, 7, ""},
		{"omitted slicing argument takes assumedSize", `{ recent { title } }`, nil, 7, ""},
		{"negative slicing variable takes assumedSize", `query($n: Int) { recent(first: $n) { title } }`, map[string]any{"n": -1}, 7, ""},
		{"null slicing argument without default or assumedSize takes list_size", `query($n: Int!) { newestAdditions(limit: $n) { title } }`, map[string]any{"n": -3}, 10, ""},
		{"explicit zero is zero", `{ recent(first: 0) { title } }`, nil, 0, ""},
		// input field default first = 4: 4 + SearchInput 1 + Pagination 1
		{"null dotted slicing path takes the input default", `{ search(input: {term: "x", pagination: {first: null}}) { title } }`, nil, 6, ""},
		{"null dotted slicing variable takes the input default", `query($in: SearchInput!) { search(input: $in) { title } }`, map[string]any{"in": map[string]any{"pagination": map[string]any{"first": nil}}}, 6, ""},
		{"duplicate fields are counted each", `{ expensive expensive }`, nil, 14, ""},
	}
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Analyze(Request{Query: tc.query, Variables: tc.vars}, generous, Access{Introspection: true})
			if tc.code == "" && !r.OK() {
				t.Fatalf("unexpected errors: %+v", r.Errors)
			}
			if tc.code != "" && !hasCode(r, tc.code) {
				t.Fatalf("want code %s, got %+v", tc.code, r.Errors)
			}
			if r.Cost != tc.want {
				t.Errorf("cost = %v, want %v", r.Cost, tc.want)
			}
		})
	}
}

func TestCostLimit(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	lim := generous
	lim.MaxCost = 39
	r := a.Analyze(Request{Query: `{ bestsellers { title author { name } publisher { name address { zipCode } } } }`}, lim, Access{})
	if !hasCode(r, CodeCostTooExpensive) {
		t.Fatalf("want %s, got %+v", CodeCostTooExpensive, r.Errors)
	}
	e := r.Errors[0]
	if e.Extensions["cost.estimated"] != 40.0 || e.Extensions["cost.max"] != 39 {
		t.Errorf("extensions = %v", e.Extensions)
	}
	lim.MaxCost = 40
	if r := a.Analyze(Request{Query: `{ bestsellers { title author { name } publisher { name address { zipCode } } } }`}, lim, Access{}); !r.OK() {
		t.Errorf("cost equal to the limit refused: %+v", r.Errors)
	}
}

func TestListSizeDefault(t *testing.T) {
	// A zero list size fails closed to DefaultListSize, never to free lists.
	a := NewAnalyzer(books(t), CostConfig{})
	r := a.Analyze(Request{Query: `{ books { title } }`}, generous, Access{})
	if r.Cost != DefaultListSize {
		t.Errorf("cost = %v, want %v", r.Cost, DefaultListSize)
	}
}
