package analysis

// outcome is what a request's variables make of measures: the parts of the
// report that may differ between two requests for the same operation.
type outcome struct {
	cost float64
	// args are the values of the fields whose arguments name variables.
	args []fieldArgs
	errs []Error
}

// dynamic reports whether any part of the measures depends on variables.
func (m *measures) dynamic() bool {
	if len(m.args) > 0 || len(m.checks) > 0 {
		return true
	}
	for i := range m.cost.nodes {
		if n := &m.cost.nodes[i]; n.terms != nil || n.slicing != nil {
			return true
		}
	}
	return false
}

// apply evaluates the variable-dependent parts with sc.vars, the request's
// coerced variables. Measures that depend on none share their fixed outcome:
// reports are immutable.
func (m *measures) apply(sc scorer) *outcome {
	if m.fixed != nil {
		return m.fixed
	}
	var found []int
	if len(m.checks) > 0 {
		found = make([]int, len(m.checks))
	}
	o := &outcome{cost: m.cost.eval(sc, found), errs: m.errs}
	if len(m.args) > 0 {
		// Only the fields whose arguments name variables; the walk
		// records them in field order, which Report.Arguments searches.
		o.args = make([]fieldArgs, len(m.args))
		for i := range m.args {
			t := &m.args[i]
			o.args[i] = fieldArgs{index: t.index, values: t.eval(sc.vars)}
		}
	}
	if len(m.checks) > 0 {
		o.errs = make([]Error, 0, len(m.errs)+len(m.checks))
		k := 0
		for i := 0; i <= len(m.errs); i++ {
			for ; k < len(m.checks) && m.checks[k].at == i; k++ {
				if found[k] != 1 {
					o.errs = append(o.errs, slicingError(m.checks[k].field, found[k]))
				}
			}
			if i < len(m.errs) {
				o.errs = append(o.errs, m.errs[i])
			}
		}
	}
	return o
}
