package analysis

import (
	"net/http"
	"testing"
)

// TestMeasures checks depth, height, aliases, root fields and directives by
// the docs/ pages, the expected numbers derived by hand.
func TestMeasures(t *testing.T) {
	type counts struct{ depth, height, aliases, root, directives int }
	tests := []struct {
		name  string
		query string
		want  counts
	}{
		// height: {book} 1 + {title author} 2 + {name} 1
		{"nested fields", `{ book { title author { name } } }`, counts{3, 4, 0, 1, 0}},
		// height: {a b __typename} 3 + {title} 1 + {title} 1
		{"aliases and __typename", `{ a: book { title } b: book { title } __typename }`, counts{2, 5, 2, 3, 0}},
		// height: {book} 1 + 2 spreads x ({title author} 2 + {name} 1); fragments add no depth
		{"fragment expanded at each spread", `{ book { ...F ...F } } fragment F on Book { title author { name } }`, counts{3, 7, 0, 1, 0}},
		{"inline fragment is its own selection set", `{ book { ... on Book { title } title } }`, counts{2, 3, 0, 1, 0}},
		{"repeated key counts once", `{ book { title title } }`, counts{2, 2, 0, 1, 0}},
		{"aliases counted at each spread", `{ book { ...F ...F } } fragment F on Book { t: title }`, counts{2, 3, 2, 1, 0}},
		{"root fields through a fragment", `{ ...Q book { id } } fragment Q on Query { me { id } expensive }`, counts{2, 5, 0, 3, 0}},
		{"directives on fields, spreads and inline fragments", `{ book @include(if: true) { title @skip(if: false) ...F @include(if: true) ... @skip(if: false) { id } } } fragment F on Book { id }`, counts{2, 4, 0, 1, 4}},
		{"directives on operation variables count", `query($s: Boolean = true) { book @skip(if: $s) { id } }`, counts{2, 2, 0, 1, 1}},
		{"nested fragments", `{ book { ...A } } fragment A on Book { author { ...B } } fragment B on Author { books { ...C } } fragment C on Book { id }`, counts{4, 4, 0, 1, 0}},
	}
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Analyze(Request{Query: tc.query}, generous, Access{})
			if !r.OK() {
				t.Fatalf("unexpected errors: %+v", r.Errors)
			}
			got := counts{r.Depth, r.Height, r.Aliases, r.RootFields, r.Directives}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestLimitBoundaries: a measure equal to its limit passes, one more fails,
// and every exceeded limit is reported.
func TestLimitBoundaries(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	q := `{ x: book { title author { name } } y: me { name } }`
	// depth 3, height 2+2+1+1 = 6, aliases 2, root 2, tokens 18
	exact := Limits{MaxDepth: 3, MaxHeight: 6, MaxAliases: 2, MaxRootFields: 2, MaxTokens: 18, MaxDirectives: 1, MaxCost: 3, MaxBatch: 1}
	if r := a.Analyze(Request{Query: q}, exact, Access{}); !r.OK() {
		t.Fatalf("at the limits: %+v (report %+v)", r.Errors, r)
	}
	under := Limits{MaxDepth: 2, MaxHeight: 5, MaxAliases: 1, MaxRootFields: 1, MaxTokens: 18, MaxDirectives: 1, MaxCost: 2, MaxBatch: 1}
	r := a.Analyze(Request{Query: q}, under, Access{})
	for _, c := range []string{CodeMaxDepth, CodeMaxHeight, CodeMaxAliases, CodeMaxRootFields, CodeCostTooExpensive} {
		if !hasCode(r, c) {
			t.Errorf("missing %s in %v", c, codes(r))
		}
	}
	if r.Status() != http.StatusBadRequest {
		t.Errorf("status = %d", r.Status())
	}
	under.MaxTokens = 17
	if r := a.Analyze(Request{Query: q}, under, Access{}); !hasCode(r, CodeMaxTokens) || r.Tokens != 18 {
		t.Errorf("tokens: %v %d", codes(r), r.Tokens)
	}
}

func TestZeroLimitsFailClosed(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	deep := `{ book { related { related { related { related { related { related { related { related { related { related { related { related { title } } } } } } } } } } } } } }`
	r := a.Analyze(Request{Query: deep}, Limits{}, Access{})
	if !hasCode(r, CodeMaxDepth) {
		t.Errorf("zero limits did not apply the default depth: %v", codes(r))
	}
}

func TestCountTokens(t *testing.T) {
	tests := []struct {
		src  string
		max  int
		n    int
		over bool
	}{
		{`{ a }`, 0, 3, false},
		{`query Q($v: Int = 1) { a(x: $v) @skip(if: true) }`, 0, 26, false},
		{`{ a }`, 3, 3, false},
		{`{ a }`, 2, 3, true},
		{"# only a comment\n", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.src, func(t *testing.T) {
			n, over := CountTokens(tc.src, tc.max)
			if n != tc.n || over != tc.over {
				t.Errorf("CountTokens = %d, %v; want %d, %v", n, over, tc.n, tc.over)
			}
		})
	}
}

func TestOperationSelection(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	doc := `query A { book { id } } query B { me { id } }`
	tests := []struct {
		name, op, want string
		code           string
	}{
		{"named", "B", "B", ""},
		{"several without name", "", "", CodeValidationFailed},
		{"unknown name", "C", "", CodeValidationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Analyze(Request{Query: doc, OperationName: tc.op}, generous, Access{})
			if tc.code != "" {
				if !hasCode(r, tc.code) {
					t.Fatalf("want %s, got %+v", tc.code, r.Errors)
				}
				return
			}
			if !r.OK() || r.OperationName != tc.want || r.Fields[0].Coordinate != "Query.me" {
				t.Errorf("got %+v", r)
			}
		})
	}
}

func TestBatch(t *testing.T) {
	a := NewAnalyzer(books(t), CostConfig{ListSize: 10})
	reqs := make([]Request, 1000)
	for i := range reqs {
		reqs[i] = Request{Query: `{ book { id } }`}
	}
	if _, err := a.AnalyzeBatch(reqs, Limits{}, Access{}); err == nil || err.Code != CodeMaxBatch {
		t.Fatalf("batch of 1000 with max_batch 1: %v", err)
	}
	reps, err := a.AnalyzeBatch(reqs[:3], Limits{MaxBatch: 3}, Access{})
	if err != nil || len(reps) != 3 || !reps[2].OK() {
		t.Fatalf("batch of 3 with max_batch 3: %v %v", err, reps)
	}
}
