package analysis

import (
	"net/http"
	"testing"
)

// TestIntrospectionAtAnyDepth: __schema and __type reached through a field
// returning the query type, through fragments, inline fragments or under an
// alias are introspection, refused without the right and allowed with it.
func TestIntrospectionAtAnyDepth(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	tests := []struct{ name, query string }{
		{"root", `{ __schema { types { name } } }`},
		{"nested through a field returning Query", `{ viewer { query { __schema { types { name } } } } }`},
		{"__type nested", `{ viewer { query { __type(name: "Book") { name } } } }`},
		{"twice nested", `{ viewer { query { viewer { query { __schema { queryType { name } } } } } } }`},
		{"aliased", `{ s: __schema { types { name } } }`},
		{"aliased and nested", `{ v: viewer { q: query { s: __schema { types { name } } } } }`},
		{"named fragment at the root", `{ ...F } fragment F on Query { __schema { types { name } } }`},
		{"named fragment nested", `{ viewer { query { ...F } } } fragment F on Query { __type(name: "Book") { name } }`},
		{"fragment on Viewer", `{ viewer { ...V } } fragment V on Viewer { query { __schema { types { name } } } }`},
		{"inline fragment", `{ ... on Query { __schema { types { name } } } }`},
		{"inline fragment nested", `{ viewer { query { ... on Query { __type(name: "Book") { name } } } } }`},
		{"untyped inline fragment nested", `{ viewer { query { ... { __schema { queryType { name } } } } } }`},
		{"beside data", `{ book { title } viewer { query { __schema { types { name } } } } }`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Analyze(Request{Query: tc.query}, Limits{}, Access{})
			if !hasCode(r, CodeIntrospectionDisabled) || r.Status() != http.StatusForbidden || !r.Introspection {
				t.Fatalf("without the right: status %d, %v", r.Status(), r.Errors)
			}
			if r := a.Analyze(Request{Query: tc.query}, Limits{}, Access{Introspection: true}); !r.OK() || !r.Introspection {
				t.Fatalf("with the right: %v", r.Errors)
			}
		})
	}
	// __typename stays free at any depth.
	if r := a.Analyze(Request{Query: `{ viewer { query { __typename viewer { __typename } } } }`}, Limits{}, Access{}); !r.OK() || r.Introspection {
		t.Errorf("__typename refused: %v", r.Errors)
	}
}
