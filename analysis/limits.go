package analysis

import "fmt"

// DefaultListSize is the assumed size of lists without @listSize when the
// configuration leaves cost.list_size unset (zero values fail closed).
const DefaultListSize = 10

// effective fills every unset (or nonsensical) limit with its default, so
// that a zero Limits is the safe one, never "unlimited".
func effective(l Limits) Limits {
	d := DefaultLimits
	pick := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	return Limits{
		MaxDepth:      pick(l.MaxDepth, d.MaxDepth),
		MaxHeight:     pick(l.MaxHeight, d.MaxHeight),
		MaxAliases:    pick(l.MaxAliases, d.MaxAliases),
		MaxRootFields: pick(l.MaxRootFields, d.MaxRootFields),
		MaxTokens:     pick(l.MaxTokens, d.MaxTokens),
		MaxDirectives: pick(l.MaxDirectives, d.MaxDirectives),
		MaxCost:       pick(l.MaxCost, d.MaxCost),
		MaxBatch:      pick(l.MaxBatch, d.MaxBatch),
		MaxSelections: pick(l.MaxSelections, d.MaxSelections),
	}
}

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
