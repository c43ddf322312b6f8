package analysis

import "fmt"

// DefaultListSize is the assumed size of lists without @listSize when the
// configuration leaves cost.list_size unset (zero values fail closed).
const DefaultListSize = 10

// Merge is the one rule for layered limits: each layer's positive limits
// replace those of the layers before it, and what no layer sets is the
// default. A route's limits go over the defaults, a rate-limit tier's over
// the route's (docs/config.md, "limits"); a zero or negative limit never
// means "unlimited", so zero values fail closed.
func Merge(layers ...Limits) Limits {
	out := DefaultLimits
	for _, l := range layers {
		for _, f := range []struct {
			dst *int
			src int
		}{
			{&out.MaxDepth, l.MaxDepth}, {&out.MaxHeight, l.MaxHeight}, {&out.MaxAliases, l.MaxAliases},
			{&out.MaxRootFields, l.MaxRootFields}, {&out.MaxTokens, l.MaxTokens}, {&out.MaxDirectives, l.MaxDirectives},
			{&out.MaxCost, l.MaxCost}, {&out.MaxBatch, l.MaxBatch}, {&out.MaxSelections, l.MaxSelections},
		} {
			if f.src > 0 {
				*f.dst = f.src
			}
		}
	}
	return out
}

// effective is the limits an operation is measured against.
func effective(l Limits) Limits { return Merge(l) }

// CheckBatch refuses a batch of n operations over lim.MaxBatch
// ; the front door calls it before analysing the entries.
func CheckBatch(n int, lim Limits) *Error {
	max := effective(lim).MaxBatch
	if n <= max {
		return nil
	}
	return &Error{
		Code:    CodeMaxBatch,
		Message: fmt.Sprintf("Batch of %d operations exceeds the limit of %d.", n, max),
	}
}

// limitErrors compares the measures with the limits; every exceeded limit is
// reported. A violation is measured > limit.
func limitErrors(m *measures, lim Limits) []Error {
	var errs []Error
	check := func(got, max int, code, what string) {
		if got > max {
			errs = append(errs, Error{Code: code, Message: fmt.Sprintf("Operation %s %d exceeds the limit of %d.", what, got, max)})
		}
	}
	check(m.depth, lim.MaxDepth, CodeMaxDepth, "depth")
	if m.truncated {
		errs = append(errs, Error{Code: CodeMaxHeight, Message: fmt.Sprintf("Operation height exceeds the limit of %d.", lim.MaxHeight)})
	} else {
		check(m.height, lim.MaxHeight, CodeMaxHeight, "height")
	}
	check(m.aliases, lim.MaxAliases, CodeMaxAliases, "aliases")
	check(m.rootFields, lim.MaxRootFields, CodeMaxRootFields, "root fields")
	check(m.directives, lim.MaxDirectives, CodeMaxDirectives, "directives")
	return errs
}

func costError(cost float64, max int) []Error {
	if cost <= float64(max) {
		return nil
	}
	return []Error{{
		Code:    CodeCostTooExpensive,
		Message: "Operation estimated cost exceeds the maximum cost.",
		Extensions: map[string]any{
			"cost.estimated": cost,
			"cost.max":       max,
		},
	}}
}
