package analysis

// rootFieldsRule counts distinct top-level response keys (the docs/ pages
// section 5), fields of fragments spread at the root included.
var rootFieldsRule = rule{name: "rootFields", init: func(_ *walker, ev *events, m *measures) {
	ev.onEnterField(func(e *fieldEvent) {
		if e.depth == 1 && e.firstKey {
			m.rootFields++
		}
	})
}}
