package gateway

import (
	"testing"

	"github.com/portcullis-gw/portcullis/analysis"
)

// TestOverrideLimits: a tier's non-zero limits replace the route's, every
// limit included, and zero keeps the route's.
func TestOverrideLimits(t *testing.T) {
	route := analysis.DefaultLimits
	tier := &analysis.Limits{MaxSelections: 5000, MaxDepth: 20}
	got := overrideLimits(route, tier)
	want := route
	want.MaxSelections, want.MaxDepth = 5000, 20
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got := overrideLimits(route, nil); got != route {
		t.Errorf("nil tier changed the limits: %+v", got)
	}
}
