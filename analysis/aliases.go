package analysis

// aliasesRule counts aliased fields, each spread of a fragment again
// . gqlparser sets Alias to the name when there is no
// alias, so `a: a` is indistinguishable from `a` and harmless either way.
var aliasesRule = rule{name: "aliases", init: func(_ *walker, ev *events, m *measures) {
	ev.onEnterField(func(e *fieldEvent) {
		if e.field.Alias != "" && e.field.Alias != e.field.Name {
			m.aliases++
		}
	})
}}
