package analysis

// heightRule counts distinct response keys per selection set, summed over
// all selection sets, a fragment's set again at each spread (the docs/ pages
// section 5; Apollo Router's max_height counts the same way).
var heightRule = rule{name: "height", init: func(_ *walker, ev *events, m *measures) {
	ev.onEnterField(func(e *fieldEvent) {
		if e.firstKey {
			m.height++
		}
	})
}}
