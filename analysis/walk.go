package analysis

import (
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// measures is what one walk of an operation finds. The walk sees no
// variables, so measures depend only on the document, the operation and the
// schema: they are cached with the document and hold no limit (each
// request's tier has its own). What variables change (argument values, cost
// of slicing arguments and of input values) is recorded as templates and a
// cost program, evaluated per request by apply.
type measures struct {
	depth, height, aliases, rootFields, directives int
	introspection                                  bool
	// fields: Arguments is final for fields whose arguments name no
	// variable; args fills in the others per request.
	fields []FieldUse
	args   []argTemplate
	cost   costProgram
	// errs are errors found by the walk itself (not limits), in walk order;
	// checks are the requireOneSlicingArgument errors that depend on
	// variables, to be inserted among them.
	errs   []Error
	checks []slicingCheck
	// truncated: the walk passed its visit budget; the height is then a lower
	// bound and the operation is refused as too high.
	truncated bool
	// fixed is the outcome when no part depends on variables: computed once
	// and shared by every request.
	fixed *outcome
}

// fieldEvent is one field of the operation as the walk reaches it, named
// fragments expanded at each spread.
type fieldEvent struct {
	field *ast.Field
	def   *ast.FieldDefinition // nil only for an invalid document
	// parent is the type the field is selected on.
	parent *ast.Definition
	// depth is 1 for root fields; fragments add no level.
	depth int
	// path is the walk's response path, valid during the event only.
	path []any
	// firstKey: first field with this response key in its literal selection
	// set (height and root fields count distinct keys per selection set).
	firstKey bool
	// dupLeaf: a leaf repeating a response key of its selection set. The walk
	// reports it (aliases and cost count it) but spends no budget on it:
	// validation guarantees it is the same field with the same arguments.
	dupLeaf bool
	// skipped: a literal @skip(if: true) / @include(if: false) on the field
	// or an enclosing fragment.
	skipped bool
}

// events are the observers registered by the rules for one walk.
type events struct {
	enter     []func(*fieldEvent)
	leave     []func(*fieldEvent)
	directive []func(*ast.Directive)
}

func (e *events) onEnterField(f func(*fieldEvent))   { e.enter = append(e.enter, f) }
func (e *events) onLeaveField(f func(*fieldEvent))   { e.leave = append(e.leave, f) }
func (e *events) onDirective(f func(*ast.Directive)) { e.directive = append(e.directive, f) }

// rule is one measure of the operation; each lives in its own file and
// registers observers on the shared walk.
type rule struct {
	name string
	init func(w *walker, ev *events, m *measures)
}

// graphQLRules is the explicit rule set of every analysis.
var graphQLRules = []rule{
	depthRule,
	heightRule,
	aliasesRule,
	rootFieldsRule,
	directivesRule,
	costRule,
	fieldsRule,
	introspectionRule,
}

// walker walks one operation once, expanding fragments at each spread.
type walker struct {
	graph    *schema.Graph
	schema   *ast.Schema
	doc      *ast.QueryDocument
	op       *ast.OperationDefinition
	listSize int

	ev       events
	m        *measures
	budget   int
	visits   int
	path     []any
	active   map[string]bool // fragments being expanded: a cycle never loops
	fragByNm map[string]*ast.FragmentDefinition
}

// walk measures op with rules, without its variables. budget caps the fields
// visited (leaf duplicates excluded): every visited field beyond its
// selection set's first key has a selection set of its own that adds height,
// so visits <= 2 x height and a walk over budget is an operation over
// budget/2 high; fragment fan-out therefore costs at most budget visits,
// however many spreads nest.
func walk(g *schema.Graph, doc *ast.QueryDocument, op *ast.OperationDefinition, listSize, budget int, rules []rule) *measures {
	w := &walker{
		graph:    g,
		schema:   g.Schema(),
		doc:      doc,
		op:       op,
		listSize: listSize,
		m:        &measures{},
		budget:   budget,
		active:   map[string]bool{},
		fragByNm: make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
	}
	for _, f := range doc.Fragments {
		if _, dup := w.fragByNm[f.Name]; !dup {
			w.fragByNm[f.Name] = f
		}
	}
	for _, r := range rules {
		r.init(w, &w.ev, w.m)
	}
	w.directives(op.Directives)
	for _, v := range op.VariableDefinitions {
		w.directives(v.Directives)
	}
	if root := w.rootType(); root != nil {
		w.selectionSet(op.SelectionSet, root, 1, false)
	}
	if !w.m.dynamic() {
		w.m.fixed = w.m.apply(scorer{graph: g, schema: w.schema})
	}
	return w.m
}

func (w *walker) rootType() *ast.Definition { return rootType(w.schema, w.op) }

func rootType(s *ast.Schema, op *ast.OperationDefinition) *ast.Definition {
	switch op.Operation {
	case ast.Mutation:
		return s.Mutation
	case ast.Subscription:
		return s.Subscription
	default:
		return s.Query
	}
}

func (w *walker) directives(ds ast.DirectiveList) {
	for _, d := range ds {
		for _, f := range w.ev.directive {
			f(d)
		}
	}
}

func (w *walker) selectionSet(set ast.SelectionSet, parent *ast.Definition, depth int, skipped bool) {
	var seen map[string]bool
	if len(set) > 1 {
		seen = make(map[string]bool, len(set))
	}
	for _, sel := range set {
		if w.m.truncated {
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			key := responseKey(s)
			first := !seen[key]
			if seen != nil {
				seen[key] = true
			}
			dupLeaf := !first && len(s.SelectionSet) == 0
			if !dupLeaf {
				w.visits++
				if w.visits > w.budget {
					w.m.truncated = true
					return
				}
			}
			w.field(s, parent, depth, first, dupLeaf, skipped)
		case *ast.InlineFragment:
			w.directives(s.Directives)
			t := parent
			if s.TypeCondition != "" {
				t = w.schema.Types[s.TypeCondition]
			}
			if t != nil {
				w.selectionSet(s.SelectionSet, t, depth, skipped || literallySkipped(s.Directives))
			}
		case *ast.FragmentSpread:
			w.directives(s.Directives)
			f := w.fragByNm[s.Name]
			if f == nil || w.active[s.Name] {
				continue
			}
			t := w.schema.Types[f.TypeCondition]
			if t == nil {
				continue
			}
			w.directives(f.Directives)
			w.active[s.Name] = true
			w.selectionSet(f.SelectionSet, t, depth, skipped || literallySkipped(s.Directives) || literallySkipped(f.Directives))
			delete(w.active, s.Name)
		}
	}
}

func (w *walker) field(f *ast.Field, parent *ast.Definition, depth int, first, dupLeaf, skipped bool) {
	w.directives(f.Directives)
	def := f.Definition
	if def == nil {
		def = fieldDefinition(w.schema, parent, f.Name)
	}
	w.path = append(w.path, responseKey(f))
	e := &fieldEvent{
		field:    f,
		def:      def,
		parent:   parent,
		depth:    depth,
		path:     w.path,
		firstKey: first,
		dupLeaf:  dupLeaf,
		skipped:  skipped || literallySkipped(f.Directives),
	}
	for _, fn := range w.ev.enter {
		fn(e)
	}
	if len(f.SelectionSet) > 0 && def != nil && def.Type != nil {
		if t := w.schema.Types[def.Type.Name()]; t != nil {
			w.selectionSet(f.SelectionSet, t, depth+1, e.skipped)
		}
	}
	for _, fn := range w.ev.leave {
		fn(e)
	}
	w.path = w.path[:len(w.path)-1]
}

// fieldDefinition finds a field on a type, meta fields included.
func fieldDefinition(s *ast.Schema, parent *ast.Definition, name string) *ast.FieldDefinition {
	if parent == nil {
		return nil
	}
	if d := parent.Fields.ForName(name); d != nil {
		return d
	}
	switch name {
	case "__typename":
		return &ast.FieldDefinition{Name: name, Type: ast.NonNullNamedType("String", nil)}
	case "__schema":
		if parent == s.Query {
			return &ast.FieldDefinition{Name: name, Type: ast.NonNullNamedType("__Schema", nil)}
		}
	case "__type":
		if parent == s.Query {
			return &ast.FieldDefinition{Name: name, Type: ast.NamedType("__Type", nil)}
		}
	}
	return nil
}

// literallySkipped applies @skip / @include whose condition is a literal
// ; a variable condition counts the field, an upper
// bound.
func literallySkipped(ds ast.DirectiveList) bool {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		a := d.Arguments.ForName("if")
		if a == nil || a.Value == nil || a.Value.Kind != ast.BooleanValue {
			continue
		}
		if (d.Name == "skip") == (a.Value.Raw == "true") {
			return true
		}
	}
	return false
}
