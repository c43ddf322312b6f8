package analysis

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
)

// Validation work is bounded before gqlparser's validator sees the
// document. Most of its rules are linear, but OverlappingFieldsCanBeMerged
// (GraphQL spec 5.3.2, Field Selection Merging) compares every pair of
// fields that share a response key at one place, every pair of fragment
// spreads that meet at one place, and does so again for each inline
// fragment that encloses them: `{ __typename __typename ... }` of 5000
// tokens takes seconds. countSelections measures that work in one bounded
// pass over the parsed document, without the schema:
//
//   - every selection counts 1 (fields, leaves and duplicates included,
//     fragment spreads, inline fragments), named fragments expanded at each
//     spread (a spread of a fragment being expanded counts, and stops there);
//   - a field counts once more for each earlier field with its response key
//     at the same place (the place: the response path, fragments and type
//     conditions ignored, as field collection merges them);
//   - a fragment spread counts once more for each other fragment spread
//     earlier at the same place (the validator compares fragments by name
//     pairs, so a fragment spread again at a place adds no pair);
//   - a selection inside inline fragments counts once more per enclosing
//     inline fragment up to the nearest field, since each of those selection
//     sets is collected and compared on its own;
//   - each operation is a place of its own, and each fragment definition
//     counts again as written (not expanded), as the validator checks it
//     once on its own.
//
// The count stops as soon as it passes max, so the pass costs at most about
// max steps whatever the fragments fan out to.
// DefaultMaxSelections is the default of limits.max_selections:
// BenchmarkValidationBombs builds the worst documents that fit under it and
// the other default limits, and docs/security.md records what they cost.
const DefaultMaxSelections = 1000

func countSelections(doc *ast.QueryDocument, max int) (n int, over bool) {
	c := &selCounter{
		max:    max,
		frags:  make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
		keys:   map[placeKey]int32{},
		spread: map[placeKey]bool{},
		active: map[string]bool{},
	}
	for _, f := range doc.Fragments {
		if _, dup := c.frags[f.Name]; !dup {
			c.frags[f.Name] = f
		}
	}
	for _, op := range doc.Operations {
		if c.set(op.SelectionSet, c.place(), 1, true) {
			return c.n, true
		}
	}
	for _, f := range doc.Fragments {
		if c.set(f.SelectionSet, c.place(), 1, false) {
			return c.n, true
		}
	}
	return c.n, false
}

type placeKey struct {
	place int32
	key   string
}

type selCounter struct {
	max int
	n   int
	// keys maps a place and a response key to the place below that key;
	// fields, indexed by that child place, counts the fields with the key.
	keys    map[placeKey]int32
	fields  []int32
	spreads []int32 // per place: distinct fragments spread there so far
	// spread holds the fragments spread at each place.
	spread map[placeKey]bool
	frags  map[string]*ast.FragmentDefinition
	active map[string]bool
}

// place allocates a fresh place.
func (c *selCounter) place() int32 {
	c.fields = append(c.fields, 0)
	c.spreads = append(c.spreads, 0)
	return int32(len(c.spreads) - 1)
}

// add counts w units; true means over the limit.
func (c *selCounter) add(w int) bool {
	c.n += w
	return c.max > 0 && c.n > c.max
}

// set counts a selection set at place p; w is 1 plus the inline fragments
// enclosing it up to the nearest field. expand: follow fragment spreads.
func (c *selCounter) set(set ast.SelectionSet, p int32, w int, expand bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			k := placeKey{place: p, key: responseKey(s)}
			child, ok := c.keys[k]
			if !ok {
				child = c.place()
				c.keys[k] = child
			}
			earlier := int(c.fields[child])
			c.fields[child]++
			if c.add(w * (1 + earlier)) {
				return true
			}
			if len(s.SelectionSet) > 0 && c.set(s.SelectionSet, child, 1, expand) {
				return true
			}
		case *ast.InlineFragment:
			if c.add(w) || c.set(s.SelectionSet, p, w+1, expand) {
				return true
			}
		case *ast.FragmentSpread:
			earlier := 0
			if k := (placeKey{place: p, key: s.Name}); !c.spread[k] {
				c.spread[k] = true
				earlier = int(c.spreads[p])
				c.spreads[p]++
			}
			if c.add(w * (1 + earlier)) {
				return true
			}
			f := c.frags[s.Name]
			if !expand || f == nil || c.active[s.Name] {
				continue
			}
			c.active[s.Name] = true
			// A fragment's body is collected as a selection set of its own:
			// the enclosing inline fragments do not reach into it.
			over := c.set(f.SelectionSet, p, 1, expand)
			delete(c.active, s.Name)
			if over {
				return true
			}
		}
	}
	return false
}

func selectionsError(max int) Error {
	return Error{Code: CodeMaxSelections, Message: fmt.Sprintf("Document has more than %d selections (fragments expanded, repeated fields and spreads counted per comparison).", max)}
}
