package schema

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// ExtractedSubgraph is one subgraph as the supergraph's join__ directives
// record it: what a query planner needs to route selections to it. Apollo's
// extractSubgraphsFromSupergraph reads the same directives the same way
// (https://specs.apollo.dev/join/v0.5), so a composed graph and a
// supergraph file give the planner the same view.
type ExtractedSubgraph struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// SDL is the subgraph's schema rebuilt from the supergraph: its types
	// and fields with @key, @external, @requires, @provides and
	// @interfaceObject, as a Federation 2 subgraph would print it.
	SDL string `json:"sdl"`
	// RootNodes are the fields a fetch may start from: root operation
	// fields and the fields of the subgraph's entities.
	RootNodes []TypeFields `json:"rootNodes"`
	// ChildNodes are the fields of the subgraph's other object and
	// interface types, reachable below a root node.
	ChildNodes []TypeFields `json:"childNodes,omitempty"`
	Keys       []FieldSet   `json:"keys,omitempty"`
	Requires   []FieldSet   `json:"requires,omitempty"`
	Provides   []FieldSet   `json:"provides,omitempty"`
	// EntityInterfaces are interfaces with @key this subgraph defines with
	// their implementations; InterfaceObjects are interfaces it sees only
	// as an @interfaceObject. Both list every implementation in the graph.
	EntityInterfaces []Implementers `json:"entityInterfaces,omitempty"`
	InterfaceObjects []Implementers `json:"interfaceObjects,omitempty"`
}

// TypeFields lists the fields a subgraph resolves on one type, and those it
// only declares @external.
type TypeFields struct {
	Type     string   `json:"type"`
	Fields   []string `json:"fields"`
	External []string `json:"external,omitempty"`
}

// FieldSet is a @key (Field empty), @requires or @provides selection.
type FieldSet struct {
	Type   string `json:"type"`
	Field  string `json:"field,omitempty"`
	Fields string `json:"fields"`
	// Resolvable is false for a @key(resolvable: false): the subgraph
	// names the entity but cannot be asked for it.
	Resolvable bool `json:"resolvable"`
}

// Implementers names an interface and its object types.
type Implementers struct {
	Interface string   `json:"interface"`
	Types     []string `json:"types"`
}

// OverrideLabel is a progressive @override (a field moving by a label's
// percentage), which a static plan cannot follow.
type OverrideLabel struct {
	Coordinate string `json:"coordinate"`
	Subgraph   string `json:"subgraph"`
	Label      string `json:"label"`
}

// Extracted returns each subgraph's view of a federated graph, in join__Graph
// order; nil for a monolith. The error says what the join__ directives
// record that the view cannot express.
func (g *Graph) Extracted() ([]ExtractedSubgraph, error) {
	if g.kind != KindSupergraph {
		return nil, nil
	}
	if g.extractErr != nil {
		return nil, g.extractErr
	}
	return slices.Clone(g.extracted), nil
}

// OverrideLabels lists the fields under progressive @override.
func (g *Graph) OverrideLabels() []OverrideLabel { return slices.Clone(g.overrideLabels) }

// xField is one field of one type in one subgraph.
type xField struct {
	def                *ast.FieldDefinition
	typ                string
	external, overUsed bool
	requires, provides string
}

// xType is one type in one subgraph.
type xType struct {
	def             *ast.Definition
	keys            []sgKey
	interfaceObject bool
	fields          []*xField
	implements      []string
	members         []string
	values          []string
}

// extractor builds the per-subgraph views from the validated supergraph.
type extractor struct {
	full    *ast.Schema
	n       *names
	byValue map[string]string
	infos   []SubgraphInfo
	types   map[string]map[string]*xType // subgraph -> type -> view
	labels  []OverrideLabel
}

func extractSubgraphs(full *ast.Schema, n *names, byValue map[string]string, infos []SubgraphInfo) ([]ExtractedSubgraph, []OverrideLabel, error) {
	x := &extractor{full: full, n: n, byValue: byValue, infos: infos, types: map[string]map[string]*xType{}}
	for _, info := range infos {
		x.types[info.Name] = map[string]*xType{}
	}
	for _, name := range slices.Sorted(maps.Keys(full.Types)) {
		def := full.Types[name]
		if def.BuiltIn || strings.HasPrefix(name, "__") || n.types[name] {
			continue
		}
		if err := x.typeOf(def); err != nil {
			return nil, nil, err
		}
	}
	out := make([]ExtractedSubgraph, 0, len(infos))
	for _, info := range infos {
		out = append(out, x.view(info))
	}
	return out, x.labels, nil
}

// graphs lists the subgraphs a directive list names in its graph arguments.
func (x *extractor) graphs(list ast.DirectiveList, canonical string) []*ast.Directive {
	var out []*ast.Directive
	for _, d := range x.n.findAll(list, canonical) {
		if _, ok := x.byValue[stringArg(d, "graph")]; ok {
			out = append(out, d)
		}
	}
	return out
}

func (x *extractor) allGraphs() []string {
	out := make([]string, 0, len(x.infos))
	for _, i := range x.infos {
		out = append(out, i.Name)
	}
	return out
}

// typeOf records def in every subgraph its join__type names (all of them
// when it names none, as a supergraph without join__type on a type means).
func (x *extractor) typeOf(def *ast.Definition) error {
	joins := x.graphs(def.Directives, "join__type")
	in := map[string]*xType{}
	var order []string
	add := func(sg string) *xType {
		t, ok := in[sg]
		if !ok {
			t = &xType{def: def}
			in[sg] = t
			order = append(order, sg)
			x.types[sg][def.Name] = t
		}
		return t
	}
	if len(joins) == 0 {
		for _, sg := range x.allGraphs() {
			add(sg)
		}
	}
	for _, d := range joins {
		t := add(x.byValue[stringArg(d, "graph")])
		t.interfaceObject = t.interfaceObject || boolArg(d, "isInterfaceObject", false)
		if k := stringArg(d, "key"); k != "" {
			t.keys = append(t.keys, sgKey{fields: k, resolvable: boolArg(d, "resolvable", true)})
		}
	}
	x.members(def, in, order)
	return x.fields(def, in, order)
}

// members records implemented interfaces, union members and enum values per
// subgraph (a type without the join__ directive has them everywhere).
func (x *extractor) members(def *ast.Definition, in map[string]*xType, order []string) {
	per := func(canonical, arg string, all []string, set func(*xType, string)) {
		ds := x.graphs(def.Directives, canonical)
		if len(ds) == 0 {
			for _, sg := range order {
				for _, v := range all {
					set(in[sg], v)
				}
			}
			return
		}
		for _, d := range ds {
			if t := in[x.byValue[stringArg(d, "graph")]]; t != nil {
				set(t, stringArg(d, arg))
			}
		}
	}
	per("join__implements", "interface", def.Interfaces, func(t *xType, v string) { t.implements = append(t.implements, v) })
	per("join__unionMember", "member", def.Types, func(t *xType, v string) { t.members = append(t.members, v) })
	if def.Kind != ast.Enum {
		return
	}
	for _, v := range def.EnumValues {
		ds := x.graphs(v.Directives, "join__enumValue")
		for _, sg := range order {
			if len(ds) == 0 || slices.ContainsFunc(ds, func(d *ast.Directive) bool { return x.byValue[stringArg(d, "graph")] == sg }) {
				in[sg].values = append(in[sg].values, v.Name)
			}
		}
	}
}

// fields records each field in the subgraphs its join__field directives
// name (all of the type's subgraphs when it has none).
func (x *extractor) fields(def *ast.Definition, in map[string]*xType, order []string) error {
	for _, f := range def.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		joins := x.n.findAll(f.Directives, "join__field")
		if len(joins) == 0 {
			for _, sg := range order {
				in[sg].fields = append(in[sg].fields, &xField{def: f, typ: f.Type.String()})
			}
			continue
		}
		for _, d := range joins {
			sg, ok := x.byValue[stringArg(d, "graph")]
			if !ok {
				// join__field without a graph: no subgraph defines the field
				// itself (an interface field provided by @interfaceObject).
				continue
			}
			t := in[sg]
			if t == nil {
				return fmt.Errorf("%s.%s: join__field names subgraph %q, which has no join__type for %s", def.Name, f.Name, sg, def.Name)
			}
			xf := &xField{def: f, typ: f.Type.String(), external: boolArg(d, "external", false),
				overUsed: boolArg(d, "usedOverridden", false),
				requires: stringArg(d, "requires"), provides: stringArg(d, "provides")}
			if typ := stringArg(d, "type"); typ != "" {
				xf.typ = typ
			}
			if l := stringArg(d, "overrideLabel"); l != "" {
				x.labels = append(x.labels, OverrideLabel{Coordinate: def.Name + "." + f.Name, Subgraph: sg, Label: l})
			}
			t.fields = append(t.fields, xf)
		}
	}
	return nil
}

// implementations lists every object type implementing iface in the graph.
func (x *extractor) implementations(iface string) []string {
	var out []string
	for _, def := range x.full.PossibleTypes[iface] {
		if def.Kind == ast.Object {
			out = append(out, def.Name)
		}
	}
	return sortedUnique(out)
}

func isRootType(s *ast.Schema, name string) bool {
	for _, r := range []*ast.Definition{s.Query, s.Mutation, s.Subscription} {
		if r != nil && r.Name == name {
			return true
		}
	}
	return false
}

// view assembles one subgraph's planner view and SDL.
func (x *extractor) view(info SubgraphInfo) ExtractedSubgraph {
	out := ExtractedSubgraph{Name: info.Name, URL: info.URL}
	types := x.types[info.Name]
	for _, name := range slices.Sorted(maps.Keys(types)) {
		t := types[name]
		if t.def.Kind != ast.Object && t.def.Kind != ast.Interface {
			continue
		}
		tf := TypeFields{Type: name}
		for _, f := range t.fields {
			switch {
			case f.external || f.overUsed:
				tf.External = append(tf.External, f.def.Name)
			default:
				tf.Fields = append(tf.Fields, f.def.Name)
			}
			if f.requires != "" {
				out.Requires = append(out.Requires, FieldSet{Type: name, Field: f.def.Name, Fields: f.requires, Resolvable: true})
			}
			if f.provides != "" {
				out.Provides = append(out.Provides, FieldSet{Type: name, Field: f.def.Name, Fields: f.provides, Resolvable: true})
			}
		}
		var concrete []string
		if t.def.Kind == ast.Interface && len(t.keys) > 0 {
			concrete = x.implementations(name)
			impl := Implementers{Interface: name, Types: concrete}
			if t.interfaceObject {
				out.InterfaceObjects = append(out.InterfaceObjects, impl)
			} else {
				out.EntityInterfaces = append(out.EntityInterfaces, impl)
			}
		}
		for _, k := range t.keys {
			out.Keys = append(out.Keys, FieldSet{Type: name, Fields: k.fields, Resolvable: k.resolvable})
		}
		switch {
		case isRootType(x.full, name) || len(t.keys) > 0:
			out.RootNodes = append(out.RootNodes, tf)
		default:
			out.ChildNodes = append(out.ChildNodes, tf)
		}
		if t.interfaceObject {
			// The planner asks an @interfaceObject subgraph for the
			// interface's fields on each concrete type by the same keys.
			for _, c := range concrete {
				ctf := tf
				ctf.Type = c
				out.RootNodes = append(out.RootNodes, ctf)
				for _, k := range t.keys {
					out.Keys = append(out.Keys, FieldSet{Type: c, Fields: k.fields, Resolvable: k.resolvable})
				}
			}
		}
	}
	out.SDL = x.sdl(info.Name)
	return out
}

// fedDefs declares the federation directives the rebuilt SDL uses.
const fedDefs = `directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @external on FIELD_DEFINITION | OBJECT
directive @requires(fields: FieldSet!) on FIELD_DEFINITION
directive @provides(fields: FieldSet!) on FIELD_DEFINITION
directive @interfaceObject on OBJECT
scalar FieldSet
`

// sdl prints one subgraph's schema.
func (x *extractor) sdl(sg string) string {
	var b strings.Builder
	b.WriteString(fedDefs)
	types := x.types[sg]
	if !slices.ContainsFunc(slices.Collect(maps.Values(types)), func(t *xType) bool { return t.def == x.full.Query }) {
		// A subgraph with no root query field still answers _entities and
		// _service, which live on Query.
		b.WriteString("type Query\n")
	}
	for _, name := range slices.Sorted(maps.Keys(types)) {
		t := types[name]
		switch t.def.Kind {
		case ast.Scalar:
			fmt.Fprintf(&b, "scalar %s\n", name)
		case ast.Enum:
			fmt.Fprintf(&b, "enum %s {\n", name)
			for _, v := range t.values {
				fmt.Fprintf(&b, "  %s\n", v)
			}
			b.WriteString("}\n")
		case ast.Union:
			fmt.Fprintf(&b, "union %s = %s\n", name, strings.Join(t.members, " | "))
		case ast.InputObject:
			fmt.Fprintf(&b, "input %s {\n", name)
			for _, f := range t.fields {
				fmt.Fprintf(&b, "  %s: %s%s\n", f.def.Name, f.typ, defaultOf(f.def.DefaultValue))
			}
			b.WriteString("}\n")
		case ast.Object, ast.Interface:
			x.printComposite(&b, name, t)
		}
	}
	return b.String()
}

func (x *extractor) printComposite(b *strings.Builder, name string, t *xType) {
	kw := "type"
	if t.def.Kind == ast.Interface && !t.interfaceObject {
		kw = "interface"
	}
	fmt.Fprintf(b, "%s %s", kw, name)
	if len(t.implements) > 0 && !t.interfaceObject {
		fmt.Fprintf(b, " implements %s", strings.Join(t.implements, " & "))
	}
	for _, k := range t.keys {
		fmt.Fprintf(b, " @key(fields: %q", k.fields)
		if !k.resolvable {
			b.WriteString(", resolvable: false")
		}
		b.WriteString(")")
	}
	if t.interfaceObject {
		b.WriteString(" @interfaceObject")
	}
	if len(t.fields) == 0 {
		b.WriteString("\n")
		return
	}
	b.WriteString(" {\n")
	for _, f := range t.fields {
		fmt.Fprintf(b, "  %s", f.def.Name)
		if len(f.def.Arguments) > 0 {
			args := make([]string, 0, len(f.def.Arguments))
			for _, a := range f.def.Arguments {
				args = append(args, a.Name+": "+a.Type.String()+defaultOf(a.DefaultValue))
			}
			fmt.Fprintf(b, "(%s)", strings.Join(args, ", "))
		}
		fmt.Fprintf(b, ": %s", f.typ)
		if f.external || f.overUsed {
			b.WriteString(" @external")
		}
		if f.requires != "" {
			fmt.Fprintf(b, " @requires(fields: %q)", f.requires)
		}
		if f.provides != "" {
			fmt.Fprintf(b, " @provides(fields: %q)", f.provides)
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
}

func defaultOf(v *ast.Value) string {
	if v == nil {
		return ""
	}
	return " = " + v.String()
}

// checkExtractedSDL parses each rebuilt SDL so a printing bug shows at load,
// not as a planner failure on the request path.
func checkExtractedSDL(subs []ExtractedSubgraph) error {
	for _, s := range subs {
		if _, err := parser.ParseSchemaWithLimit(&ast.Source{Name: s.Name, Input: s.SDL}, maxSDLTokens); err != nil {
			return fmt.Errorf("subgraph %q: rebuilt SDL does not parse: %w", s.Name, err)
		}
	}
	return nil
}
