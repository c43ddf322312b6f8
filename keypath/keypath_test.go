package keypath

import (
	"errors"
	"testing"
)

func TestString(t *testing.T) {
	cases := []struct {
		name string
		p    Path
		want string
	}{
		{"root", Path{}, ""},
		{"keys", Key("graphql").Index(0).Key("limits").Key("max_depth"), "graphql[0].limits.max_depth"},
		{"key with a colon", Key("policies").Key("needs: quoting"), `policies["needs: quoting"]`},
		{"key with path characters", Key("policies").Key("a.b[c]"), `policies["a.b[c]"]`},
		{"empty key", Key("policies").Key(""), `policies[""]`},
		{"quoted root key", Key("a b").Key("c"), `["a b"].c`},
		{"index at the root", Index(2).Key("name"), "[2].name"},
		{"quote in a key", Key("t").Key(`x"y`), `t["x\"y"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.String(); got != c.want {
				t.Errorf("String() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestParentWithinJoin(t *testing.T) {
	route := Key("graphql").Index(0)
	depth := route.Key("limits").Key("max_depth")
	if got := depth.Parent().String(); got != "graphql[0].limits" {
		t.Errorf("Parent = %q", got)
	}
	if got := route.Parent().String(); got != "graphql" {
		t.Errorf("Parent of an index = %q", got)
	}
	if !(Path{}).Parent().IsRoot() {
		t.Error("the root's parent is not the root")
	}
	if !depth.Within(route) || !depth.Within(depth) || !depth.Within(Path{}) {
		t.Error("Within misses an ancestor")
	}
	if route.Within(depth) || depth.Within(Key("graphql").Index(1)) || Key("graphqlx").Within(Key("graphql")) {
		t.Error("Within accepts a place that is not an ancestor")
	}
	if got := route.Join(Key("limits").Key("max_cost")).String(); got != "graphql[0].limits.max_cost" {
		t.Errorf("Join = %q", got)
	}
	if !route.Join(Path{}).Equal(route) || route.Equal(depth) {
		t.Error("Equal")
	}
}

// TestValuesDoNotShare proves extending one parent twice gives two paths:
// an append into a shared backing array would make the first one change.
func TestValuesDoNotShare(t *testing.T) {
	parent := Key("a").Key("b").Key("c")
	parent = parent.Parent() // spare capacity behind a.b
	x := parent.Key("x")
	y := parent.Key("y")
	if x.String() != "a.b.x" || y.String() != "a.b.y" {
		t.Errorf("x = %q, y = %q", x, y)
	}
	j := parent.Join(Key("j"))
	k := parent.Join(Key("k"))
	if j.String() != "a.b.j" || k.String() != "a.b.k" {
		t.Errorf("j = %q, k = %q", j, k)
	}
}

func TestProblems(t *testing.T) {
	var ps Problems
	if ps.Err() != nil {
		t.Fatal("no problems, but an error")
	}
	ps.Addf(Key("timeout"), "must be > %d", 0)
	ps.AddAll(Key("forward_headers"), Problems{{Path: Index(1), Message: "bad"}})
	ps.Addf(Path{}, "whole section")
	want := "timeout: must be > 0\nforward_headers[1]: bad\nwhole section"
	err := ps.Err()
	if err == nil || err.Error() != want {
		t.Fatalf("Err() = %v, want %q", err, want)
	}
	var p Problem
	if !errors.As(err, &p) || p.Path.String() != "timeout" {
		t.Errorf("errors.As found %+v", p)
	}
}
