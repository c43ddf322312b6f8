package analysis

import "strings"

// fieldsRule lists the fields touched with their response paths and
// argument values, variables applied, for policy. The walk
// sees no variables: arguments that name one get a template that apply fills
// in per request.
// Introspection fields and __typename are left out: they touch no data.
var fieldsRule = rule{name: "fields", init: func(w *walker, ev *events, m *measures) {
	m.fields = make([]FieldUse, 0, 64)
	// Paths are cut from shared chunks: one allocation for many fields.
	var arena []any
	ev.onEnterField(func(e *fieldEvent) {
		if e.dupLeaf || strings.HasPrefix(e.field.Name, "__") || strings.HasPrefix(e.parent.Name, "__") {
			return
		}
		if cap(arena)-len(arena) < len(e.path) {
			arena = make([]any, 0, max(256, len(e.path)))
		}
		start := len(arena)
		arena = append(arena, e.path...)
		use := FieldUse{
			ParentType: e.parent.Name,
			Path:       arena[start:len(arena):len(arena)],
			Field:      e.field,
		}
		if meta := w.graph.Field(e.parent.Name, e.field.Name); meta != nil && meta.Coordinate != "" {
			use.Coordinate = meta.Coordinate
		} else {
			use.Coordinate = e.parent.Name + "." + e.field.Name
		}
		if e.def != nil {
			if e.def.Type != nil {
				use.ReturnType = e.def.Type.Name()
			}
			var slots []argSlot
			use.Arguments, slots = argumentValues(e.field, e.def)
			if slots != nil {
				m.args = append(m.args, argTemplate{index: len(m.fields), slots: slots})
			}
		}
		m.fields = append(m.fields, use)
	})
}}
