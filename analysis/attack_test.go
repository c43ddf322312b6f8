package analysis

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAttacks sends each hostile document and asserts its refusal code
// (the docs/ pages: every limit has a request that must be refused).
func TestAttacks(t *testing.T) {
	nest := func(levels int) string {
		return "{ book { " + strings.Repeat("related { ", levels) + "title" + strings.Repeat(" }", levels) + " } }"
	}
	aliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "a%d: expensive ", i)
		}
		return b.String() + "}"
	}
	// Each fragment spreads the next twice: 2^40 fields once expanded.
	fanOut := func(levels int) string {
		var b strings.Builder
		b.WriteString("{ ...F0 }\n")
		for i := range levels {
			fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
		}
		fmt.Fprintf(&b, "fragment F%d on Query { expensive }\n", levels)
		return b.String()
	}
	fanOutAliased := func(levels int) string {
		var b strings.Builder
		b.WriteString("{ book { ...F0 } }\n")
		for i := range levels {
			fmt.Fprintf(&b, "fragment F%d on Book { a: author { books { ...F%d } } b: author { books { ...F%d } } }\n", i, i+1, i+1)
		}
		fmt.Fprintf(&b, "fragment F%d on Book { id }\n", levels)
		return b.String()
	}
	directives := func(n int) string {
		return "{ book { " + strings.Repeat("...F @include(if: true) ", n) + "} } fragment F on Book { id }"
	}
	generousTokens := Limits{MaxTokens: 1000000}
	// Past the selection pre-pass, the walk's own budget still holds.
	generousSelections := Limits{MaxTokens: 1000000, MaxSelections: 1 << 20}
	tests := []struct {
		name   string
		query  string
		lim    Limits
		code   string
		status int
	}{
		{"500-level nesting", nest(500), Limits{}, CodeMaxDepth, http.StatusBadRequest},
		{"10,000 aliases (token limit first)", aliases(10000), Limits{}, CodeMaxTokens, http.StatusBadRequest},
		{"1,000 aliases under a large token limit", aliases(1000), generousTokens, CodeMaxAliases, http.StatusBadRequest},
		{"5 MB of repeated fields", "{ " + strings.Repeat("expensive ", 500000) + "}", Limits{}, CodeMaxTokens, http.StatusBadRequest},
		{"1 MB of one token kind", strings.Repeat("{", 1<<20), Limits{}, CodeMaxTokens, http.StatusBadRequest},
		{"fragment fan-out 2^40", fanOut(40), generousTokens, CodeMaxSelections, http.StatusBadRequest},
		{"fragment fan-out through fields", fanOutAliased(30), generousTokens, CodeMaxSelections, http.StatusBadRequest},
		{"fragment fan-out 2^40 past the selection count", fanOut(40), Limits{MaxTokens: 1000000, MaxSelections: 1 << 30}, CodeMaxSelections, http.StatusBadRequest},
		{"fragment fan-out 2^9 under the selection count", fanOut(9), generousSelections, CodeMaxHeight, http.StatusBadRequest},
		{"fragment fan-out through fields over the walk budget", fanOutAliased(14), generousSelections, CodeMaxHeight, http.StatusBadRequest},
		{"1,000 directives", directives(1000), generousSelections, CodeMaxDirectives, http.StatusBadRequest},
		{"1,000 spreads beside each other", directives(1000), generousTokens, CodeMaxSelections, http.StatusBadRequest},
		{"repeated leaf", "{ " + strings.Repeat("__typename ", 4900) + "}", Limits{}, CodeMaxSelections, http.StatusBadRequest},
		{"list-size explosion", `{ newestAdditions(limit: 1000000) { related { related { title } } } }`, Limits{}, CodeCostTooExpensive, http.StatusBadRequest},
		{"nested default lists", `{ books { related { related { related { related { title } } } } } }`, Limits{}, CodeCostTooExpensive, http.StatusBadRequest},
		{"circular fragments", `{ book { ...A } } fragment A on Book { author { books { ...B } } } fragment B on Book { ...A }`, Limits{}, CodeValidationFailed, http.StatusBadRequest},
		{"self-spread", `{ book { ...A } } fragment A on Book { id ...A }`, Limits{}, CodeValidationFailed, http.StatusBadRequest},
		{"introspection without the right", `{ __schema { types { name } } }`, Limits{}, CodeIntrospectionDisabled, http.StatusForbidden},
		{"__type without the right", `{ __type(name: "Book") { name } }`, Limits{}, CodeIntrospectionDisabled, http.StatusForbidden},
		{"unparsable", `{ book { `, Limits{}, CodeParseFailed, http.StatusBadRequest},
		{"unknown field", `{ bok { title } }`, Limits{}, CodeValidationFailed, http.StatusBadRequest},
		{"bad variable", `query($n: Int!) { newestAdditions(limit: $n) { id } }`, Limits{}, CodeValidationFailed, http.StatusBadRequest},
	}
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Analyze(Request{Query: tc.query}, tc.lim, Access{})
			if r.OK() {
				t.Fatalf("accepted: %+v", r)
			}
			if !hasCode(r, tc.code) {
				t.Fatalf("want %s, got %v (%+v)", tc.code, codes(r), r.Errors)
			}
			if r.Status() != StatusOf(r.Errors[0].Code) || StatusOf(tc.code) != tc.status {
				t.Errorf("status %d for %s, want %d", r.Status(), tc.code, tc.status)
			}
		})
	}
}

func TestIntrospection(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	q := `{ __schema { queryType { name } } }`
	if r := a.Analyze(Request{Query: q}, Limits{}, Access{Introspection: true}); !r.OK() || !r.Introspection {
		t.Errorf("allowed introspection refused: %+v", r.Errors)
	}
	if r := a.Analyze(Request{Query: q}, Limits{}, Access{}); r.Status() != http.StatusForbidden {
		t.Errorf("status = %d, errors %+v", r.Status(), r.Errors)
	}
	if r := a.Analyze(Request{Query: `{ book { __typename } __typename }`}, Limits{}, Access{}); !r.OK() || r.Introspection {
		t.Errorf("__typename refused: %+v", r.Errors)
	}
	ofType := func(n int) string {
		return `{ __type(name: "Book") { ` + strings.Repeat("ofType { ", n) + "name" + strings.Repeat(" }", n) + " } }"
	}
	big := Limits{MaxDepth: 100}
	if r := a.Analyze(Request{Query: ofType(MaxOfTypeDepth)}, big, Access{Introspection: true}); !r.OK() {
		t.Errorf("ofType chain of %d refused: %+v", MaxOfTypeDepth, r.Errors)
	}
	if r := a.Analyze(Request{Query: ofType(MaxOfTypeDepth + 1)}, big, Access{Introspection: true}); !hasCode(r, CodeValidationFailed) {
		t.Errorf("ofType chain of %d accepted: %+v", MaxOfTypeDepth+1, r.Errors)
	}
	// gqlparser's own bound on nested list fields of __Type.
	deepLists := `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`
	if r := a.Analyze(Request{Query: deepLists}, big, Access{Introspection: true}); !hasCode(r, CodeValidationFailed) {
		t.Errorf("deep introspection lists accepted: %+v", r.Errors)
	}
}

// TestSchemaPrivacy: without introspection rights, errors name nothing the
// client did not send and suggest nothing.
func TestSchemaPrivacy(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	tests := []struct {
		name, query string
		vars        map[string]any
		hidden      []string // must not appear without rights
	}{
		{"typo'd field", `{ bok { title } }`, nil, []string{"Did you mean", "book", "Query"}},
		{"typo'd nested field", `{ book { titel } }`, nil, []string{"Did you mean", "title", "Book"}},
		{"missing required argument", `{ newestAdditions { id } }`, nil, []string{"limit", "Int!"}},
		{"unknown argument", `{ book(idd: 1) { id } }`, nil, []string{"Did you mean", "\"id\""}},
		{"wrong value type", `{ book(id: {a: 1}) { id } }`, nil, []string{"ID"}},
		{"leaf without selection", `{ book }`, nil, []string{"Book"}},
		{"unknown type", `{ node(id: 1) { ... on Boook { id } } }`, nil, []string{"Did you mean", "Book"}},
		{"missing input field in variable", `query($in: SearchInput!) { search(input: $in) { id } }`, map[string]any{"in": map[string]any{"pagination": map[string]any{"frist": 1}}}, []string{"first", "Pagination"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hidden := a.Analyze(Request{Query: tc.query, Variables: tc.vars}, Limits{}, Access{})
			if !hasCode(hidden, CodeValidationFailed) {
				t.Fatalf("want %s, got %+v", CodeValidationFailed, hidden.Errors)
			}
			for _, e := range hidden.Errors {
				for _, s := range tc.hidden {
					if strings.Contains(e.Message, s) {
						t.Errorf("message %q reveals %q", e.Message, s)
					}
				}
			}
			full := a.Analyze(Request{Query: tc.query, Variables: tc.vars}, Limits{}, Access{Introspection: true})
			if fmt.Sprint(full.Errors) == fmt.Sprint(hidden.Errors) {
				t.Errorf("introspecting identity got the generic messages: %+v", full.Errors)
			}
		})
	}
	// The full messages do carry the suggestion.
	full := a.Analyze(Request{Query: `{ bok { title } }`}, Limits{}, Access{Introspection: true})
	if !strings.Contains(full.Errors[0].Message, "Did you mean") {
		t.Errorf("full message without suggestion: %q", full.Errors[0].Message)
	}
	if len(full.Errors[0].Locations) == 0 {
		t.Errorf("no location")
	}
}
