package authz

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portcullis-gw/portcullis/schema"
)

// Modes of a GraphQL route's authorization (the docs/ pages 5).
const (
	ModeFilter = "filter"
	ModeReject = "reject"
)

// GraphQLAuthorizer enforces field-level authorization for one GraphQL
// route. Everything is compiled by Compile; Authorize only looks up
// precomputed requirements and evaluates CEL programs. It is safe for
// concurrent use.
type GraphQLAuthorizer struct {
	graph  *schema.Graph
	schema *ast.Schema
	mode   string
	dryRun bool

	// fields maps every output field coordinate (Type.field) to its
	// effective requirement; nil means unrestricted. A coordinate missing
	// from the map is refused (fail closed).
	fields map[string]*requirement
	// byDef is fields keyed by the schema's field definitions, which the
	// validator links from each document field: a pointer lookup instead of
	// hashing the coordinate. Documents validated against another schema
	// object miss it and fall back to fields.
	byDef map[*ast.FieldDefinition]*requirement
	// types maps restricted type names to their requirement, for fragments'
	// type conditions.
	types map[string]*requirement
	// own keeps each field's own requirement (without its return type's) for
	// the coverage report.
	own map[string]*requirement
	// inputs is what the route's policies read together.
	inputs Inputs
}

// Inputs is what the policies this authorizer evaluates read together.
func (a *GraphQLAuthorizer) Inputs() Inputs { return a.inputs }

// Mode is the configured mode, filter or reject.
func (a *GraphQLAuthorizer) Mode() string { return a.mode }

// Compile compiles policies and the route's rules against graph g. Every
// problem is reported at once: unknown policy names used by @policy or by
// a rule, CEL errors, rule coordinates missing from the schema.
func Compile(policies Policies, g *schema.Graph, cfg GraphQLConfig) (*GraphQLAuthorizer, error) {
	if g == nil || g.Schema() == nil {
		return nil, errors.New("compiling authorization: no schema")
	}
	var errs []error
	mode := cfg.Mode
	switch mode {
	case "":
		// A zero config refuses rather than forwards a partial document.
		mode = ModeReject
	case ModeFilter, ModeReject:
	default:
		errs = append(errs, fmt.Errorf("mode: must be filter or reject, got %q", cfg.Mode))
	}
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("building CEL environment: %w", err)
	}
	pols, perrs := compilePolicies(env, policies)
	errs = append(errs, perrs...)

	a := &GraphQLAuthorizer{graph: g, schema: g.Schema(), mode: mode, dryRun: cfg.DryRun,
		fields: map[string]*requirement{}, byDef: map[*ast.FieldDefinition]*requirement{}, types: map[string]*requirement{}, own: map[string]*requirement{}}
	c := &compiler{a: a, pols: pols, policies: policies, unknown: map[string][]string{},
		ruleField: map[string]*requirement{}, ruleType: map[string]*requirement{}}
	for _, p := range pols {
		a.inputs |= p.inputs
	}
	errs = append(errs, c.rules(cfg.Rules)...)
	c.build()
	errs = append(errs, c.unknownErrors()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("compiling authorization: %w", errors.Join(errs...))
	}
	return a, nil
}

type compiler struct {
	a        *GraphQLAuthorizer
	pols     map[string]*policy
	policies Policies
	// unknown: policy name -> schema elements naming it.
	unknown   map[string][]string
	ruleField map[string]*requirement
	ruleType  map[string]*requirement
}

// rules parses and resolves the config rules.
func (c *compiler) rules(rules []Rule) []error {
	var errs []error
	s := c.a.schema
	for i, r := range rules {
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("rules[%d]: coordinate %q: %s", i, r.Coordinate, fmt.Sprintf(format, args...)))
		}
		req := &requirement{}
		if r.Policy != "" {
			p := c.pols[r.Policy]
			if p == nil {
				if _, defined := c.policies[r.Policy]; !defined {
					errs = append(errs, fmt.Errorf("rules[%d].policy: unknown policy %q", i, r.Policy))
				}
				continue
			}
			req.addPolicies([][]*policy{{p}})
		}
		if len(r.Scopes) > 0 {
			// The scopes of one rule are all required, like an inner list.
			req.addScopes([][]string{append([]string(nil), r.Scopes...)})
		}
		if req.empty() {
			errs = append(errs, fmt.Errorf("rules[%d]: set policy or scopes", i))
			continue
		}
		typ, field, argPath, ok := parseCoordinate(r.Coordinate)
		if !ok {
			fail("not a schema coordinate such as Query.user or Mutation.updateUser(input.role)")
			continue
		}
		def := s.Types[typ]
		if def == nil {
			fail("type %q does not exist", typ)
			continue
		}
		if field == "" {
			addTo(c.ruleType, typ, req)
			continue
		}
		fd := def.Fields.ForName(field)
		if fd == nil || def.Kind != ast.Object && def.Kind != ast.Interface {
			fail("field %q does not exist on %s", field, typ)
			continue
		}
		coord := typ + "." + field
		if len(argPath) == 0 {
			addTo(c.ruleField, coord, req)
			continue
		}
		if msg := checkArgPath(s, fd, argPath); msg != "" {
			fail("%s", msg)
			continue
		}
		addTo(c.ruleField, coord, &requirement{argRules: []*argRule{{path: argPath, req: req}}})
	}
	return errs
}

func addTo(m map[string]*requirement, key string, r *requirement) {
	if m[key] == nil {
		m[key] = &requirement{}
	}
	m[key].and(r)
}

// parseCoordinate splits `Type`, `Type.field`, `Type.field(arg)`,
// `Type.field(arg:)` and `Type.field(arg.inputField...)`.
func parseCoordinate(s string) (typ, field string, argPath []string, ok bool) {
	if !coordinateRE.MatchString(s) {
		return "", "", nil, false
	}
	head, args, hasArgs := strings.Cut(s, "(")
	typ, field, _ = strings.Cut(head, ".")
	if hasArgs {
		args = strings.TrimSuffix(strings.TrimSuffix(args, ")"), ":")
		argPath = strings.Split(args, ".")
	}
	return typ, field, argPath, true
}

// checkArgPath verifies an argument and its nested input fields exist.
func checkArgPath(s *ast.Schema, fd *ast.FieldDefinition, path []string) string {
	arg := fd.Arguments.ForName(path[0])
	if arg == nil {
		return fmt.Sprintf("argument %q does not exist", path[0])
	}
	t := arg.Type
	for _, name := range path[1:] {
		def := s.Types[t.Name()]
		if def == nil || def.Kind != ast.InputObject {
			return fmt.Sprintf("%s is not an input object, it has no field %q", t.Name(), name)
		}
		f := def.Fields.ForName(name)
		if f == nil {
			return fmt.Sprintf("input field %q does not exist on %s", name, def.Name)
		}
		t = f.Type
	}
	return ""
}

func (c *compiler) schemaReq(where string, r schema.Requirements) *requirement {
	return fromSchema(r, c.pols, func(name string) {
		if _, defined := c.policies[name]; defined {
			return // its compile error is already reported
		}
		c.unknown[name] = append(c.unknown[name], where)
	})
}

func (c *compiler) unknownErrors() []error {
	errs := make([]error, 0, len(c.unknown))
	for _, n := range slices.Sorted(maps.Keys(c.unknown)) {
		errs = append(errs, fmt.Errorf("@policy on %s names unknown policy %q", strings.Join(c.unknown[n], ", "), n))
	}
	return errs
}

// build precomputes every coordinate's effective requirement: the field's
// own (directives and rules), its return type's, the root type's for root
// fields and, for interface fields, every implementation's corresponding
// field and type.
//
// Requirements also flow down from interfaces: a type needs the
// requirements of every interface it implements (transitively), and a field
// those of the same field on each of those interfaces. Otherwise
// `... on User { email }`, or User.email reached through a field returning
// User, would escape a requirement written on Node.email or on Node, the
// field being the same one (Apollo's authorization directives document
// interface requirements as covering their implementations).
func (c *compiler) build() {
	s := c.a.schema
	names := slices.Sorted(maps.Keys(s.Types))
	ownType := func(n string) *requirement {
		r := &requirement{}
		if tm := c.a.graph.Type(n); tm != nil {
			r.and(c.schemaReq(n, tm.Requirements))
		}
		r.and(c.ruleType[n])
		return r
	}
	for _, n := range names {
		r := ownType(n)
		for _, i := range interfacesOf(s, s.Types[n]) {
			r.and(ownType(i.Name))
		}
		if !r.empty() {
			c.a.types[n] = r
		}
	}
	own := func(t, f string) *requirement {
		coord := t + "." + f
		r := &requirement{}
		if fm := c.a.graph.Field(t, f); fm != nil {
			r.and(c.schemaReq(coord, fm.Requirements))
		}
		r.and(c.ruleField[coord])
		return r
	}
	// inherited is a field's own requirement with those of the same field
	// on every interface its type implements.
	inherited := func(def *ast.Definition, f string) *requirement {
		r := own(def.Name, f)
		for _, i := range interfacesOf(s, def) {
			if i.Fields.ForName(f) != nil {
				r.and(own(i.Name, f))
			}
		}
		return r
	}
	roots := map[*ast.Definition]bool{s.Query: true, s.Mutation: true, s.Subscription: true}
	for _, n := range names {
		def := s.Types[n]
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			continue
		}
		for _, fd := range def.Fields {
			if strings.HasPrefix(fd.Name, "__") {
				continue
			}
			coord := n + "." + fd.Name
			o := inherited(def, fd.Name)
			eff := &requirement{}
			eff.and(o)
			eff.and(c.a.types[fd.Type.Name()])
			if roots[def] {
				eff.and(c.a.types[n])
			}
			if def.Kind == ast.Interface {
				for _, impl := range s.GetPossibleTypes(def) {
					ifd := impl.Fields.ForName(fd.Name)
					if ifd == nil {
						continue
					}
					eff.and(inherited(impl, fd.Name))
					eff.and(c.a.types[impl.Name])
					eff.and(c.a.types[ifd.Type.Name()])
				}
			}
			if eff.empty() {
				eff = nil
			}
			if o.empty() {
				o = nil
			}
			c.a.fields[coord] = eff
			c.a.byDef[fd] = eff
			c.a.own[coord] = o
		}
	}
}

// interfacesOf lists the interfaces def implements, transitively (an
// interface may implement others, GraphQL spec 3.7), each once.
func interfacesOf(s *ast.Schema, def *ast.Definition) []*ast.Definition {
	if def == nil {
		return nil
	}
	var out []*ast.Definition
	seen := map[string]bool{def.Name: true}
	var visit func(d *ast.Definition)
	visit = func(d *ast.Definition) {
		for _, name := range d.Interfaces {
			if seen[name] {
				continue
			}
			seen[name] = true
			if i := s.Types[name]; i != nil && i.Kind == ast.Interface {
				out = append(out, i)
				visit(i)
			}
		}
	}
	visit(def)
	return out
}
