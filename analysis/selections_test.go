package analysis

import (
	"strconv"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// TestCountSelections checks the pre-pass count against numbers derived by
// hand from the rule in selections.go.
func TestCountSelections(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  int
	}{
		{"one leaf", `{ a }`, 1},
		{"distinct fields", `{ a b c }`, 3},
		// 1 + 2 + 3: each repeat is compared with every earlier one.
		{"repeated leaf", `{ a a a }`, 6},
		{"alias is its own key", `{ a x: a }`, 2},
		// a(1) b(1) a(2) b below the second a (2: compared with the first).
		{"repeated object merges below", `{ a { b } a { b } }`, 6},
		{"different places do not compare", `{ x { a } y { a } }`, 4},
		// spread 1, fragment field 1.
		{"fragment expanded", `{ ...F } fragment F on Q { a }`, 2 + 1},
		// spreads 1 + 1 (same fragment again adds no pair), a 1 + 2.
		{"fragment spread twice", `{ ...F ...F } fragment F on Q { a }`, 2 + 3 + 1},
		// spreads 1 + 2, fields 1 + 1; definitions 1 + 1.
		{"two fragments meet", `{ ...F ...G } fragment F on Q { a } fragment G on Q { b }`, 3 + 2 + 2},
		// inline 1, a 2 (inside one inline fragment).
		{"inline fragment counts its selections again", `{ ... { a } }`, 3},
		// inline 1, inline 2, a 3.
		{"nested inline fragments", `{ ... { ... { a } } }`, 6},
		// The weight resets at a field.
		{"field resets the inline weight", `{ ... { a { b } } }`, 1 + 2 + 1},
		// spread 1, fragment body (fresh collection): a 1; definition 1.
		{"inline weight stops at a spread", `{ ... { ...F } } fragment F on Q { a }`, 1 + 2 + 1 + 1},
		// A cycle: F spreads itself once (counted, not expanded again).
		{"cycle", `{ ...F } fragment F on Q { a ...F }`, 1 + 1 + 1 + 2},
		{"each operation is its own place", `query A { a } query B { a }`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := parser.ParseQuery(&ast.Source{Input: tc.query})
			if err != nil {
				t.Fatal(err)
			}
			if n, over := countSelections(doc, 0); n != tc.want || over {
				t.Errorf("count = %d (over %v), want %d", n, over, tc.want)
			}
			if _, over := countSelections(doc, tc.want); over {
				t.Errorf("over at a limit equal to the count")
			}
			if tc.want == 1 {
				return // limit 0 is no limit
			}
			if n, over := countSelections(doc, tc.want-1); !over || n < tc.want {
				t.Errorf("limit %d: count %d over %v, want over", tc.want-1, n, over)
			}
		})
	}
}

// TestSelectionsStopEarly: the count stops at the limit, so exponential
// fragment fan-out costs no more than the limit.
func TestSelectionsStopEarly(t *testing.T) {
	var b strings.Builder
	b.WriteString("{ ...F0 }")
	for i := range 60 {
		b.WriteString(" fragment F" + strconv.Itoa(i) + " on Q { x: a { ...F" + strconv.Itoa(i+1) + " } y: a { ...F" + strconv.Itoa(i+1) + " } }")
	}
	b.WriteString(" fragment F60 on Q { a }")
	doc, err := parser.ParseQuery(&ast.Source{Input: b.String()})
	if err != nil {
		t.Fatal(err)
	}
	n, over := countSelections(doc, 1000)
	if !over || n > 1010 {
		t.Errorf("count %d over %v: want a stop just past 1000", n, over)
	}
}

func TestSelectionsLimitPerTier(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	q := "{" + strings.Repeat(" __typename", 10) + " }" // 55
	if r := a.Analyze(Request{Query: q}, Limits{MaxSelections: 55}, Access{}); !r.OK() {
		t.Fatalf("at the limit: %v", codes(r))
	}
	// Cached now: a lower limit still refuses, a higher one still passes.
	r := a.Analyze(Request{Query: q}, Limits{MaxSelections: 54}, Access{})
	if !hasCode(r, CodeMaxSelections) || r.Status() != 400 {
		t.Fatalf("over the limit: %v", codes(r))
	}
	// Refused first under a low limit, then asked under a higher one.
	q2 := "{" + strings.Repeat(" __typename", 11) + " }" // 66
	if r := a.Analyze(Request{Query: q2}, Limits{MaxSelections: 10}, Access{}); !hasCode(r, CodeMaxSelections) {
		t.Fatalf("low limit: %v", codes(r))
	}
	if r := a.Analyze(Request{Query: q2}, Limits{MaxSelections: 100}, Access{}); !r.OK() {
		t.Fatalf("a cached refusal under a lower limit refused a higher one: %v", codes(r))
	}
	if r := a.Analyze(Request{Query: q2}, Limits{MaxSelections: 65}, Access{}); !hasCode(r, CodeMaxSelections) {
		t.Fatalf("limit 65: %v", codes(r))
	}
}
