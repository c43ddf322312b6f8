package analysis

import "testing"

// TestMerge: a tier's positive limits replace the route's, every limit
// included, and zero keeps the route's; what no layer sets is the default.
func TestMerge(t *testing.T) {
	route := DefaultLimits
	tier := Limits{MaxSelections: 5000, MaxDepth: 20}
	got := Merge(route, tier)
	want := route
	want.MaxSelections, want.MaxDepth = 5000, 20
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := Merge(route, Limits{}); got != route {
		t.Errorf("an empty tier changed the limits: %+v", got)
	}
	if got := Merge(Limits{MaxDepth: 3, MaxCost: -1}); got.MaxDepth != 3 || got.MaxCost != DefaultLimits.MaxCost || got.MaxBatch != DefaultLimits.MaxBatch {
		t.Errorf("unset or non-positive limits did not take the default: %+v", got)
	}
}
