package analysis

import "fmt"

// MaxOfTypeDepth bounds chains of __Type.ofType in introspection queries
// . graphql-js's standard introspection query nests ofType
// fewer times, so tooling passes; a chain deeper than any real type wrapping
// is only load.
const MaxOfTypeDepth = 10

// introspectionRule notes __schema / __type selections (refused without the
// right; __typename is always fine) and bounds ofType chains. gqlparser's
// MaxIntrospectionDepth rule already bounds the list fields.
//
// __schema and __type are introspection wherever they appear: any field
// that returns the query type exposes them (GraphQL spec 4.2, "The
// __schema and __type fields are implicit on the query root type"), so
// `{ viewer { query { __schema { types { name } } } } }` needs the same
// right as `{ __schema { ... } }`. Names starting with "__" are reserved
// for introspection (spec 2.1.9), so the name alone decides, at any depth,
// through fragments and under aliases.
var introspectionRule = rule{name: "introspection", init: func(_ *walker, ev *events, m *measures) {
	var chain []int
	reported := false
	ev.onEnterField(func(e *fieldEvent) {
		name := e.field.Name
		if name == "__schema" || name == "__type" {
			m.introspection = true
		}
		// n is the length of the ofType chain ending at this field.
		n := 0
		if name == "ofType" && e.parent.Name == "__Type" {
			n = 1
			if len(chain) > 0 {
				n += chain[len(chain)-1]
			}
		}
		chain = append(chain, n)
		if n > MaxOfTypeDepth && !reported {
			reported = true
			err := Error{Code: CodeValidationFailed, Message: fmt.Sprintf("Maximum introspection depth exceeded: ofType nested more than %d times.", MaxOfTypeDepth)}
			if p := e.field.Position; p != nil {
				err.Locations = []Location{{Line: p.Line, Column: p.Column}}
			}
			m.errs = append(m.errs, err)
		}
	})
	ev.onLeaveField(func(*fieldEvent) { chain = chain[:len(chain)-1] })
}}
