package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/portcullis-gw/portcullis/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// maxActualVisits caps the fields one measure of a response visits. A
// response too large to measure earns no refund: the estimate stands.
const maxActualVisits = 1 << 22

// errTooLarge: the response passed maxActualVisits.
var errTooLarge = errors.New("response too large to measure")

// ActualCost measures what the operation of rep cost once the upstream has
// answered: the estimate of cost.go with the same weights
// (@cost, object 1, scalar 0, arguments, mutation +10, literal @skip/@include),
// but every list counted by the elements data actually holds instead of its
// slicing argument, assumed size or cost.list_size. data is the decoded JSON
// "data" member of the upstream's answer (map[string]any, []any, scalars;
// nil when the answer has no data).
//
//	list field   = arguments + the sum over its elements (a list of lists is
//	               flattened, as the estimate counts it as one list); an empty
//	               or null list costs its arguments only, as the estimate does
//	               for a size of 0
//	object       = weight + its selected fields
//	null object,
//	leaf value   = weight (+ arguments)
//	missing key  = as null: the field's own weight and arguments, nothing
//	               for its selections (fields filtered out by authorization,
//	               fields lost to errors)
//
// Response keys are aliases. A fragment applies to an object when its type
// condition is the type it is selected on, or the object's __typename is the
// condition or one of its possible types. Without a usable __typename (not
// selected, or its response key shared with another field) every fragment
// is counted, an upper bound: leaving out __typename never earns a refund.
// Objects of a concrete static type need no __typename.
//
// Work the upstream did but did not return (a subtree nulled by an error
// that propagated) is not charged: clients pay for what they got. Measure
// with the analyzer that produced rep, so the weights are the estimate's.
//
// Refund rule (the limiter applies it, see Refund): after the upstream
// answers, the client gets back refund = floor(max(0, estimate - actual)),
// never more than it was charged. A response larger than the estimate
// (more elements than the assumed size) costs nothing extra: the charge made
// up front is final. A batch compares the sums of its entries' estimates and
// actual costs. An error (a report that did not pass, a response whose shape
// contradicts the operation, one too large to measure) means no refund.
func (a *Analyzer) ActualCost(rep *Report, data any) (float64, error) {
	if rep == nil || rep.Document == nil || rep.Operation == nil || !rep.OK() {
		return 0, errors.New("measuring actual cost: the report holds no accepted operation")
	}
	m := &actualMeter{
		c: scorer{graph: a.graph, schema: a.graph.Schema(), vars: rep.Variables},
	}
	m.graph, m.schema, m.doc = a.graph, m.c.schema, rep.Document
	root := rootType(m.schema, rep.Operation)
	if root == nil {
		return 0, fmt.Errorf("measuring actual cost: the schema has no %s type", rep.Operation.Operation)
	}
	var obj map[string]any
	switch d := data.(type) {
	case nil:
	case map[string]any:
		obj = d
	default:
		return 0, fmt.Errorf("measuring actual cost: data is %s, not an object", kindOf(data))
	}
	total, err := m.selectionSet(rep.Operation.SelectionSet, root, obj, root)
	if err != nil {
		return 0, fmt.Errorf("measuring actual cost: %w", err)
	}
	if rep.Operation.Operation == ast.Mutation {
		total += 10
	}
	if math.IsNaN(total) || total > math.MaxFloat64 {
		total = math.MaxFloat64
	}
	return total, nil
}

// Refund is the number of units to give back for an operation charged
// charged units (the ceiling of its estimate) whose estimate and actual cost
// are given: floor(max(0, estimate - actual)), at most charged. It is never
// negative: a response larger than its estimate is not charged again.
func Refund(charged int, estimate, actual float64) int {
	d := estimate - actual
	if charged <= 0 || !(d >= 1) { // also refuses NaN
		return 0
	}
	if d >= float64(charged) {
		return charged
	}
	return int(math.Floor(d))
}

type actualMeter struct {
	c      scorer // argument weights, exactly as the estimate scores them
	graph  *schema.Graph
	schema *ast.Schema
	doc    *ast.QueryDocument
	visits int
	active []string // fragments being expanded: a cycle never loops
	plans  map[fieldUse]*fieldPlan
}

// pathError locates a shape error in the response, the path built while
// the recursion unwinds (only on error).
type pathError struct {
	path []any
	msg  string
}

func (e *pathError) Error() string {
	p := ""
	for i, s := range e.path {
		if i > 0 {
			p += "."
		}
		p += fmt.Sprint(s)
	}
	return "at " + p + ": " + e.msg
}

func under(key any, err error) error {
	var pe *pathError
	if errors.As(err, &pe) {
		pe.path = append([]any{key}, pe.path...)
	}
	return err
}

// selectionSet costs set applied to obj (nil: no data), selected on parent;
// rt is the object's runtime type, nil when unknown.
func (m *actualMeter) selectionSet(set ast.SelectionSet, parent *ast.Definition, obj map[string]any, rt *ast.Definition) (float64, error) {
	total := 0.0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			v, err := m.field(s, parent, obj)
			if err != nil {
				return 0, err
			}
			total += v
		case *ast.InlineFragment:
			if literallySkipped(s.Directives) {
				continue
			}
			t := parent
			if s.TypeCondition != "" {
				t = m.schema.Types[s.TypeCondition]
			}
			if !m.applies(t, parent, rt) {
				continue
			}
			v, err := m.selectionSet(s.SelectionSet, t, obj, rt)
			if err != nil {
				return 0, err
			}
			total += v
		case *ast.FragmentSpread:
			if literallySkipped(s.Directives) || m.expanding(s.Name) {
				continue
			}
			f := m.doc.Fragments.ForName(s.Name)
			if f == nil || literallySkipped(f.Directives) {
				continue
			}
			t := m.schema.Types[f.TypeCondition]
			if !m.applies(t, parent, rt) {
				continue
			}
			m.active = append(m.active, s.Name)
			v, err := m.selectionSet(f.SelectionSet, t, obj, rt)
			m.active = m.active[:len(m.active)-1]
			if err != nil {
				return 0, err
			}
			total += v
		}
	}
	return total, nil
}

func (m *actualMeter) expanding(name string) bool { return slices.Contains(m.active, name) }

// applies reports whether a fragment on cond, selected on parent, applies to
// an object of runtime type rt (nil: unknown, so counted: an upper bound).
func (m *actualMeter) applies(cond, parent, rt *ast.Definition) bool {
	switch {
	case cond == nil:
		return false // the estimate skips it too
	case cond.Name == parent.Name, rt == nil, cond.Name == rt.Name:
		return true
	}
	return m.possible(cond, rt)
}

// possible reports whether object type rt is one of abstract's types.
func (m *actualMeter) possible(abstract, rt *ast.Definition) bool {
	if abstract.Kind != ast.Interface && abstract.Kind != ast.Union {
		return false
	}
	for _, p := range m.schema.PossibleTypes[abstract.Name] {
		if p.Name == rt.Name {
			return true
		}
	}
	return false
}

func (m *actualMeter) field(f *ast.Field, parent *ast.Definition, obj map[string]any) (float64, error) {
	p := m.plan(f, parent)
	if p == nil {
		return 0, nil
	}
	m.visits++
	if m.visits > maxActualVisits {
		return 0, errTooLarge
	}
	var v any
	if obj != nil {
		v = obj[p.key]
	}
	c, err := m.value(v, p.typ, &p.objectPlan)
	if err != nil {
		return 0, under(p.key, err)
	}
	return c + p.args, nil
}

// fieldUse is one field selected on one type: every object it is measured
// on shares its weights, found once per measure.
type fieldUse struct {
	f      *ast.Field
	parent *ast.Definition
}

// fieldPlan is what the measure of a field needs besides its value.
type fieldPlan struct {
	key  string
	typ  *ast.Type
	args float64
	objectPlan
}

// plan computes a field's weights exactly as coster.enter does; nil for a
// field that costs nothing (literally skipped, or unknown to the schema).
func (m *actualMeter) plan(f *ast.Field, parent *ast.Definition) *fieldPlan {
	u := fieldUse{f, parent}
	if p, ok := m.plans[u]; ok {
		return p
	}
	p := m.newPlan(f, parent)
	if m.plans == nil {
		m.plans = map[fieldUse]*fieldPlan{}
	}
	m.plans[u] = p
	return p
}

func (m *actualMeter) newPlan(f *ast.Field, parent *ast.Definition) *fieldPlan {
	if literallySkipped(f.Directives) {
		return nil
	}
	def := f.Definition
	if def == nil {
		def = fieldDefinition(m.schema, parent, f.Name)
	}
	if def == nil || def.Type == nil {
		return nil
	}
	p := &fieldPlan{key: responseKey(f), typ: def.Type}
	named := m.schema.Types[def.Type.Name()]
	meta := m.graph.Field(parent.Name, f.Name)
	p.weight = fieldWeight(m.graph, meta, named)
	for _, a := range f.Arguments {
		if ad := def.Arguments.ForName(a.Name); ad != nil {
			p.args += m.c.literal(a.Value, ad.Type, argWeight(meta, a.Name))
		}
	}
	if named != nil && named.IsCompositeType() && len(f.SelectionSet) > 0 {
		p.set, p.static = f.SelectionSet, named
		if named.Kind != ast.Object {
			p.typenameKey = m.typenameKey(f.SelectionSet)
		}
	}
	return p
}

// objectPlan is what every element of one field's value shares.
type objectPlan struct {
	weight float64
	// set and static: the field's selections and named type; set is nil for
	// leaves.
	set    ast.SelectionSet
	static *ast.Definition
	// typenameKey is the response key holding __typename, "" if none.
	typenameKey string
}

func (m *actualMeter) value(v any, t *ast.Type, o *objectPlan) (float64, error) {
	if t.Elem != nil {
		switch l := v.(type) {
		case nil:
			return 0, nil
		case []any:
			total := 0.0
			for i, el := range l {
				c, err := m.value(el, t.Elem, o)
				if err != nil {
					return 0, under(i, err)
				}
				total += c
			}
			return total, nil
		default:
			return 0, &pathError{msg: "want a list, got " + kindOf(v)}
		}
	}
	if v == nil || o.set == nil {
		// Leaves take any JSON: custom scalars may be objects or lists.
		return o.weight, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return 0, &pathError{msg: "want an object, got " + kindOf(v)}
	}
	c, err := m.selectionSet(o.set, o.static, obj, m.runtimeType(obj, o))
	if err != nil {
		return 0, err
	}
	return o.weight + c, nil
}

// runtimeType is the object type of obj: the static type when concrete,
// else the object type __typename names if it is one of the static type's;
// nil when unknown.
func (m *actualMeter) runtimeType(obj map[string]any, o *objectPlan) *ast.Definition {
	if o.static.Kind == ast.Object {
		return o.static
	}
	if o.typenameKey == "" {
		return nil
	}
	name, ok := obj[o.typenameKey].(string)
	if !ok {
		return nil
	}
	rt := m.schema.Types[name]
	if rt == nil || rt.Kind != ast.Object || !m.possible(o.static, rt) {
		return nil
	}
	return rt
}

// typenameKey finds the response key of a __typename selected in set (its
// own fragments included), preferring the unaliased one. A key that another
// field also uses (`__typename: title` is a valid alias) is not trusted:
// else a client could steer which fragments count.
func (m *actualMeter) typenameKey(set ast.SelectionSet) string {
	key := ""
	m.eachField(set, func(f *ast.Field) {
		if f.Name == "__typename" && (key == "" || f.Alias == "" || f.Alias == f.Name) {
			key = responseKey(f)
		}
	})
	if key == "" {
		return ""
	}
	clash := false
	m.eachField(set, func(f *ast.Field) {
		if f.Name != "__typename" && responseKey(f) == key {
			clash = true
		}
	})
	if clash {
		return ""
	}
	return key
}

// eachField calls fn on the fields of set and of its fragments, not going
// into the fields' own selections.
func (m *actualMeter) eachField(set ast.SelectionSet, fn func(*ast.Field)) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			fn(s)
		case *ast.InlineFragment:
			m.eachField(s.SelectionSet, fn)
		case *ast.FragmentSpread:
			if m.expanding(s.Name) {
				continue
			}
			if f := m.doc.Fragments.ForName(s.Name); f != nil {
				m.active = append(m.active, s.Name)
				m.eachField(f.SelectionSet, fn)
				m.active = m.active[:len(m.active)-1]
			}
		}
	}
}

func responseKey(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	default:
		return strconv.Quote(fmt.Sprintf("%T", v))
	}
}
