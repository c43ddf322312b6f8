package analysis

import "github.com/vektah/gqlparser/v2/ast"

// directivesRule counts directive uses in the operation: on the operation,
// its variables, fields, inline fragments, spreads and, at each spread, the
// fragment definition.
var directivesRule = rule{name: "directives", init: func(_ *walker, ev *events, m *measures) {
	ev.onDirective(func(*ast.Directive) { m.directives++ })
}}
