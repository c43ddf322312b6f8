package analysis

// depthRule measures the nesting of fields: `{ a { b } }` is 2, fragments
// add no level.
var depthRule = rule{name: "depth", init: func(_ *walker, ev *events, m *measures) {
	ev.onEnterField(func(e *fieldEvent) {
		if e.depth > m.depth {
			m.depth = e.depth
		}
	})
}}
