package analysis

import (
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portcullis-gw/portcullis/schema"
)

// Coordinates counts how often an operation uses each of a set of watched
// field coordinates, for per-coordinate rate limits. Every use counts:
// each alias, each fragment spread (a FieldUse per spread), each batch
// entry. Fields GraphQL merges into one execution (the same response key,
// so by validation the same arguments) count once, as they run once
// (GraphQL spec, "Field Collection"). A coordinate on an object type also
// watches the same field selected through an interface the object
// implements, and one on an interface every implementation's field: a rule
// on Mutation.login or User.email cannot be side-stepped by asking for the
// field through another type (docs/governance.md).
type Coordinates struct {
	// watch maps a coordinate as FieldUse names it to the indexes of the
	// watched coordinates it counts for.
	watch map[string][]int
	n     int
}

// WatchCoordinates compiles the watched coordinates against a schema. It
// reports each coordinate the schema does not have (the caller decides
// whether that is an error: a rule may be meant for another route).
func WatchCoordinates(g *schema.Graph, coords []string) (c *Coordinates, unknown []string) {
	c = &Coordinates{watch: map[string][]int{}, n: len(coords)}
	s := g.Schema()
	add := func(coord string, i int) {
		for _, j := range c.watch[coord] {
			if j == i {
				return
			}
		}
		c.watch[coord] = append(c.watch[coord], i)
	}
	for i, coord := range coords {
		typ, field, ok := splitCoordinate(coord)
		def := s.Types[typ]
		if !ok || def == nil || def.Fields.ForName(field) == nil {
			unknown = append(unknown, coord)
			continue
		}
		add(coord, i)
		switch def.Kind {
		case ast.Object:
			for _, iface := range def.Interfaces {
				if d := s.Types[iface]; d != nil && d.Fields.ForName(field) != nil {
					add(iface+"."+field, i)
				}
			}
		case ast.Interface:
			for _, impl := range s.GetPossibleTypes(def) {
				add(impl.Name+"."+field, i)
			}
		}
	}
	return c, unknown
}

func splitCoordinate(coord string) (typ, field string, ok bool) {
	for i := 0; i < len(coord); i++ {
		if coord[i] == '.' {
			return coord[:i], coord[i+1:], i > 0 && i < len(coord)-1
		}
	}
	return "", "", false
}

// Len is the number of watched coordinates.
func (c *Coordinates) Len() int {
	if c == nil {
		return 0
	}
	return c.n
}

// Count adds each report's uses of the watched coordinates to counts
// (len(counts) == Len()); it reports whether any was used.
func (c *Coordinates) Count(reports []*Report, counts []int) bool {
	if c == nil || len(c.watch) == 0 {
		return false
	}
	used := false
	for _, rep := range reports {
		for i := range rep.Fields {
			for _, j := range c.watch[rep.Fields[i].Coordinate] {
				if j < len(counts) {
					counts[j]++
					used = true
				}
			}
		}
	}
	return used
}
