package analysis

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
)

// argTemplate gives the arguments of fields[index] per request: the field
// has an argument that names a variable.
type argTemplate struct {
	index int
	slots []argSlot
}

// argSlot is one argument of the field's definition, resolved as
// argumentValues would: the variable if the request sets it, else the literal
// with its variables applied, else the default.
type argSlot struct {
	name     string
	variable string     // the argument is this variable
	nested   *ast.Value // a literal naming variables
	fixed    any        // the literal or the default, when has
	has      bool
}

func (t *argTemplate) eval(vars map[string]any) map[string]any {
	out := make(map[string]any, len(t.slots))
	for i := range t.slots {
		s := &t.slots[i]
		if s.variable != "" {
			if v, ok := vars[s.variable]; ok {
				out[s.name] = v
				continue
			}
		}
		switch {
		case s.nested != nil:
			out[s.name] = valueOf(s.nested, vars)
		case s.has:
			out[s.name] = s.fixed
		}
	}
	return out
}

// argumentValues is a field's arguments with defaults applied, or, when an
// argument names a variable, nil and the template that applies the
// variables. Unlike ast.Field.ArgumentMap it never panics on a literal it
// cannot convert: it keeps the raw text.
func argumentValues(f *ast.Field, def *ast.FieldDefinition) (map[string]any, []argSlot) {
	if len(def.Arguments) == 0 {
		return nil, nil
	}
	dynamic := false
	for _, a := range f.Arguments {
		if hasVariable(a.Value) && def.Arguments.ForName(a.Name) != nil {
			dynamic = true
			break
		}
	}
	if !dynamic {
		out := make(map[string]any, len(def.Arguments))
		for _, ad := range def.Arguments {
			if a := f.Arguments.ForName(ad.Name); a != nil && a.Value != nil {
				out[ad.Name] = valueOf(a.Value, nil)
			} else if ad.DefaultValue != nil {
				out[ad.Name] = valueOf(ad.DefaultValue, nil)
			}
		}
		return out, nil
	}
	slots := make([]argSlot, 0, len(def.Arguments))
	for _, ad := range def.Arguments {
		s := argSlot{name: ad.Name}
		if a := f.Arguments.ForName(ad.Name); a != nil && a.Value != nil {
			switch {
			case a.Value.Kind == ast.Variable:
				s.variable = a.Value.Raw
			case hasVariable(a.Value):
				s.nested = a.Value
			default:
				s.fixed, s.has = valueOf(a.Value, nil), true
			}
		}
		if !s.has && s.nested == nil && ad.DefaultValue != nil {
			s.fixed, s.has = valueOf(ad.DefaultValue, nil), true
		}
		slots = append(slots, s)
	}
	return nil, slots
}

// hasVariable reports whether a value is or holds a variable.
func hasVariable(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if v.Kind == ast.Variable {
		return true
	}
	for _, c := range v.Children {
		if hasVariable(c.Value) {
			return true
		}
	}
	return false
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

// asSize reads a slicing value: an integer (-1 for any negative one), or a
// list's length.
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
		return -1
	case f > math.MaxInt32:
		return math.MaxInt32
	}
	return int(f)
}
