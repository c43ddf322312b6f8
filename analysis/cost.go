package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/portcullis-gw/portcullis/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// costRule is Apollo Router's static cost estimate of IBM @cost / @listSize
// , weights read from schema metadata:
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
//
// The walk sees no variables, so it cannot finish the sum: it records a cost
// program (one node per field, weights and variable-free sizes and argument
// costs resolved) that costProgram.eval runs against each request's
// variables, with the arithmetic of the formula above in walk order.
var costRule = rule{name: "cost", init: func(w *walker, ev *events, m *measures) {
	c := &coster{w: w, m: m, sc: scorer{graph: w.graph, schema: w.schema}, reported: map[*ast.Field]bool{}}
	m.cost.nodes = make([]costNode, 0, 64)
	m.cost.listSize = float64(w.listSize)
	m.cost.mutation = w.op.Operation == ast.Mutation
	ev.onEnterField(c.enter)
	ev.onLeaveField(c.leave)
}}

// costProgram is the estimate of one operation with its variables left
// open: nodes in walk order, each followed by its subtree.
type costProgram struct {
	nodes    []costNode
	listSize float64
	mutation bool
}

type costNode struct {
	// end is the index after the node's subtree.
	end    int
	weight float64
	// args is the arguments' cost when terms is nil; terms are all the
	// arguments, in order, when one of them names a variable.
	args  float64
	terms []argCost
	list  bool
	// sizedByParent: the enclosing field has @listSize with this field
	// among its sizedFields.
	sizedByParent bool
	// size is the field's own @listSize size when no slicing argument names
	// a variable; slicing resolves it per request otherwise.
	size    *int
	slicing *slicing
	// fixed: nothing in the subtree names a variable; children is then the
	// sum of the selected fields.
	fixed    bool
	children float64
}

// value is the cost of a node with its children's sum given, under an
// enclosing field of @listSize size parentSize.
func (n *costNode) value(parentSize *int, listSize float64) float64 {
	return n.valueWith(n.size, parentSize, n.children, n.args, listSize)
}

func (n *costNode) valueWith(size, parentSize *int, children, args, listSize float64) float64 {
	instances := 1.0
	if n.list {
		instances = listSize
		if size != nil {
			instances = float64(*size)
		}
		if n.sizedByParent && parentSize != nil {
			instances = float64(*parentSize)
		}
	}
	return instances*(n.weight+children) + args
}

// argCost is one argument's cost: fixed, or its value scored per request.
type argCost struct {
	fixed float64
	value *ast.Value // nil when fixed
	typ   *ast.Type
	w     *int
}

// slicing is a @listSize use whose slicing arguments name variables.
type slicing struct {
	field *ast.Field
	def   *ast.FieldDefinition
	ls    *schema.ListSize
	// check indexes measures.checks when this use is the one that reports a
	// wrong number of slicing arguments, else -1.
	check int
}

// slicingCheck is a requireOneSlicingArgument error decided per request,
// placed before measures.errs[at].
type slicingCheck struct {
	at    int
	field *ast.Field
}

type coster struct {
	w  *walker
	m  *measures
	sc scorer // without variables
	// open are the nodes entered and not left, with their sizedFields.
	open     []int
	sized    [][]string
	terms    []argCost // scratch
	reported map[*ast.Field]bool
}

func (c *coster) enter(e *fieldEvent) {
	p := &c.m.cost
	var sizedByParent bool
	if n := len(c.sized); n > 0 {
		sizedByParent = slices.Contains(c.sized[n-1], e.field.Name)
	}
	c.open = append(c.open, len(p.nodes))
	c.sized = append(c.sized, nil)
	p.nodes = append(p.nodes, costNode{})
	if e.def == nil || e.def.Type == nil || e.skipped {
		// Costs nothing, and nothing below it costs: a skipped field's
		// selections are skipped too, an unknown field has none.
		return
	}
	f := &p.nodes[len(p.nodes)-1]
	f.sizedByParent = sizedByParent
	g := c.w.graph
	named := c.w.schema.Types[e.def.Type.Name()]
	meta := g.Field(e.parent.Name, e.field.Name)
	f.weight = fieldWeight(g, meta, named)
	if meta != nil && meta.ListSize != nil {
		c.listSize(e, meta.ListSize, f)
		c.sized[len(c.sized)-1] = meta.ListSize.SizedFields
	}
	f.list = e.def.Type.Elem != nil
	c.terms = c.terms[:0]
	dynamic := false
	for _, a := range e.field.Arguments {
		ad := e.def.Arguments.ForName(a.Name)
		if ad == nil {
			continue
		}
		w := argWeight(meta, a.Name)
		if hasVariable(a.Value) {
			dynamic = true
			c.terms = append(c.terms, argCost{value: a.Value, typ: ad.Type, w: w})
			continue
		}
		c.terms = append(c.terms, argCost{fixed: c.sc.literal(a.Value, ad.Type, w)})
	}
	if dynamic {
		f.terms = append([]argCost(nil), c.terms...)
		return
	}
	for _, t := range c.terms {
		f.args += t.fixed
	}
}

func (c *coster) leave(*fieldEvent) {
	n := len(c.open) - 1
	p := &c.m.cost
	i := c.open[n]
	c.open, c.sized = c.open[:n], c.sized[:n]
	f := &p.nodes[i]
	f.end = len(p.nodes)
	if f.slicing != nil || f.terms != nil {
		return
	}
	// A subtree that names no variable is summed now, in the order eval
	// would sum it, so eval only walks the parts that do.
	sum := 0.0
	for j := i + 1; j < f.end; j = p.nodes[j].end {
		ch := &p.nodes[j]
		if !ch.fixed {
			return
		}
		sum += ch.value(f.size, p.listSize)
	}
	f.fixed, f.children = true, sum
}

// listSize records the size @listSize gives this use of the field: resolved
// now when no slicing argument names a variable, per request otherwise.
func (c *coster) listSize(e *fieldEvent, ls *schema.ListSize, f *costNode) {
	report := len(ls.SlicingArguments) > 0 && ls.RequireOneSlicingArgument && !c.reported[e.field]
	// Every use of a field node has the same arguments: the first reports.
	c.reported[e.field] = true
	if slicesVariables(e.field, ls) {
		s := &slicing{field: e.field, def: e.def, ls: ls, check: -1}
		if report {
			s.check = len(c.m.checks)
			c.m.checks = append(c.m.checks, slicingCheck{at: len(c.m.errs), field: e.field})
		}
		f.slicing = s
		return
	}
	size, found := c.sc.listSize(e.field, e.def, ls)
	f.size = size
	if report && found != 1 {
		c.m.errs = append(c.m.errs, slicingError(e.field, found))
	}
}

// slicesVariables reports whether a slicing argument of f names a variable.
func slicesVariables(f *ast.Field, ls *schema.ListSize) bool {
	for _, p := range ls.SlicingArguments {
		root, _, _ := strings.Cut(p, ".")
		if a := f.Arguments.ForName(root); a != nil && hasVariable(a.Value) {
			return true
		}
	}
	return false
}

func slicingError(f *ast.Field, found int) Error {
	// The message names only what the client sent: the field.
	err := Error{Code: CodeValidationFailed, Message: fmt.Sprintf("Field %q requires exactly one slicing argument, but %d were given.", f.Name, found)}
	if p := f.Position; p != nil {
		err.Locations = []Location{{Line: p.Line, Column: p.Column}}
	}
	return err
}

// eval runs the program against one request's variables. found receives,
// per slicing check, the number of slicing arguments given.
func (p *costProgram) eval(sc scorer, found []int) float64 {
	total := 0.0
	for i := 0; i < len(p.nodes); {
		v, next := p.node(i, nil, sc, found)
		total += v
		i = next
	}
	if p.mutation {
		total += 10
	}
	if math.IsNaN(total) || total > math.MaxFloat64 {
		total = math.MaxFloat64
	}
	return total
}

// node is the cost of nodes[i] with its subtree, and the index after it.
// parentSize is the enclosing field's @listSize size.
func (p *costProgram) node(i int, parentSize *int, sc scorer, found []int) (float64, int) {
	n := &p.nodes[i]
	if n.fixed {
		return n.value(parentSize, p.listSize), n.end
	}
	size := n.size
	if s := n.slicing; s != nil {
		var k int
		size, k = sc.listSize(s.field, s.def, s.ls)
		if s.check >= 0 {
			found[s.check] = k
		}
	}
	children := 0.0
	for j := i + 1; j < n.end; {
		v, next := p.node(j, size, sc, found)
		children += v
		j = next
	}
	args := n.args
	if n.terms != nil {
		args = 0
		for _, t := range n.terms {
			if t.value == nil {
				args += t.fixed
			} else {
				args += sc.literal(t.value, t.typ, t.w)
			}
		}
	}
	return n.valueWith(size, parentSize, children, args, p.listSize), n.end
}

// scorer resolves sizes and scores argument values with one request's
// variables (none at walk time, where only variable-free values are given).
type scorer struct {
	graph  *schema.Graph
	schema *ast.Schema
	vars   map[string]any
}

// listSize is the size @listSize gives this use of the field, nil if none,
// and how many slicing arguments were found.
func (c scorer) listSize(f *ast.Field, def *ast.FieldDefinition, ls *schema.ListSize) (*int, int) {
	found := 0
	if len(ls.SlicingArguments) > 0 {
		max, sized := 0, false
		for _, p := range ls.SlicingArguments {
			if n, ok := c.slicingValue(f, def, p); ok {
				found++
				// A negative value is given but is no size: some back ends
				// read it as "all", so it falls back like a missing one.
				if n >= 0 && (!sized || n > max) {
					max, sized = n, true
				}
			}
		}
		if sized {
			return &max, found
		}
	}
	return ls.AssumedSize, found
}

// slicingValue resolves a slicing argument, possibly a dotted path into
// input objects (input.pagination.first), from the literal, the variables,
// the argument's default or the input fields' defaults.
func (c scorer) slicingValue(f *ast.Field, def *ast.FieldDefinition, path string) (int, bool) {
	root, rest, dotted := strings.Cut(path, ".")
	ad := def.Arguments.ForName(root)
	if ad == nil {
		return 0, false
	}
	var val any
	has := false
	if a := f.Arguments.ForName(root); a != nil && a.Value != nil {
		if a.Value.Kind == ast.Variable {
			val, has = c.vars[a.Value.Raw]
		} else {
			val, has = valueOf(a.Value, c.vars), true
		}
	}
	// A null slicing argument, like an omitted one, falls back to the
	// argument's default, then to assumedSize, then to cost.list_size: the
	// upstream may read null as "no limit", so it must never count as 0.
	if (!has || val == nil) && ad.DefaultValue != nil {
		val, has = valueOf(ad.DefaultValue, nil), true
	}
	typ := ad.Type
	for dotted {
		var p string
		p, rest, dotted = strings.Cut(rest, ".")
		obj, ok := val.(map[string]any)
		if !has || !ok || typ == nil {
			return 0, false
		}
		def := c.schema.Types[typ.Name()]
		if def == nil {
			return 0, false
		}
		fd := def.Fields.ForName(p)
		if fd == nil {
			return 0, false
		}
		val, has = obj[p]
		if (!has || val == nil) && fd.DefaultValue != nil {
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
func (c scorer) literal(v *ast.Value, typ *ast.Type, w *int) float64 {
	if v == nil || typ == nil {
		return 0
	}
	named := c.schema.Types[typ.Name()]
	if w == nil && named != nil {
		w = typeWeight(c.graph, named.Name)
	}
	switch v.Kind {
	case ast.Variable:
		if val, ok := c.vars[v.Raw]; ok {
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
				total += c.literal(ch.Value, fd.Type, inputFieldWeight(c.graph, named.Name, ch.Name))
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
func (c scorer) value(val any, typ *ast.Type, w *int) float64 {
	if val == nil || typ == nil {
		return 0
	}
	named := c.schema.Types[typ.Name()]
	if w == nil && named != nil {
		w = typeWeight(c.graph, named.Name)
	}
	switch v := val.(type) {
	case map[string]any:
		if named == nil || named.Kind != ast.InputObject {
			return weightOr(w, 0)
		}
		total := weightOr(w, 1)
		for k, ch := range v {
			if fd := named.Fields.ForName(k); fd != nil {
				total += c.value(ch, fd.Type, inputFieldWeight(c.graph, named.Name, k))
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

// fieldWeight is a field's own weight: its @cost, else its type's @cost,
// else 1 for objects, interfaces and unions and 0 for scalars and enums.
func fieldWeight(g *schema.Graph, meta *schema.FieldMeta, named *ast.Definition) float64 {
	switch {
	case meta != nil && meta.Cost != nil:
		return float64(*meta.Cost)
	case named == nil:
		return 0
	case typeWeight(g, named.Name) != nil:
		return float64(*typeWeight(g, named.Name))
	case named.IsCompositeType():
		return 1
	}
	return 0
}

// argWeight is the @cost of a field's argument, nil when not annotated.
func argWeight(meta *schema.FieldMeta, arg string) *int {
	if meta == nil {
		return nil
	}
	if am := meta.Arguments[arg]; am != nil {
		return am.Cost
	}
	return nil
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
