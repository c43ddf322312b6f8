package analysis

import (
	"fmt"
	"math"
	"strings"

	"github.com/portcullis-gw/portcullis/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// costRule is Apollo Router's static cost estimate of IBM @cost / @listSize
// (design.md section 5, issue 4 item 3), weights read from schema metadata:
//
//	operation = (mutation ? 10 : 0) + sum(fields)
//	field     = 0 when literally skipped, else
//	            instances x (weight + sum(selected fields)) + sum(arguments)
//	weight    = field @cost, else its type's @cost, else 1 for objects,
//	            interfaces and unions and 0 for scalars and enums
//	instances = 1 for a non-list; for a list: the enclosing field's @listSize
//	            size if this field is one of its sizedFields, else the largest
//	            slicing argument (literal, variable or default; an integer or a
//	            list's length; dotted paths reach into input objects), else
//	            assumedSize, else cost.list_size.
//	argument  = input objects: (@cost or 1) + their fields; lists: (@cost or
//	            0) + each element; other values: @cost or 0.
//
// Like Apollo, a list of lists is counted as one list; lists nested through
// fields multiply.
var costRule = rule{name: "cost", init: func(w *walker, ev *events, m *measures) {
	c := &coster{w: w, m: m, reported: map[*ast.Field]bool{}}
	ev.onEnterField(c.enter)
	ev.onLeaveField(c.leave)
	ev.onDone(func() {
		total := c.total
		if w.op.Operation == ast.Mutation {
			total += 10
		}
		if math.IsNaN(total) || total > math.MaxFloat64 {
			total = math.MaxFloat64
		}
		m.cost = total
	})
}}

type costFrame struct {
	instances, weight, args, children float64
	// size is this field's own @listSize size (for its sizedFields).
	size    *int
	sized   []string
	skipped bool
}

type coster struct {
	w        *walker
	m        *measures
	stack    []costFrame
	total    float64
	reported map[*ast.Field]bool
}

func (c *coster) enter(e *fieldEvent) {
	f := costFrame{instances: 1, skipped: e.skipped}
	if e.def == nil || e.def.Type == nil || e.skipped {
		c.stack = append(c.stack, f)
		return
	}
	g := c.w.graph
	named := c.w.schema.Types[e.def.Type.Name()]
	meta := g.Field(e.parent.Name, e.field.Name)
	switch {
	case meta != nil && meta.Cost != nil:
		f.weight = float64(*meta.Cost)
	case named != nil && typeWeight(g, named.Name) != nil:
		f.weight = float64(*typeWeight(g, named.Name))
	case named != nil && (named.Kind == ast.Object || named.Kind == ast.Interface || named.Kind == ast.Union):
		f.weight = 1
	}
	if meta != nil && meta.ListSize != nil {
		f.size = c.listSize(e, meta.ListSize)
		f.sized = meta.ListSize.SizedFields
	}
	if e.def.Type.Elem != nil {
		f.instances = float64(c.w.listSize)
		if f.size != nil {
			f.instances = float64(*f.size)
		}
		if n := len(c.stack); n > 0 {
			if p := c.stack[n-1]; p.size != nil && contains(p.sized, e.field.Name) {
				f.instances = float64(*p.size)
			}
		}
	}
	for _, a := range e.field.Arguments {
		ad := e.def.Arguments.ForName(a.Name)
		if ad == nil {
			continue
		}
		var w *int
		if meta != nil {
			if am := meta.Arguments[a.Name]; am != nil {
				w = am.Cost
			}
		}
		f.args += c.literal(a.Value, ad.Type, w)
	}
	c.stack = append(c.stack, f)
}

func (c *coster) leave(*fieldEvent) {
	n := len(c.stack) - 1
	f := c.stack[n]
	c.stack = c.stack[:n]
	v := 0.0
	if !f.skipped {
		v = f.instances*(f.weight+f.children) + f.args
	}
	if n > 0 {
		c.stack[n-1].children += v
	} else {
		c.total += v
	}
}

// listSize is the size @listSize gives this use of the field, nil if none.
func (c *coster) listSize(e *fieldEvent, ls *schema.ListSize) *int {
	if len(ls.SlicingArguments) > 0 {
		found, max := 0, 0
		for _, p := range ls.SlicingArguments {
			if n, ok := c.slicingValue(e, p); ok {
				found++
				if n > max {
					max = n
				}
			}
		}
		if ls.RequireOneSlicingArgument && found != 1 && !c.reported[e.field] {
			c.reported[e.field] = true
			// The message names only what the client sent: the field.
			err := Error{Code: CodeValidationFailed, Message: fmt.Sprintf("Field %q requires exactly one slicing argument, but %d were given.", e.field.Name, found)}
			if p := e.field.Position; p != nil {
				err.Locations = []Location{{Line: p.Line, Column: p.Column}}
			}
			c.m.errs = append(c.m.errs, err)
		}
		if found > 0 {
			return &max
		}
	}
	return ls.AssumedSize
}

// slicingValue resolves a slicing argument, possibly a dotted path into
// input objects (input.pagination.first), from the literal, the variables,
// the argument's default or the input fields' defaults.
func (c *coster) slicingValue(e *fieldEvent, path string) (int, bool) {
	parts := strings.Split(path, ".")
	ad := e.def.Arguments.ForName(parts[0])
	if ad == nil {
		return 0, false
	}
	var val any
	has := false
	if a := e.field.Arguments.ForName(parts[0]); a != nil && a.Value != nil {
		if a.Value.Kind == ast.Variable {
			val, has = c.w.vars[a.Value.Raw]
		} else {
			val, has = valueOf(a.Value, c.w.vars), true
		}
	}
	if !has && ad.DefaultValue != nil {
		val, has = valueOf(ad.DefaultValue, nil), true
	}
	typ := ad.Type
	for _, p := range parts[1:] {
		obj, ok := val.(map[string]any)
		if !has || !ok || typ == nil {
			return 0, false
		}
		def := c.w.schema.Types[typ.Name()]
		if def == nil {
			return 0, false
		}
		fd := def.Fields.ForName(p)
		if fd == nil {
			return 0, false
		}
		val, has = obj[p]
		if !has && fd.DefaultValue != nil {
			val, has = valueOf(fd.DefaultValue, nil), true
		}
		typ = fd.Type
	}
	if !has || val == nil {
		return 0, false
	}
	return asSize(val)
}

// literal scores an argument or input field value written in the document.
func (c *coster) literal(v *ast.Value, typ *ast.Type, w *int) float64 {
	if v == nil || typ == nil {
		return 0
	}
	named := c.w.schema.Types[typ.Name()]
	if w == nil && named != nil {
		w = typeWeight(c.w.graph, named.Name)
	}
	switch v.Kind {
	case ast.Variable:
		if val, ok := c.w.vars[v.Raw]; ok {
			return c.value(val, typ, w)
		}
		return 0
	case ast.NullValue:
		return 0
	case ast.ObjectValue:
		if named == nil || named.Kind != ast.InputObject {
			return weightOr(w, 0)
		}
		total := weightOr(w, 1)
		for _, ch := range v.Children {
			if fd := named.Fields.ForName(ch.Name); fd != nil {
				total += c.literal(ch.Value, fd.Type, inputFieldWeight(c.w.graph, named.Name, ch.Name))
			}
		}
		return total
	case ast.ListValue:
		elem := typ
		if typ.Elem != nil {
			elem = typ.Elem
		}
		total := weightOr(w, 0)
		for _, ch := range v.Children {
			total += c.literal(ch.Value, elem, w)
		}
		return total
	default:
		return weightOr(w, 0)
	}
}

// value scores a variable's (JSON) value as literal scores a literal.
func (c *coster) value(val any, typ *ast.Type, w *int) float64 {
	if val == nil || typ == nil {
		return 0
	}
	named := c.w.schema.Types[typ.Name()]
	if w == nil && named != nil {
		w = typeWeight(c.w.graph, named.Name)
	}
	switch v := val.(type) {
	case map[string]any:
		if named == nil || named.Kind != ast.InputObject {
			return weightOr(w, 0)
		}
		total := weightOr(w, 1)
		for k, ch := range v {
			if fd := named.Fields.ForName(k); fd != nil {
				total += c.value(ch, fd.Type, inputFieldWeight(c.w.graph, named.Name, k))
			}
		}
		return total
	case []any:
		elem := typ
		if typ.Elem != nil {
			elem = typ.Elem
		}
		total := weightOr(w, 0)
		for _, ch := range v {
			total += c.value(ch, elem, w)
		}
		return total
	default:
		return weightOr(w, 0)
	}
}

func typeWeight(g *schema.Graph, name string) *int {
	if t := g.Type(name); t != nil {
		return t.Cost
	}
	return nil
}

func inputFieldWeight(g *schema.Graph, typeName, field string) *int {
	if t := g.Type(typeName); t != nil {
		if f := t.InputFields[field]; f != nil {
			return f.Cost
		}
	}
	return nil
}

func weightOr(w *int, def float64) float64 {
	if w == nil {
		return def
	}
	return float64(*w)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
