package analysis

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
)

// argumentValues is a field's arguments with variables and defaults applied.
// Unlike ast.Field.ArgumentMap it never panics on a literal it cannot
// convert: it keeps the raw text.
func argumentValues(e *fieldEvent, vars map[string]any) map[string]any {
	if len(e.def.Arguments) == 0 {
		return nil
	}
	out := make(map[string]any, len(e.def.Arguments))
	for _, ad := range e.def.Arguments {
		if a := e.field.Arguments.ForName(ad.Name); a != nil && a.Value != nil {
			if a.Value.Kind == ast.Variable {
				if v, ok := vars[a.Value.Raw]; ok {
					out[ad.Name] = v
					continue
				}
			} else {
				out[ad.Name] = valueOf(a.Value, vars)
				continue
			}
		}
		if ad.DefaultValue != nil {
			out[ad.Name] = valueOf(ad.DefaultValue, nil)
		}
	}
	return out
}

// valueOf converts a literal to Go values (int64, float64, string, bool,
// nil, []any, map[string]any), variables taken from vars.
func valueOf(v *ast.Value, vars map[string]any) any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.Variable:
		return vars[v.Raw]
	case ast.IntValue:
		if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			return n
		}
		return v.Raw
	case ast.FloatValue:
		if f, err := strconv.ParseFloat(v.Raw, 64); err == nil {
			return f
		}
		return v.Raw
	case ast.BooleanValue:
		return v.Raw == "true"
	case ast.NullValue:
		return nil
	case ast.ListValue:
		out := make([]any, 0, len(v.Children))
		for _, c := range v.Children {
			out = append(out, valueOf(c.Value, vars))
		}
		return out
	case ast.ObjectValue:
		out := make(map[string]any, len(v.Children))
		for _, c := range v.Children {
			out[c.Name] = valueOf(c.Value, vars)
		}
		return out
	default: // strings, block strings, enums
		return v.Raw
	}
}

// asSize reads a slicing value: an integer, or a list's length.
func asSize(v any) (int, bool) {
	var f float64
	switch n := v.(type) {
	case int:
		return clampSize(float64(n)), true
	case int32:
		f = float64(n)
	case int64:
		f = float64(n)
	case float64:
		f = n
	case json.Number:
		x, err := n.Float64()
		if err != nil {
			return 0, false
		}
		f = x
	case []any:
		return len(n), true
	default:
		return 0, false
	}
	if math.IsNaN(f) || f != math.Trunc(f) {
		return 0, false
	}
	return clampSize(f), true
}

func clampSize(f float64) int {
	switch {
	case f < 0:
		return 0
	case f > math.MaxInt32:
		return math.MaxInt32
	}
	return int(f)
}
