package analysis

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// decode reads a response's data member as the gateway decodes it.
func decode(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return v
}

func analyzeOK(t testing.TB, a *Analyzer, query string, vars map[string]any) *Report {
	t.Helper()
	r := a.Analyze(Request{Query: query, Variables: vars}, generous, Access{Introspection: true})
	if !r.OK() {
		t.Fatalf("analysing %s: %+v", query, r.Errors)
	}
	return r
}

// TestActualCost checks the actual cost against numbers derived by hand from
// the rules in actual.go (list_size 10); estimate is the static estimate of
// the same operation, to show what the refund is measured against.
func TestActualCost(t *testing.T) {
	const fullBook = `{"title": "t", "author": {"name": "n"}, "publisher": {"name": "p", "address": {"zipCode": 1}}}`
	tests := []struct {
		name     string
		query    string
		vars     map[string]any
		data     string
		estimate float64
		want     float64
	}{
		// 2 x (book 1 + author 1 + publisher 1 + address 5)
		{"assumedSize 5 returned 2", `{ bestsellers { title author { name } publisher { name address { zipCode } } } }`,
			nil, `{"bestsellers": [` + fullBook + `,` + fullBook + `]}`, 40, 16},
		{"slicing argument 100 returned 2", `{ newestAdditions(limit: 100) { title } }`,
			nil, `{"newestAdditions": [{"title": "a"}, {"title": "b"}]}`, 100, 2},
		{"slicing variable returned 3", `query($n: Int!) { newestAdditions(limit: $n) { title } }`,
			map[string]any{"n": 50}, `{"newestAdditions": [{}, {}, {}]}`, 50, 3},
		{"all elements as estimated", `{ bestsellers { title author { name } publisher { name address { zipCode } } } }`,
			nil, `{"bestsellers": [` + strings.Repeat(fullBook+",", 4) + fullBook + `]}`, 40, 40},
		// (1 + 3) + (1 + 0)
		{"nested lists", `{ books { related { title } } }`,
			nil, `{"books": [{"related": [{}, {}, {}]}, {"related": []}]}`, 110, 5},
		{"empty list costs nothing", `{ books { title } }`, nil, `{"books": []}`, 10, 0},
		{"null list costs nothing", `{ books { title } }`, nil, `{"books": null}`, 10, 0},
		{"null element costs its weight", `{ books { author { name } } }`, nil, `{"books": [null, {"author": {"name": "n"}}]}`, 20, 3},
		{"null object costs its weight", `{ book(id: 1) { title author { name } } }`, nil, `{"book": null}`, 2, 1},
		{"null child object", `{ book(id: 1) { title author { name } } }`, nil, `{"book": {"title": "t", "author": null}}`, 2, 2},
		{"missing field costs its weight only", `{ book(id: 1) { author { publisher: name } } }`, nil, `{}`, 2, 1},
		{"missing list costs nothing", `{ books { author { name } } }`, nil, `{}`, 20, 0},
		{"no data at all", `{ book(id: 1) { title } books { title } }`, nil, `null`, 11, 1},
		// a: 2 books; b: 1 book + its author
		{"aliases are response keys", `{ a: books { title } b: books { author { name } } }`,
			nil, `{"a": [{}, {}], "b": [{"author": {"name": "x"}}]}`, 30, 4},
		{"field name is not the alias", `{ a: books { title } }`, nil, `{"books": [{}, {}, {}]}`, 10, 0},
		{"union fragment by __typename", `{ thing { __typename ... on Book { author { name } } ... on Author { books { title } } } }`,
			nil, `{"thing": {"__typename": "Author", "books": [{}, {}]}}`, 12, 3},
		{"union fragment by __typename Book", `{ thing { __typename ... on Book { author { name } } ... on Author { books { title } } } }`,
			nil, `{"thing": {"__typename": "Book", "author": {"name": "n"}}}`, 12, 2},
		// Without __typename both fragments count: 1 + author 1 (missing) + 2 books.
		{"union without __typename is an upper bound", `{ thing { ... on Book { author { name } } ... on Author { books { title } } } }`,
			nil, `{"thing": {"books": [{}, {}]}}`, 12, 4},
		{"aliased __typename", `{ thing { kind: __typename ... on Book { author { name } } ... on Author { books { title } } } }`,
			nil, `{"thing": {"kind": "Author", "books": []}}`, 12, 1},
		{"__typename of an impossible type is ignored", `{ thing { __typename ... on Book { author { name } } } }`,
			nil, `{"thing": {"__typename": "Publisher", "author": {"name": "n"}}}`, 2, 2},
		{"named fragment on interface by __typename", `{ node(id: 1) { __typename ...B } } fragment B on Book { author { name } }`,
			nil, `{"node": {"__typename": "Author"}}`, 2, 1},
		{"interface fragment inside union", `{ thing { __typename ... on Node { ... on Author { books { title } } } } }`,
			nil, `{"thing": {"__typename": "Author", "books": [{}]}}`, 11, 2},
		{"fragment on the static type", `{ book(id: 1) { ... on Book { author { name } } } }`,
			nil, `{"book": {"author": {"name": "n"}}}`, 2, 2},
		{"fragments counted at every use", `{ book { ...F } b2: book { ...F } } fragment F on Book { author { name } }`,
			nil, `{"book": {"author": {}}, "b2": {"author": {}}}`, 4, 4},
		{"skipped inline fragment", `{ book { ... @skip(if: true) { author { name } } } }`,
			nil, `{"book": {}}`, 1, 1},
		{"literal skip costs 0", `{ book(id: 1) @skip(if: true) { title } expensive }`, nil, `{"expensive": 3}`, 7, 7},
		{"include false costs 0", `{ expensive @include(if: false) book { title } }`, nil, `{"book": {"title": "t"}}`, 1, 1},
		{"mutation adds 10", `mutation { addBook(title: "x") { title } }`, nil, `{"addBook": {"title": "x"}}`, 11, 11},
		{"mutation with null answer", `mutation { addBook(title: "x") { title } }`, nil, `{"addBook": null}`, 11, 11},
		// connection 1 + 2 edges x (1 + node 1)
		{"sizedFields", `{ bookConnection(first: 50) { edges { node { title } } } }`,
			nil, `{"bookConnection": {"edges": [{"node": {}}, {"node": null}]}}`, 101, 5},
		{"list of lists is flattened", `{ shelves { title } }`, nil, `{"shelves": [[{}, {}], [{}], null, []]}`, 10, 3},
		// Book 1 + w 3 + tags 2 + 2 x 2, charged though the book is null.
		{"arguments are charged", `{ weighted(w: 1, tags: ["a", "b"]) { title } }`, nil, `{"weighted": null}`, 10, 10},
		{"argument from variable", `query($f: Filter) { weighted(filter: $f) { title } }`,
			map[string]any{"f": map[string]any{"name": "a"}}, `{"weighted": {"title": "t"}}`, 6, 6},
		{"field @cost on scalar", `{ expensive }`, nil, `{"expensive": null}`, 7, 7},
		{"custom scalar may be an object", `{ rating }`, nil, `{"rating": {"stars": 4}}`, 2, 2},
		{"duplicate fields are counted each", `{ expensive expensive }`, nil, `{"expensive": 1}`, 14, 14},
		{"more than assumed is measured", `{ bestsellers { title } }`, nil, `{"bestsellers": [{}, {}, {}, {}, {}, {}, {}]}`, 5, 7},
		{"__typename is free", `{ books { __typename } }`, nil, `{"books": [{"__typename": "Book"}]}`, 10, 1},
	}
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analyzeOK(t, a, tc.query, tc.vars)
			if r.Cost != tc.estimate {
				t.Errorf("estimate = %v, want %v", r.Cost, tc.estimate)
			}
			got, err := a.ActualCost(r, decode(t, tc.data))
			if err != nil {
				t.Fatalf("ActualCost: %v", err)
			}
			if got != tc.want {
				t.Errorf("actual = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestActualCostSpoofedTypename: a field aliased __typename cannot choose
// which fragments count (an author named "Book" would otherwise hide its
// books); all fragments are then counted, an upper bound.
func TestActualCostSpoofedTypename(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	tests := []struct {
		name, query, data string
		want              float64
	}{
		// node 1 + 3 related
		{"alias without a real __typename", `{ node(id: 1) { __typename: id ... on Book { related { title } } } }`,
			`{"node": {"__typename": "Author", "related": [{}, {}, {}]}}`, 4},
		// node 1 + 3 books (+ 0 for Book's missing related list)
		{"alias sharing the real __typename's key", `{ node(id: 1) { ... on Book { __typename related { title } } ... on Author { __typename: name books { title } } } }`,
			`{"node": {"__typename": "Book", "books": [{}, {}, {}]}}`, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analyzeOK(t, a, tc.query, nil)
			got, err := a.ActualCost(r, decode(t, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("actual = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestActualCostErrors: a response that contradicts the operation, or a
// report that was refused, gives an error (and so no refund), never a panic.
func TestActualCostErrors(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	tests := []struct {
		name, query, data, msg string
	}{
		{"data is a list", `{ books { title } }`, `[]`, "data is a list"},
		{"data is a string", `{ books { title } }`, `"x"`, "data is a string"},
		{"object where a list is due", `{ books { title } }`, `{"books": {"title": "t"}}`, "at books: want a list"},
		{"scalar where an object is due", `{ book(id: 1) { title } }`, `{"book": 3}`, "at book: want an object, got a number"},
		{"list where an object is due", `{ book(id: 1) { title } }`, `{"book": [{}]}`, "at book: want an object"},
		{"deep path", `{ books { related { author { name } } } }`, `{"books": [{"related": []}, {"related": [{"author": "x"}]}]}`, "at books.1.related.0.author: want an object, got a string"},
		{"alias in path", `{ b: books { title } }`, `{"b": [true]}`, "at b.0: want an object, got a boolean"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analyzeOK(t, a, tc.query, nil)
			got, err := a.ActualCost(r, decode(t, tc.data))
			if err == nil {
				t.Fatalf("no error, actual = %v", got)
			}
			if !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "measuring actual cost: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.msg)
			}
		})
	}
	t.Run("nil report", func(t *testing.T) {
		if _, err := a.ActualCost(nil, map[string]any{}); err == nil {
			t.Error("no error")
		}
	})
	t.Run("refused report", func(t *testing.T) {
		lim := generous
		lim.MaxCost = 5
		r := a.Analyze(Request{Query: `{ books { title } }`}, lim, Access{})
		if r.OK() {
			t.Fatal("report passed")
		}
		if _, err := a.ActualCost(r, map[string]any{"books": []any{}}); err == nil {
			t.Error("no error for a refused operation")
		}
	})
	t.Run("unparsable report", func(t *testing.T) {
		r := a.Analyze(Request{Query: `{ books {`}, generous, Access{})
		if _, err := a.ActualCost(r, nil); err == nil {
			t.Error("no error")
		}
	})
}

// TestActualMatchesEstimate: a response holding exactly the sizes the
// estimate assumed costs exactly the estimate, so both use the same weights.
func TestActualMatchesEstimate(t *testing.T) {
	queries := []string{
		`query BookQuery { book(id: 1) { title author { name } publisher { name address { zipCode } } } }`,
		`{ books { related { title author { name } } publisher { address { zipCode } } } }`,
		`{ books { ...P } b: books { writer: author { ...A } } } fragment P on Book { id publisher { address { zipCode } } } fragment A on Author { name books { id } }`,
		`{ weighted(w: 1, tags: ["a"], filter: {name: "x", nested: {name: "y"}}) { title author { books { title } } } expensive rating }`,
		`mutation { addBook(title: "x") { author { books { author { name } } } } }`,
		`{ book { ... on Book { author { books { title } } } } me { books { __typename } } }`,
	}
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	g := books(t)
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			r := analyzeOK(t, a, q, nil)
			data := fill(g.Schema(), r.Document, r.Operation.SelectionSet, rootOf(g.Schema(), r.Operation), 10)
			got, err := a.ActualCost(r, data)
			if err != nil {
				t.Fatal(err)
			}
			if got != r.Cost {
				t.Errorf("actual = %v, estimate %v", got, r.Cost)
			}
		})
	}
}

func rootOf(s *ast.Schema, op *ast.OperationDefinition) *ast.Definition {
	if op.Operation == ast.Mutation {
		return s.Mutation
	}
	return s.Query
}

// fill builds a response to set on a concrete type with n elements in every
// list, as JSON decoding would.
func fill(s *ast.Schema, doc *ast.QueryDocument, set ast.SelectionSet, parent *ast.Definition, n int) map[string]any {
	out := map[string]any{}
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			if x.Name == "__typename" {
				out[responseKey(x)] = parent.Name
				continue
			}
			def := parent.Fields.ForName(x.Name)
			var one func() any
			if len(x.SelectionSet) == 0 {
				one = func() any { return "v" }
			} else {
				named := s.Types[def.Type.Name()]
				one = func() any { return fill(s, doc, x.SelectionSet, named, n) }
			}
			if def.Type.Elem == nil {
				out[responseKey(x)] = one()
				continue
			}
			list := make([]any, n)
			for i := range list {
				list[i] = one()
			}
			out[responseKey(x)] = list
		case *ast.InlineFragment:
			for k, v := range fill(s, doc, x.SelectionSet, parent, n) {
				out[k] = v
			}
		case *ast.FragmentSpread:
			for k, v := range fill(s, doc, doc.Fragments.ForName(x.Name).SelectionSet, parent, n) {
				out[k] = v
			}
		}
	}
	return out
}

func TestRefund(t *testing.T) {
	tests := []struct {
		name             string
		charged          int
		estimate, actual float64
		want             int
	}{
		{"difference given back", 100, 100, 2, 98},
		{"nothing when exact", 40, 40, 40, 0},
		{"never negative when larger", 5, 5, 7, 0},
		{"rounded down", 11, 10.5, 2, 8},
		{"less than a unit", 10, 10, 9.5, 0},
		{"never more than charged", 5, 100, 0, 5},
		{"nothing charged", 0, 10, 0, 0},
		{"negative charge", -3, 10, 0, 0},
		{"NaN estimate", 10, math.NaN(), 0, 0},
		{"NaN actual", 10, 10, math.NaN(), 0},
		{"infinite estimate", 10, math.Inf(1), 0, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Refund(tc.charged, tc.estimate, tc.actual); got != tc.want {
				t.Errorf("Refund(%d, %v, %v) = %d, want %d", tc.charged, tc.estimate, tc.actual, got, tc.want)
			}
		})
	}
}

// demo composes the demo subgraphs of configs/schemas.
func demo(t testing.TB) *schema.Graph {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "configs", "schemas", "*.graphql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("finding demo schemas: %v (%d files)", err, len(files))
	}
	var subs []schema.SubgraphSDL
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
		subs = append(subs, schema.SubgraphSDL{Name: strings.TrimSuffix(filepath.Base(f), ".graphql"), SDL: string(b)})
	}
	g, err := schema.Compose(subs)
	if err != nil {
		t.Fatalf("composing demo schemas: %v", err)
	}
	return g
}

// TestActualCostDemo is the docs/ pages refund check on the demo supergraph: a
// query for 100 products that returned 2 is charged for 2.
func TestActualCostDemo(t *testing.T) {
	a := NewAnalyzer(demo(t), CostConfig{ListSize: 10})
	tests := []struct {
		name, query, data string
		estimate, actual  float64
		refund            int
	}{
		// 100 x (Product 1 + reviews 10 x @cost 5); actual 2 products + 3 reviews x 5.
		{"topProducts with reviews", `{ topProducts(first: 100) { upc reviews { body } } }`,
			`{"topProducts": [{"upc": "1", "reviews": [{"body": "a"}, {"body": "b"}, {"body": "c"}]}, {"upc": "2", "reviews": []}]}`,
			5100, 17, 5083},
		{"2 of an assumed 100", `{ topProducts(first: 100) { upc name } }`,
			`{"topProducts": [{"upc": "1", "name": "a"}, {"upc": "2", "name": "b"}]}`,
			100, 2, 98},
		// price @cost 2 per product: 2 x (1 + 2)
		{"field weights kept", `{ topProducts(first: 100) { price } }`,
			`{"topProducts": [{"price": 1}, {"price": 2}]}`,
			300, 6, 294},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analyzeOK(t, a, tc.query, nil)
			if r.Cost != tc.estimate {
				t.Errorf("estimate = %v, want %v", r.Cost, tc.estimate)
			}
			got, err := a.ActualCost(r, decode(t, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.actual {
				t.Errorf("actual = %v, want %v", got, tc.actual)
			}
			charged := int(math.Ceil(r.Cost))
			if rf := Refund(charged, r.Cost, got); rf != tc.refund || charged-rf != int(tc.actual) {
				t.Errorf("refund = %d, want %d (charged %d)", rf, tc.refund, charged)
			}
		})
	}
}

// BenchmarkActualCost measures a 100-book response with 5 related books
// each, fragments and aliases included.
func BenchmarkActualCost(b *testing.B) {
	g := books(b)
	a := NewAnalyzer(g, CostConfig{ListSize: 10})
	q := `{ newestAdditions(limit: 100) { ...BookParts related(first: 5) { id title writer: author { name } } } }
fragment BookParts on Book { id title author { name } publisher { name address { zipCode } } }`
	r := analyzeOK(b, a, q, nil)
	data := fill(g.Schema(), r.Document, r.Operation.SelectionSet, g.Schema().Query, 1)
	list := data["newestAdditions"].([]any)
	book := list[0].(map[string]any)
	book["related"] = []any{book["related"].([]any)[0], book["related"].([]any)[0], book["related"].([]any)[0], book["related"].([]any)[0], book["related"].([]any)[0]}
	books := make([]any, 100)
	for i := range books {
		books[i] = book
	}
	data["newestAdditions"] = books
	want := 100 * (1 + 1 + 1 + 5 + 5*(1+1))
	b.ReportAllocs()
	for b.Loop() {
		got, err := a.ActualCost(r, data)
		if err != nil || got != float64(want) {
			b.Fatalf("actual = %v, %v; want %d", got, err, want)
		}
	}
}
