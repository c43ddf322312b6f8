package authz

import (
	"bytes"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/portcullis-gw/portcullis/analysis"
)

// typenameAlias is added, as `_portcullis_typename: __typename`, to the
// selection of an abstract-typed field when a field selected through a
// type condition was removed below it: MergeFiltered needs each object's
// runtime type to null the removed field only on the objects that would
// have had it, and strips the alias again.
const typenameAlias = "_portcullis_typename"

// maxPathVisits bounds the path walk, which expands fragments at each
// spread like the analysis walk does; a document over it is refused.
const maxPathVisits = 4 * analysis.DefaultWalkBudget

// nullTarget is a response position MergeFiltered sets to null.
type nullTarget struct {
	path []any
	// types[i] is the schema type of the field at path[i], for null
	// propagation and list traversal.
	types []*ast.Type
	// parent is the type the removed field was selected on; check says the
	// object's runtime type must be verified against it.
	parent string
	check  bool
}

type rewriter struct {
	a           *GraphQLAuthorizer
	s           *ast.Schema
	denied      map[*ast.Field]bool
	deniedTypes map[string]bool
	emptied     map[*ast.Field]bool
	injected    map[*ast.Field]bool
	fragDefs    map[string]*ast.FragmentDefinition
	frags       map[string]*fragResult
	active      map[string]bool

	// path walk
	errs     []Error
	errSeen  map[string]bool
	nulls    []nullTarget
	names    [][]any
	visits   int
	overflow bool
}

type fragResult struct {
	def *ast.FragmentDefinition // nil: removed entirely
	// removedOn: the types the fields removed at the fragment's top level
	// were selected on.
	removedOn []*ast.Definition
}

// filter computes errors, the rewritten document, its variables and the
// null targets of a decision with something denied.
func (a *GraphQLAuthorizer) filter(rep *analysis.Report, d *Decision, denied map[*ast.Field]bool, deniedTypes map[string]bool) {
	if denied == nil {
		denied = map[*ast.Field]bool{}
	}
	r := &rewriter{a: a, s: a.schema, denied: denied, deniedTypes: deniedTypes,
		emptied: map[*ast.Field]bool{}, injected: map[*ast.Field]bool{},
		fragDefs: map[string]*ast.FragmentDefinition{}, frags: map[string]*fragResult{},
		active: map[string]bool{}, errSeen: map[string]bool{}}
	for _, f := range rep.Document.Fragments {
		if _, dup := r.fragDefs[f.Name]; !dup {
			r.fragDefs[f.Name] = f
		}
	}
	op := rep.Operation
	root := a.rootType(op)
	if root == nil {
		d.Allowed = false
		d.Errors = []Error{{Message: unauthorizedMessage, Code: CodeUnauthorized}}
		return
	}
	set, _, _ := r.rewriteSet(op.SelectionSet, root)

	clear(r.active)
	r.walkPaths(op.SelectionSet, root, root, nil, nil)
	if r.overflow {
		// Too large to report path by path: refuse it whole, whatever the mode.
		d.Errors = []Error{{Message: unauthorizedMessage, Code: CodeUnauthorized}}
		d.Empty = true
		return
	}
	d.Errors = r.errs
	if len(set) == 0 {
		d.Empty = true
		return
	}
	d.nulls, d.typenames = r.nulls, r.names

	newOp := *op
	newOp.SelectionSet = set
	doc := &ast.QueryDocument{Operations: ast.OperationList{&newOp}}
	used := map[string]bool{}
	usedFrags := map[string]bool{}
	collectVars(&newOp, used, usedFrags, r)
	for _, f := range rep.Document.Fragments {
		if usedFrags[f.Name] {
			if res := r.frags[f.Name]; res != nil && res.def != nil {
				doc.Fragments = append(doc.Fragments, res.def)
			}
		}
	}
	newOp.VariableDefinitions = nil
	vars := map[string]any{}
	for _, v := range op.VariableDefinitions {
		if used[v.Variable] {
			newOp.VariableDefinitions = append(newOp.VariableDefinitions, v)
			if val, ok := rep.Variables[v.Variable]; ok {
				vars[v.Variable] = val
			}
		}
	}
	var buf bytes.Buffer
	formatter.NewFormatter(&buf).FormatQueryDocument(doc)
	d.Document = buf.String()
	d.Variables = vars
}

func (a *GraphQLAuthorizer) rootType(op *ast.OperationDefinition) *ast.Definition {
	switch op.Operation {
	case ast.Mutation:
		return a.schema.Mutation
	case ast.Subscription:
		return a.schema.Subscription
	}
	return a.schema.Query
}

func responseKey(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

func (r *rewriter) fieldDef(typ *ast.Definition, f *ast.Field) *ast.FieldDefinition {
	if f.Definition != nil {
		return f.Definition
	}
	if typ == nil {
		return nil
	}
	return typ.Fields.ForName(f.Name)
}

func abstract(d *ast.Definition) bool {
	return d != nil && d.IsAbstractType()
}

// rewriteSet returns set without its unauthorized selections. changed
// reports a new slice; removedOn lists the types that fields removed at
// this object level were selected on: a type narrower than the enclosing
// field's makes it need the typename alias.
func (r *rewriter) rewriteSet(set ast.SelectionSet, typ *ast.Definition) (out ast.SelectionSet, changed bool, removedOn []*ast.Definition) {
	out = make(ast.SelectionSet, 0, len(set))
	var deniedKeys map[string]bool
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				out = append(out, s)
				continue
			}
			key := responseKey(s)
			// A repeated leaf is not in the report (analysis counts it once);
			// validation makes it the same field, so it shares the decision.
			if r.denied[s] || len(s.SelectionSet) == 0 && deniedKeys[key] {
				r.denied[s] = true
				if deniedKeys == nil {
					deniedKeys = map[string]bool{}
				}
				deniedKeys[key] = true
				changed = true
				removedOn = append(removedOn, typ)
				continue
			}
			if len(s.SelectionSet) == 0 {
				out = append(out, s)
				continue
			}
			var ret *ast.Definition
			if fd := r.fieldDef(typ, s); fd != nil && fd.Type != nil {
				ret = r.s.Types[fd.Type.Name()]
			}
			sub, ch, rem := r.rewriteSet(s.SelectionSet, ret)
			if len(sub) == 0 {
				r.emptied[s] = true
				changed = true
				removedOn = append(removedOn, typ)
				continue
			}
			narrowed := false
			for _, d := range rem {
				narrowed = narrowed || d != ret
			}
			if ch || narrowed {
				nf := *s
				if narrowed {
					sub = append(sub, &ast.Field{Alias: typenameAlias, Name: "__typename"})
					r.injected[s] = true
				}
				nf.SelectionSet = sub
				out = append(out, &nf)
				changed = true
				continue
			}
			out = append(out, s)
		case *ast.InlineFragment:
			if r.deniedTypes[s.TypeCondition] {
				changed = true
				continue
			}
			t := typ
			if s.TypeCondition != "" {
				t = r.s.Types[s.TypeCondition]
			}
			sub, ch, rem := r.rewriteSet(s.SelectionSet, t)
			removedOn = append(removedOn, rem...)
			if len(sub) == 0 {
				changed = true
				continue
			}
			if ch {
				nf := *s
				nf.SelectionSet = sub
				out = append(out, &nf)
				changed = true
				continue
			}
			out = append(out, s)
		case *ast.FragmentSpread:
			def := r.fragDefs[s.Name]
			if def == nil || r.deniedTypes[def.TypeCondition] {
				changed = true
				continue
			}
			res := r.fragment(def)
			removedOn = append(removedOn, res.removedOn...)
			if res.def == nil {
				changed = true
				continue
			}
			out = append(out, s)
		}
	}
	if !changed {
		return set, false, removedOn
	}
	return out, true, removedOn
}

// fragment rewrites a fragment definition once: decisions belong to nodes,
// so they are the same at every spread.
func (r *rewriter) fragment(def *ast.FragmentDefinition) *fragResult {
	if res := r.frags[def.Name]; res != nil {
		return res
	}
	if r.active[def.Name] {
		return &fragResult{}
	}
	r.active[def.Name] = true
	sub, ch, rem := r.rewriteSet(def.SelectionSet, r.s.Types[def.TypeCondition])
	delete(r.active, def.Name)
	res := &fragResult{removedOn: rem}
	switch {
	case len(sub) == 0:
	case ch:
		nd := *def
		nd.SelectionSet = sub
		res.def = &nd
	default:
		res.def = def
	}
	r.frags[def.Name] = res
	return res
}

func pathKey(p []any) string {
	var b strings.Builder
	for _, e := range p {
		s, _ := e.(string)
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.String()
}

func (r *rewriter) addError(p []any) {
	k := pathKey(p)
	if r.errSeen[k] {
		return
	}
	r.errSeen[k] = true
	var cp []any
	if len(p) > 0 {
		cp = append([]any(nil), p...)
	}
	r.errs = append(r.errs, Error{Message: unauthorizedMessage, Path: cp, Code: CodeUnauthorized})
}

// walkPaths walks the original operation, fragments expanded at each
// spread, to report each removed response path and where nulls go.
// static is the type of the enclosing object's field, typ the type
// selections are made on (narrowed by type conditions).
func (r *rewriter) walkPaths(set ast.SelectionSet, typ, static *ast.Definition, path []any, types []*ast.Type) {
	for _, sel := range set {
		if r.overflow {
			return
		}
		r.visits++
		if r.visits > maxPathVisits {
			r.overflow = true
			return
		}
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				continue
			}
			p := append(path[:len(path):len(path)], responseKey(s))
			fd := r.fieldDef(typ, s)
			if fd == nil || fd.Type == nil {
				continue
			}
			ts := append(types[:len(types):len(types)], fd.Type)
			null := func() {
				r.nulls = append(r.nulls, nullTarget{path: p, types: ts, parent: typ.Name,
					check: abstract(static) && typ != static})
			}
			if r.denied[s] {
				r.addError(p)
				null()
				continue
			}
			if r.emptied[s] {
				null()
			} else if r.injected[s] {
				r.names = append(r.names, p)
			}
			if len(s.SelectionSet) > 0 {
				ret := r.s.Types[fd.Type.Name()]
				r.walkPaths(s.SelectionSet, ret, ret, p, ts)
			}
		case *ast.InlineFragment:
			if r.deniedTypes[s.TypeCondition] {
				r.addError(path)
				continue
			}
			t := typ
			if s.TypeCondition != "" {
				t = r.s.Types[s.TypeCondition]
			}
			if t != nil {
				r.walkPaths(s.SelectionSet, t, static, path, types)
			}
		case *ast.FragmentSpread:
			def := r.fragDefs[s.Name]
			if def == nil || r.active[s.Name] {
				continue
			}
			if r.deniedTypes[def.TypeCondition] {
				r.addError(path)
				continue
			}
			t := r.s.Types[def.TypeCondition]
			if t == nil {
				continue
			}
			r.active[s.Name] = true
			r.walkPaths(def.SelectionSet, t, static, path, types)
			delete(r.active, s.Name)
		}
	}
}

// collectVars lists the variables and fragments the rewritten operation
// still uses, so unused variable definitions (an upstream validation
// error) and their values are dropped.
func collectVars(op *ast.OperationDefinition, vars, frags map[string]bool, r *rewriter) {
	dirs := func(ds ast.DirectiveList) {
		for _, d := range ds {
			for _, a := range d.Arguments {
				valueVars(a.Value, vars)
			}
		}
	}
	var set func(ast.SelectionSet)
	set = func(ss ast.SelectionSet) {
		for _, sel := range ss {
			switch s := sel.(type) {
			case *ast.Field:
				for _, a := range s.Arguments {
					valueVars(a.Value, vars)
				}
				dirs(s.Directives)
				set(s.SelectionSet)
			case *ast.InlineFragment:
				dirs(s.Directives)
				set(s.SelectionSet)
			case *ast.FragmentSpread:
				dirs(s.Directives)
				if frags[s.Name] {
					continue
				}
				frags[s.Name] = true
				if res := r.frags[s.Name]; res != nil && res.def != nil {
					dirs(res.def.Directives)
					set(res.def.SelectionSet)
				}
			}
		}
	}
	dirs(op.Directives)
	set(op.SelectionSet)
}

func valueVars(v *ast.Value, vars map[string]bool) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable {
		vars[v.Raw] = true
		return
	}
	for _, c := range v.Children {
		valueVars(c.Value, vars)
	}
}
