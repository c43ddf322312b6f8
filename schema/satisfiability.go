package schema

import (
	"maps"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
)

// satisfiability is a simplified form of Apollo's satisfiability check:
// every field of an object type reachable in a subgraph must be resolvable
// from there, either locally or by jumping to a subgraph that resolves it
// through a resolvable @key whose top-level fields the first subgraph has.
// Root types are skipped: the query planner can start at any subgraph.
func (c *composer) satisfiability() {
	for _, sg := range c.subs {
		for _, name := range slices.Sorted(maps.Keys(c.reachable(sg))) {
			t := sg.types[name]
			merged := c.merged[name]
			if t == nil || merged == nil || t.def.Kind != ast.Object || isRoot(name) || c.fetchedWhole(sg, name) {
				continue
			}
			for _, f := range merged.Fields {
				coord := name + "." + f.Name
				resolvers := c.fieldSubs[coord]
				if slices.Contains(resolvers, sg.name) || (t.fields[f.Name] != nil && !t.fields[f.Name].external) {
					continue
				}
				if c.canJump(sg, name, resolvers) {
					continue
				}
				c.errorf("SATISFIABILITY_ERROR", append([]string{sg.name}, resolvers...), coord,
					"The following supergraph API query cannot be satisfied: field %q can be reached in subgraph %q, which cannot resolve it, and no subgraph resolving it (%s) can be reached from %q through a @key.",
					coord, sg.name, quoteJoin(resolvers), sg.name)
			}
		}
	}
}

// fetchedWhole reports whether a value type (no @key in any subgraph) is
// reached in sg only through fields other subgraphs resolve too: the
// planner can take the whole value from one of them, so sg need not have
// all its fields (it may, e.g., hold a few @external ones for @requires).
func (c *composer) fetchedWhole(sg *subgraph, typeName string) bool {
	for _, other := range c.subs {
		if t := other.types[typeName]; t != nil && len(t.keys) > 0 {
			return false
		}
	}
	leads := 0
	for pname, pt := range sg.types {
		for fname, f := range pt.fields {
			if f.def.Type.Name() != typeName || f.external {
				continue
			}
			leads++
			if len(c.fieldSubs[pname+"."+fname]) < 2 {
				return false
			}
		}
	}
	return leads > 0
}

func isRoot(name string) bool {
	return name == "Query" || name == "Mutation" || name == "Subscription"
}

// canJump reports whether a resolver of the field can be reached from
// subgraph from through resolvable keys: directly, or through subgraphs in
// between that have the key fields the next jump needs (a federation's
// only path between two keys may run through a third subgraph that has
// both). An @interfaceObject counts as the type for the jump.
func (c *composer) canJump(from *subgraph, typeName string, resolvers []string) bool {
	seen := map[string]bool{from.name: true}
	queue := []*subgraph{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		local := c.typeIn(cur, typeName)
		if local == nil {
			continue
		}
		for _, other := range c.subs {
			if seen[other.name] {
				continue
			}
			t := c.typeIn(other, typeName)
			if t == nil || !keyFieldsIn(local, t.keys) {
				continue
			}
			if slices.Contains(resolvers, other.name) {
				return true
			}
			seen[other.name] = true
			queue = append(queue, other)
		}
	}
	return false
}

// typeIn is sg's definition of typeName, or the @interfaceObject sg
// defines for an interface typeName implements.
func (c *composer) typeIn(sg *subgraph, typeName string) *sgType {
	if t := sg.types[typeName]; t != nil {
		return t
	}
	if merged := c.merged[typeName]; merged != nil {
		for _, i := range merged.Interfaces {
			if t := sg.types[i]; t != nil && t.interfaceObject {
				return t
			}
		}
	}
	return nil
}

// keyFieldsIn reports whether local has the top-level fields of one of the
// resolvable keys.
func keyFieldsIn(local *sgType, keys []sgKey) bool {
	for _, k := range keys {
		if !k.resolvable {
			continue
		}
		fields := topLevelFields(k.fields)
		ok := len(fields) > 0
		for _, f := range fields {
			lf := local.fieldOrNil(f)
			if lf == nil || lf.external {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// reachable lists the types a query can reach inside one subgraph: from
// its root types, and from its entities (entered through a key).
func (c *composer) reachable(sg *subgraph) map[string]bool {
	seen := map[string]bool{}
	var queue []string
	push := func(name string) {
		if !seen[name] && sg.types[name] != nil {
			seen[name] = true
			queue = append(queue, name)
		}
	}
	for _, r := range []string{"Query", "Mutation", "Subscription"} {
		push(r)
	}
	for name, t := range sg.types {
		for _, k := range t.keys {
			if k.resolvable {
				push(name)
			}
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		t := sg.types[name]
		for _, f := range t.def.Fields {
			if sf := t.fields[f.Name]; sf != nil && !sf.external {
				push(f.Type.Name())
			}
		}
		for _, m := range t.def.Types {
			push(m)
		}
		if t.def.Kind == ast.Interface {
			for _, impl := range sg.schema.PossibleTypes[name] {
				push(impl.Name)
			}
		}
	}
	return seen
}
