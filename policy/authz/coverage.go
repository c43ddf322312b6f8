package authz

import (
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portcullis-gw/portcullis/schema"
)

// CoverageEntry is one field reachable from a root type with its effective
// requirement.
type CoverageEntry struct {
	Coordinate string `json:"coordinate"`
	// Requirement is human readable, "none" when the field is open.
	Requirement string `json:"requirement"`
	Unprotected bool   `json:"unprotected"`
	// Sensitive: unprotected, yet it returns a type that is protected
	// elsewhere (a restricted type, an abstract type with a restricted
	// implementation, or the return type of a field with its own
	// requirement): a likely gap.
	Sensitive bool `json:"sensitive"`
}

// Coverage lists every field reachable from g's root types, sorted by
// coordinate, with a's effective requirements.
func Coverage(g *schema.Graph, a *GraphQLAuthorizer) []CoverageEntry {
	if g == nil || a == nil || g.Schema() == nil {
		return nil
	}
	s := g.Schema()
	// Types some field protects on its own: reaching them by an open field
	// is worth a look.
	guarded := map[string]bool{}
	for coord, r := range a.own {
		if r == nil {
			continue
		}
		typ, field, _ := strings.Cut(coord, ".")
		if def := s.Types[typ]; def != nil {
			// A protected String says nothing about other String fields:
			// only composite types carry data worth guarding.
			if fd := def.Fields.ForName(field); fd != nil && composite(s.Types[fd.Type.Name()]) {
				guarded[fd.Type.Name()] = true
			}
		}
	}
	sensitive := func(name string) bool {
		if guarded[name] || a.types[name] != nil {
			return true
		}
		if def := s.Types[name]; abstract(def) {
			for _, p := range s.GetPossibleTypes(def) {
				if guarded[p.Name] || a.types[p.Name] != nil {
					return true
				}
			}
		}
		return false
	}

	seen := map[string]bool{}
	var queue []*ast.Definition
	push := func(d *ast.Definition) {
		if d == nil || seen[d.Name] || strings.HasPrefix(d.Name, "__") {
			return
		}
		seen[d.Name] = true
		queue = append(queue, d)
	}
	push(s.Query)
	push(s.Mutation)
	push(s.Subscription)
	var out []CoverageEntry
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if abstract(d) {
			for _, p := range s.GetPossibleTypes(d) {
				push(p)
			}
		}
		if d.Kind != ast.Object && d.Kind != ast.Interface {
			continue
		}
		for _, fd := range d.Fields {
			if strings.HasPrefix(fd.Name, "__") {
				continue
			}
			coord := d.Name + "." + fd.Name
			r := a.fields[coord]
			e := CoverageEntry{Coordinate: coord, Requirement: r.String(), Unprotected: r.empty()}
			e.Sensitive = e.Unprotected && sensitive(fd.Type.Name())
			out = append(out, e)
			push(s.Types[fd.Type.Name()])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Coordinate < out[j].Coordinate })
	return out
}

func composite(d *ast.Definition) bool {
	return d != nil && d.IsCompositeType()
}
