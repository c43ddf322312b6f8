package schema

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// supergraphHeader holds the definitions every composed supergraph carries
// (join v0.5 and link v1.0, as Apollo composition prints them).
const supergraphHeader = `
directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose {
  "` + "`SECURITY`" + ` features provide metadata necessary to securely resolve fields."
  SECURITY
  "` + "`EXECUTION`" + ` features provide metadata necessary for operation execution."
  EXECUTION
}
`

// keptSpecs are the specs whose directives survive composition, with the
// definitions printed in the supergraph.
var keptSpecs = []struct {
	canonical    []string
	url, purpose string
	imports      []string
	defs         string
}{
	{[]string{"inaccessible"}, "https://specs.apollo.dev/inaccessible/v0.2", "SECURITY", nil,
		`directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION`},
	{[]string{"tag"}, "https://specs.apollo.dev/tag/v0.3", "", nil,
		`directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA`},
	{[]string{"authenticated"}, "https://specs.apollo.dev/authenticated/v0.1", "SECURITY", nil,
		`directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM`},
	{[]string{"requiresScopes"}, "https://specs.apollo.dev/requiresScopes/v0.1", "SECURITY", nil,
		"directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM\nscalar requiresScopes__Scope"},
	{[]string{"policy"}, "https://specs.apollo.dev/policy/v0.1", "SECURITY", nil,
		"directive @policy(policies: [[policy__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM\nscalar policy__Policy"},
	{[]string{"cost", "listSize"}, "https://specs.apollo.dev/cost/v0.1", "", []string{"@cost", "@listSize"},
		"directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR\n" +
			"directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION"},
}

type occurrence struct {
	sg *subgraph
	t  *sgType
}

// merger holds the merged view while the supergraph document is built.
type merger struct {
	c          *composer
	graphEnum  map[string]string // subgraph -> join__Graph value
	used       map[string]bool   // kept directives used
	occ        map[string][]occurrence
	implements map[string]map[string]bool // interface -> implementing types (all subgraphs)
	members    map[string]map[string]bool // union -> members
	inputUse   map[string]bool
	outputUse  map[string]bool
	merged     map[string]*ast.Definition
	fieldSubs  map[string][]string // Type.field -> resolving subgraphs (for satisfiability)
}

// merge builds the supergraph document.
func (c *composer) merge() *ast.SchemaDocument {
	m := &merger{c: c, graphEnum: map[string]string{}, used: map[string]bool{},
		occ: map[string][]occurrence{}, implements: map[string]map[string]bool{},
		members: map[string]map[string]bool{}, inputUse: map[string]bool{}, outputUse: map[string]bool{},
		merged: map[string]*ast.Definition{}, fieldSubs: map[string][]string{}}
	var order []string
	for _, sg := range c.subs {
		for _, name := range slices.Sorted(maps.Keys(sg.types)) {
			t := sg.types[name]
			if _, ok := m.occ[name]; !ok {
				order = append(order, name)
			}
			m.occ[name] = append(m.occ[name], occurrence{sg, t})
			for _, i := range t.def.Interfaces {
				addSet(m.implements, i, name)
			}
			for _, u := range t.def.Types {
				addSet(m.members, name, u)
			}
			for _, f := range t.def.Fields {
				if t.def.Kind == ast.InputObject {
					m.inputUse[f.Type.Name()] = true
					continue
				}
				m.outputUse[f.Type.Name()] = true
				for _, a := range f.Arguments {
					m.inputUse[a.Type.Name()] = true
				}
			}
		}
	}
	sort.Strings(order)
	doc, err := parser.ParseSchema(&ast.Source{Name: "supergraph", Input: supergraphHeader})
	if err != nil {
		c.errorf("INTERNAL_ERROR", nil, "", "supergraph header: %v", err)
		return nil
	}
	graphDef := &ast.Definition{Kind: ast.Enum, Name: "join__Graph"}
	taken := map[string]bool{}
	for _, sg := range c.subs {
		v := enumName(sg.name, taken)
		m.graphEnum[sg.name] = v
		graphDef.EnumValues = append(graphDef.EnumValues, &ast.EnumValueDefinition{Name: v,
			Directives: ast.DirectiveList{directive("join__graph", strArg("name", sg.name), strArg("url", sg.url))}})
	}
	doc.Definitions = append(doc.Definitions, graphDef)
	for _, name := range order {
		if def := m.mergeType(name); def != nil {
			m.merged[name] = def
			doc.Definitions = append(doc.Definitions, def)
		}
	}
	m.addInterfaceObjectFields()
	m.checkMerged()
	c.fieldSubs = m.fieldSubs
	c.merged = m.merged
	schemaDef := &ast.SchemaDefinition{}
	schemaDef.Directives = append(schemaDef.Directives,
		directive("link", strArg("url", "https://specs.apollo.dev/link/v1.0")),
		directive("link", strArg("url", "https://specs.apollo.dev/join/v0.5"), enumArg("for", "EXECUTION")))
	for _, spec := range keptSpecs {
		use := false
		for _, d := range spec.canonical {
			use = use || m.used[d]
		}
		if !use {
			continue
		}
		args := ast.ArgumentList{strArg("url", spec.url)}
		if spec.purpose != "" {
			args = append(args, enumArg("for", spec.purpose))
		}
		if len(spec.imports) > 0 {
			args = append(args, listArg("import", spec.imports))
		}
		schemaDef.Directives = append(schemaDef.Directives, &ast.Directive{Name: "link", Arguments: args})
		extra, err := parser.ParseSchema(&ast.Source{Name: "supergraph", Input: spec.defs})
		if err == nil {
			doc.Directives = append(doc.Directives, extra.Directives...)
			doc.Definitions = append(doc.Definitions, extra.Definitions...)
		}
	}
	for _, root := range []struct {
		op   ast.Operation
		name string
	}{{ast.Query, "Query"}, {ast.Mutation, "Mutation"}, {ast.Subscription, "Subscription"}} {
		if m.merged[root.name] != nil {
			schemaDef.OperationTypes = append(schemaDef.OperationTypes,
				&ast.OperationTypeDefinition{Operation: root.op, Type: root.name})
		}
	}
	doc.Schema = ast.SchemaDefinitionList{schemaDef}
	return doc
}

func addSet(m map[string]map[string]bool, k, v string) {
	if m[k] == nil {
		m[k] = map[string]bool{}
	}
	m[k][v] = true
}

// enumName makes a join__Graph value from a subgraph name.
func enumName(name string, taken map[string]bool) string {
	var b strings.Builder
	for i, r := range strings.ToUpper(name) {
		switch {
		case r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	base := b.String()
	if base == "" || base == "TRUE" || base == "FALSE" || base == "NULL" {
		base = "_" + base
	}
	v := base
	for i := 1; taken[v]; i++ {
		v = base + "_" + strconv.Itoa(i)
	}
	taken[v] = true
	return v
}

func directive(name string, args ...*ast.Argument) *ast.Directive {
	return &ast.Directive{Name: name, Arguments: args}
}

func strArg(name, v string) *ast.Argument {
	return &ast.Argument{Name: name, Value: &ast.Value{Kind: ast.StringValue, Raw: v}}
}

func enumArg(name, v string) *ast.Argument {
	return &ast.Argument{Name: name, Value: &ast.Value{Kind: ast.EnumValue, Raw: v}}
}

func boolValueArg(name string, v bool) *ast.Argument {
	return &ast.Argument{Name: name, Value: &ast.Value{Kind: ast.BooleanValue, Raw: strconv.FormatBool(v)}}
}

func intValueArg(name string, v int) *ast.Argument {
	return &ast.Argument{Name: name, Value: &ast.Value{Kind: ast.IntValue, Raw: strconv.Itoa(v)}}
}

func listValue(vals []string) *ast.Value {
	l := &ast.Value{Kind: ast.ListValue}
	for _, s := range vals {
		l.Children = append(l.Children, &ast.ChildValue{Value: &ast.Value{Kind: ast.StringValue, Raw: s}})
	}
	return l
}

func listArg(name string, vals []string) *ast.Argument {
	return &ast.Argument{Name: name, Value: listValue(vals)}
}

func listListArg(name string, vals [][]string) *ast.Argument {
	l := &ast.Value{Kind: ast.ListValue}
	for _, c := range vals {
		l.Children = append(l.Children, &ast.ChildValue{Value: listValue(c)})
	}
	return &ast.Argument{Name: name, Value: l}
}

// meta prints the kept security, cost, visibility and tag directives.
func (m *merger) meta(req Requirements, cost *int, ls *ListSize, inaccessible bool, tags []string) ast.DirectiveList {
	var out ast.DirectiveList
	if inaccessible {
		m.used["inaccessible"] = true
		out = append(out, directive("inaccessible"))
	}
	for _, t := range tags {
		m.used["tag"] = true
		out = append(out, directive("tag", strArg("name", t)))
	}
	if req.Authenticated {
		m.used["authenticated"] = true
		out = append(out, directive("authenticated"))
	}
	if len(req.Scopes) > 0 {
		m.used["requiresScopes"] = true
		out = append(out, directive("requiresScopes", listListArg("scopes", req.Scopes)))
	}
	if len(req.Policies) > 0 {
		m.used["policy"] = true
		out = append(out, directive("policy", listListArg("policies", req.Policies)))
	}
	if cost != nil {
		m.used["cost"] = true
		out = append(out, directive("cost", intValueArg("weight", *cost)))
	}
	if ls != nil {
		m.used["listSize"] = true
		var args ast.ArgumentList
		if ls.AssumedSize != nil {
			args = append(args, intValueArg("assumedSize", *ls.AssumedSize))
		}
		if len(ls.SlicingArguments) > 0 {
			args = append(args, listArg("slicingArguments", ls.SlicingArguments))
		}
		if len(ls.SizedFields) > 0 {
			args = append(args, listArg("sizedFields", ls.SizedFields))
		}
		args = append(args, boolValueArg("requireOneSlicingArgument", ls.RequireOneSlicingArgument))
		out = append(out, &ast.Directive{Name: "listSize", Arguments: args})
	}
	return out
}

// builtins copies @deprecated, @specifiedBy and @oneOf from the first
// occurrence that has them.
func builtins(lists ...ast.DirectiveList) ast.DirectiveList {
	var out ast.DirectiveList
	seen := map[string]bool{}
	for _, list := range lists {
		for _, d := range list {
			if builtinDirectives[d.Name] && !seen[d.Name] {
				seen[d.Name] = true
				out = append(out, &ast.Directive{Name: d.Name, Arguments: d.Arguments})
			}
		}
	}
	return out
}

func subNames(occs []occurrence) []string {
	out := make([]string, len(occs))
	for i, o := range occs {
		out[i] = o.sg.name
	}
	return out
}

// mergeType merges one named type across the subgraphs defining it.
func (m *merger) mergeType(name string) *ast.Definition {
	occs := m.occ[name]
	kinds := map[ast.DefinitionKind][]string{}
	for _, o := range occs {
		k := o.t.def.Kind
		if o.t.interfaceObject {
			k = ast.Interface
		}
		kinds[k] = append(kinds[k], o.sg.name)
	}
	if len(kinds) > 1 {
		var parts []string
		for k, subs := range kinds {
			parts = append(parts, fmt.Sprintf("%s in %s", kindWord(k), strings.Join(subs, ", ")))
		}
		sort.Strings(parts)
		m.c.errorf("TYPE_KIND_MISMATCH", subNames(occs), name,
			"Type %q has mismatched kind: it is defined as %s.", name, strings.Join(parts, " but "))
		return nil
	}
	kind := occs[0].t.def.Kind
	if occs[0].t.interfaceObject {
		kind = ast.Interface
	}
	def := &ast.Definition{Kind: kind, Name: name}
	var req Requirements
	var cost *int
	inaccessible := false
	var tags []string
	allExtensions := true
	var dirLists []ast.DirectiveList
	for _, o := range occs {
		if def.Description == "" {
			def.Description = o.t.def.Description
		}
		req = andRequirements(req, o.t.req)
		cost = maxInt(cost, o.t.cost)
		inaccessible = inaccessible || o.t.inaccessible
		tags = append(tags, o.t.tags...)
		allExtensions = allExtensions && o.t.extension
		dirLists = append(dirLists, o.t.def.Directives)
		graph := enumArg("graph", m.graphEnum[o.sg.name])
		extra := func(args ...*ast.Argument) []*ast.Argument {
			if o.t.extension && kind != ast.Enum && kind != ast.Scalar && kind != ast.Union && kind != ast.InputObject {
				args = append(args, boolValueArg("extension", true))
			}
			if o.t.interfaceObject {
				args = append(args, boolValueArg("isInterfaceObject", true))
			}
			return args
		}
		if len(o.t.keys) == 0 || (kind != ast.Object && kind != ast.Interface) {
			def.Directives = append(def.Directives, directive("join__type", extra(graph)...))
		}
		for _, k := range o.t.keys {
			if kind != ast.Object && kind != ast.Interface {
				break
			}
			args := []*ast.Argument{graph, strArg("key", k.fields)}
			args = extra(args...)
			if !k.resolvable {
				args = append(args, boolValueArg("resolvable", false))
			}
			def.Directives = append(def.Directives, directive("join__type", args...))
		}
	}
	if allExtensions && kind == ast.Object && name != "Query" && name != "Mutation" && name != "Subscription" {
		fed1 := true
		for _, o := range occs {
			fed1 = fed1 && o.sg.fed1
		}
		if fed1 {
			m.c.errorf("EXTENSION_WITH_NO_BASE", subNames(occs), name,
				"Type %q is an extension type, but there is no type definition for %q in any subgraph.", name, name)
		}
	}
	def.Directives = append(def.Directives, builtins(dirLists...)...)
	switch kind {
	case ast.Object, ast.Interface:
		m.mergeImplements(def, occs)
		m.mergeFields(def, occs)
	case ast.Union:
		for _, o := range occs {
			for _, t := range o.t.def.Types {
				if !slices.Contains(def.Types, t) {
					def.Types = append(def.Types, t)
				}
				def.Directives = append(def.Directives, directive("join__unionMember",
					enumArg("graph", m.graphEnum[o.sg.name]), strArg("member", t)))
			}
		}
	case ast.Enum:
		m.mergeEnum(def, occs)
	case ast.InputObject:
		m.mergeInput(def, occs)
	}
	def.Directives = append(def.Directives, m.meta(req, cost, nil, inaccessible, sortedUnique(tags))...)
	return def
}

func (m *merger) mergeImplements(def *ast.Definition, occs []occurrence) {
	for _, o := range occs {
		for _, i := range o.t.def.Interfaces {
			if !slices.Contains(def.Interfaces, i) {
				def.Interfaces = append(def.Interfaces, i)
			}
			def.Directives = append(def.Directives, directive("join__implements",
				enumArg("graph", m.graphEnum[o.sg.name]), strArg("interface", i)))
		}
	}
}

type fieldOcc struct {
	sg *subgraph
	t  *sgType
	f  *sgField
}

// mergeFields merges the fields of an object or interface type: output
// types by union of fields, with sharing, type and argument rules.
func (m *merger) mergeFields(def *ast.Definition, occs []occurrence) {
	var order []string
	byName := map[string][]fieldOcc{}
	for _, o := range occs {
		for _, f := range o.t.def.Fields {
			sf := o.t.fields[f.Name]
			if sf == nil {
				continue
			}
			if _, ok := byName[f.Name]; !ok {
				order = append(order, f.Name)
			}
			byName[f.Name] = append(byName[f.Name], fieldOcc{o.sg, o.t, sf})
		}
	}
	typeSubs := subNames(occs)
	for _, fname := range order {
		fo := byName[fname]
		coord := def.Name + "." + fname
		// overridden subgraphs no longer resolve the field (unless the
		// override is progressive, with a label).
		overridden := map[string]bool{}
		// progressive marks both sides of a labelled @override: they
		// resolve the field together while traffic migrates.
		progressive := map[string]bool{}
		for _, o := range fo {
			if o.f.overrideFrom != "" && o.f.overrideLabel == "" {
				overridden[o.f.overrideFrom] = true
			}
			if o.f.overrideFrom != "" && o.f.overrideLabel != "" {
				progressive[o.f.overrideFrom] = true
				progressive[o.sg.name] = true
			}
			for _, p := range fo {
				if p.sg.name == o.f.overrideFrom && p.f.overrideFrom != "" {
					m.c.errorf("OVERRIDE_SOURCE_HAS_OVERRIDE", []string{o.sg.name, p.sg.name}, coord,
						"Field %q on subgraph %q is also marked with directive @override in subgraph %q. Only one @override directive is allowed per field.",
						coord, o.sg.name, p.sg.name)
				}
			}
		}
		var resolving, external []fieldOcc
		for _, o := range fo {
			switch {
			case o.f.external:
				external = append(external, o)
			case overridden[o.sg.name]:
			default:
				resolving = append(resolving, o)
			}
		}
		if len(resolving) == 0 && len(external) > 0 && !anyOverridden(fo, overridden) {
			m.c.errorf("EXTERNAL_MISSING_ON_BASE", subNamesF(external), coord,
				"Field %q is marked @external on all the subgraphs in which it is listed (%s).", coord, quoteJoin(subNamesF(external)))
			continue
		}
		if def.Kind == ast.Object {
			sharing := slices.Clone(resolving)
			for _, o := range external {
				if m.provided(o.sg, def.Name, fname) {
					sharing = append(sharing, o)
				}
			}
			if len(sharing) > 1 {
				var non []string
				for _, o := range sharing {
					// an @external field that is provided needs no @shareable
					// in the providing subgraph (Apollo's @provides rules).
					if !o.f.shareable && !o.f.external && !progressive[o.sg.name] {
						non = append(non, o.sg.name)
					}
				}
				if len(non) > 0 {
					m.c.errorf("INVALID_FIELD_SHARING", subNamesF(sharing), coord,
						"Non-shareable field %q is resolved from multiple subgraphs: it is resolved from subgraphs %s and defined as non-shareable in %s.",
						coord, quoteJoin(subNamesF(sharing)), quoteJoin(non))
				}
			}
		}
		typed := resolving
		if len(typed) == 0 {
			typed = fo
		}
		types := make([]*ast.Type, 0, len(typed))
		for _, o := range typed {
			types = append(types, o.f.def.Type)
		}
		merged, ok := m.mergeOutput(types)
		if !ok {
			m.c.errorf("FIELD_TYPE_MISMATCH", subNamesF(typed), coord,
				"Type of field %q is incompatible across subgraphs: %s.", coord, typesBySubgraph(typed))
			continue
		}
		for _, o := range external {
			if o.f.def.Type.Name() != merged.Name() || listDepth(o.f.def.Type) != listDepth(merged) {
				m.c.errorf("EXTERNAL_TYPE_MISMATCH", []string{o.sg.name}, coord,
					"Type of field %q is incompatible across subgraphs (where marked @external): it has type %q in subgraph %q but type %q elsewhere.",
					coord, o.f.def.Type.String(), o.sg.name, merged.String())
			}
		}
		nf := &ast.FieldDefinition{Name: fname, Type: merged}
		var req Requirements
		var cost *int
		var ls *ListSize
		inaccessible := false
		var tags []string
		var dirLists []ast.DirectiveList
		for _, o := range fo {
			if nf.Description == "" {
				nf.Description = o.f.def.Description
			}
			req = andRequirements(req, o.f.req)
			cost = maxInt(cost, o.f.cost)
			ls = mergeListSize(ls, o.f.listSize)
			inaccessible = inaccessible || o.f.inaccessible
			tags = append(tags, o.f.tags...)
			dirLists = append(dirLists, o.f.def.Directives)
		}
		nf.Arguments = m.mergeArguments(coord, typed)
		nf.Directives = append(nf.Directives, m.joinFields(fo, overridden, typeSubs, merged)...)
		nf.Directives = append(nf.Directives, builtins(dirLists...)...)
		nf.Directives = append(nf.Directives, m.meta(req, cost, ls, inaccessible, sortedUnique(tags))...)
		def.Fields = append(def.Fields, nf)
		m.fieldSubs[coord] = sortedUnique(subNamesF(resolving))
	}
}

func anyOverridden(fo []fieldOcc, overridden map[string]bool) bool {
	for _, o := range fo {
		if overridden[o.sg.name] {
			return true
		}
	}
	return false
}

// joinFields prints @join__field for a field unless every subgraph of the
// type resolves it plainly (the reader then takes the type's subgraphs).
func (m *merger) joinFields(fo []fieldOcc, overridden map[string]bool, typeSubs []string, merged *ast.Type) ast.DirectiveList {
	plain := len(fo) == len(typeSubs)
	for _, o := range fo {
		if o.f.external || o.f.requires != "" || o.f.provides != "" || o.f.overrideFrom != "" ||
			overridden[o.sg.name] || o.f.def.Type.String() != merged.String() {
			plain = false
		}
	}
	if plain {
		return nil
	}
	var out ast.DirectiveList
	for _, o := range fo {
		args := ast.ArgumentList{enumArg("graph", m.graphEnum[o.sg.name])}
		if overridden[o.sg.name] {
			if !m.usedBySubgraphSet(o) {
				continue
			}
			args = append(args, boolValueArg("usedOverridden", true))
		}
		if o.f.requires != "" {
			args = append(args, strArg("requires", o.f.requires))
		}
		if o.f.provides != "" {
			args = append(args, strArg("provides", o.f.provides))
		}
		if o.f.def.Type.String() != merged.String() {
			args = append(args, strArg("type", o.f.def.Type.String()))
		}
		if o.f.external {
			args = append(args, boolValueArg("external", true))
		}
		if o.f.overrideFrom != "" {
			args = append(args, strArg("override", o.f.overrideFrom))
			if o.f.overrideLabel != "" {
				args = append(args, strArg("overrideLabel", o.f.overrideLabel))
			}
		}
		out = append(out, &ast.Directive{Name: "join__field", Arguments: args})
	}
	return out
}

// usedBySubgraphSet reports whether an overridden field is still selected
// by a @key or @requires of its subgraph (Apollo then marks it usedOverridden).
func (m *merger) usedBySubgraphSet(o fieldOcc) bool {
	for _, k := range o.t.keys {
		if slices.Contains(topLevelFields(k.fields), o.f.def.Name) {
			return true
		}
	}
	for _, f := range o.t.fields {
		if f.requires != "" && slices.Contains(topLevelFields(f.requires), o.f.def.Name) {
			return true
		}
	}
	return false
}

// provided reports whether subgraph sg provides Type.field through a
// @provides somewhere.
func (m *merger) provided(sg *subgraph, typeName, field string) bool {
	for _, t := range sg.types {
		for _, f := range t.fields {
			if f.provides == "" {
				continue
			}
			target := f.def.Type.Name()
			if target != typeName && !m.implements[target][typeName] && !m.members[target][typeName] {
				continue
			}
			if slices.Contains(topLevelFields(f.provides), field) {
				return true
			}
		}
	}
	return false
}

func subNamesF(fo []fieldOcc) []string {
	out := make([]string, len(fo))
	for i, o := range fo {
		out[i] = o.sg.name
	}
	return out
}

func quoteJoin(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return strings.Join(q, " and ")
}

func typesBySubgraph(fo []fieldOcc) string {
	parts := make([]string, len(fo))
	for i, o := range fo {
		parts[i] = fmt.Sprintf("type %q in subgraph %q", o.f.def.Type.String(), o.sg.name)
	}
	return strings.Join(parts, " but ")
}

func listDepth(t *ast.Type) int {
	d := 0
	for ; t != nil && t.Elem != nil; t = t.Elem {
		d++
	}
	return d
}

// isSubtype reports whether sub can stand where super is expected in an
// output position (non-null narrows, object narrows its interfaces/unions).
func (m *merger) isSubtype(sub, super *ast.Type) bool {
	switch {
	case super.NonNull:
		return sub.NonNull && m.isSubtype(nullable(sub), nullable(super))
	case sub.NonNull:
		return m.isSubtype(nullable(sub), super)
	case sub.Elem != nil || super.Elem != nil:
		return sub.Elem != nil && super.Elem != nil && m.isSubtype(sub.Elem, super.Elem)
	}
	return sub.NamedType == super.NamedType || m.implements[super.NamedType][sub.NamedType] ||
		m.members[super.NamedType][sub.NamedType]
}

func nullable(t *ast.Type) *ast.Type {
	c := *t
	c.NonNull = false
	return &c
}

// mergeOutput picks the most general of the output types, or fails.
func (m *merger) mergeOutput(types []*ast.Type) (*ast.Type, bool) {
	res := types[0]
	for _, t := range types[1:] {
		switch {
		case m.isSubtype(t, res):
		case m.isSubtype(res, t):
			res = t
		default:
			return nil, false
		}
	}
	return res, true
}

// sameShape compares types ignoring nullability.
func sameShape(a, b *ast.Type) bool {
	if (a.Elem == nil) != (b.Elem == nil) {
		return false
	}
	if a.Elem != nil {
		return sameShape(a.Elem, b.Elem)
	}
	return a.NamedType == b.NamedType
}

// strictest merges input types: the most restrictive nullability wins.
func strictest(a, b *ast.Type) *ast.Type {
	out := &ast.Type{NamedType: a.NamedType, NonNull: a.NonNull || b.NonNull}
	if a.Elem != nil {
		out.Elem = strictest(a.Elem, b.Elem)
	}
	return out
}

type inputOcc struct {
	sub string
	def *ast.FieldDefinition // or an argument, converted
	n   *names
}

// mergeInputValues merges arguments or input fields by intersection.
func (m *merger) mergeInputValues(coordOf func(string) string, groups [][]inputOcc, total int,
	missingCode, typeCode, defaultCode string) []*ast.FieldDefinition {
	var out []*ast.FieldDefinition
	for _, g := range groups {
		name := g[0].def.Name
		coord := coordOf(name)
		if len(g) < total {
			required := false
			for _, o := range g {
				if o.def.Type.NonNull && o.def.DefaultValue == nil {
					required = true
				}
			}
			if required {
				var subs []string
				for _, o := range g {
					subs = append(subs, o.sub)
				}
				m.c.errorf(missingCode, subs, coord,
					"%q is required in some subgraphs (%s) but does not appear in all subgraphs defining its parent.", coord, quoteJoin(subs))
			}
			continue
		}
		typ := g[0].def.Type
		ok := true
		var def *ast.Value
		var desc string
		var req Requirements
		var cost *int
		inaccessible := false
		var tags []string
		var dirLists []ast.DirectiveList
		for _, o := range g {
			if !sameShape(typ, o.def.Type) {
				ok = false
			} else {
				typ = strictest(typ, o.def.Type)
			}
			if o.def.DefaultValue != nil {
				if def != nil && def.String() != o.def.DefaultValue.String() {
					m.c.errorf(defaultCode, []string{g[0].sub, o.sub}, coord,
						"%q has incompatible default values across subgraphs: it has default value %s in subgraph %q but %s in subgraph %q.",
						coord, def.String(), g[0].sub, o.def.DefaultValue.String(), o.sub)
				}
				def = o.def.DefaultValue
			}
			if desc == "" {
				desc = o.def.Description
			}
			cost = maxInt(cost, o.n.readCost(o.def.Directives))
			inaccessible = inaccessible || o.n.has(o.def.Directives, "inaccessible")
			tags = append(tags, o.n.readTags(o.def.Directives)...)
			dirLists = append(dirLists, o.def.Directives)
		}
		if !ok {
			var parts []string
			for _, o := range g {
				parts = append(parts, fmt.Sprintf("type %q in subgraph %q", o.def.Type.String(), o.sub))
			}
			m.c.errorf(typeCode, nil, coord, "Type of %q is incompatible across subgraphs: %s.", coord, strings.Join(parts, " but "))
			for _, o := range g {
				m.c.errors[len(m.c.errors)-1].Subgraphs = append(m.c.errors[len(m.c.errors)-1].Subgraphs, o.sub)
			}
			continue
		}
		f := &ast.FieldDefinition{Name: name, Type: typ, DefaultValue: def, Description: desc}
		f.Directives = append(builtins(dirLists...), m.meta(req, cost, nil, inaccessible, sortedUnique(tags))...)
		out = append(out, f)
	}
	return out
}

func (m *merger) mergeArguments(coord string, fo []fieldOcc) ast.ArgumentDefinitionList {
	var order []string
	groups := map[string][]inputOcc{}
	for _, o := range fo {
		for _, a := range o.f.def.Arguments {
			if _, ok := groups[a.Name]; !ok {
				order = append(order, a.Name)
			}
			groups[a.Name] = append(groups[a.Name], inputOcc{o.sg.name, &ast.FieldDefinition{Name: a.Name,
				Type: a.Type, DefaultValue: a.DefaultValue, Directives: a.Directives, Description: a.Description}, o.sg.n})
		}
	}
	list := make([][]inputOcc, 0, len(order))
	for _, name := range order {
		list = append(list, groups[name])
	}
	fields := m.mergeInputValues(func(a string) string { return coord + "(" + a + ":)" }, list, len(fo),
		"REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH", "FIELD_ARGUMENT_TYPE_MISMATCH", "FIELD_ARGUMENT_DEFAULT_MISMATCH")
	var out ast.ArgumentDefinitionList
	for _, f := range fields {
		out = append(out, &ast.ArgumentDefinition{Name: f.Name, Type: f.Type, DefaultValue: f.DefaultValue,
			Description: f.Description, Directives: f.Directives})
	}
	return out
}

// mergeInput merges input object types by intersection of their fields.
func (m *merger) mergeInput(def *ast.Definition, occs []occurrence) {
	var order []string
	groups := map[string][]inputOcc{}
	for _, o := range occs {
		for _, f := range o.t.def.Fields {
			if _, ok := groups[f.Name]; !ok {
				order = append(order, f.Name)
			}
			groups[f.Name] = append(groups[f.Name], inputOcc{o.sg.name, f, o.sg.n})
		}
	}
	list := make([][]inputOcc, 0, len(order))
	for _, name := range order {
		list = append(list, groups[name])
	}
	def.Fields = m.mergeInputValues(func(f string) string { return def.Name + "." + f }, list, len(occs),
		"REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH", "FIELD_TYPE_MISMATCH", "INPUT_FIELD_DEFAULT_MISMATCH")
	if len(def.Fields) == 0 {
		m.c.errorf("EMPTY_MERGED_INPUT_TYPE", subNames(occs), def.Name,
			"None of the fields of input object type %q are consistently defined in all the subgraphs defining that type. As only fields common to all subgraphs are merged, this would result in an empty type.", def.Name)
	}
}

// mergeEnum merges enum values: union for output-only enums, intersection
// for input-only enums, identical sets for enums used both ways.
func (m *merger) mergeEnum(def *ast.Definition, occs []occurrence) {
	var order []string
	values := map[string][]occurrence{}
	defs := map[string][]*ast.EnumValueDefinition{}
	for _, o := range occs {
		for _, v := range o.t.def.EnumValues {
			if _, ok := values[v.Name]; !ok {
				order = append(order, v.Name)
			}
			values[v.Name] = append(values[v.Name], o)
			defs[v.Name] = append(defs[v.Name], v)
		}
	}
	in, out := m.inputUse[def.Name], m.outputUse[def.Name]
	for _, v := range order {
		vo := values[v]
		if len(vo) < len(occs) {
			if in && out {
				var missing []string
				for _, o := range occs {
					if !slices.ContainsFunc(vo, func(x occurrence) bool { return x.sg == o.sg }) {
						missing = append(missing, o.sg.name)
					}
				}
				m.c.errorf("ENUM_VALUE_MISMATCH", missing, def.Name+"."+v,
					"Enum type %q is used as both input type and output type, but value %q is not defined in all the subgraphs defining %q: it is defined in %s but not in %s.",
					def.Name, v, def.Name, quoteJoin(subNames(vo)), quoteJoin(missing))
				continue
			}
			if in {
				continue
			}
		}
		ev := &ast.EnumValueDefinition{Name: v}
		inaccessible := false
		var tags []string
		var dirLists []ast.DirectiveList
		for i, o := range vo {
			d := defs[v][i]
			if ev.Description == "" {
				ev.Description = d.Description
			}
			ev.Directives = append(ev.Directives, directive("join__enumValue", enumArg("graph", m.graphEnum[o.sg.name])))
			inaccessible = inaccessible || o.sg.n.has(d.Directives, "inaccessible")
			tags = append(tags, o.sg.n.readTags(d.Directives)...)
			dirLists = append(dirLists, d.Directives)
		}
		ev.Directives = append(ev.Directives, builtins(dirLists...)...)
		ev.Directives = append(ev.Directives, m.meta(Requirements{}, nil, nil, inaccessible, sortedUnique(tags))...)
		def.EnumValues = append(def.EnumValues, ev)
	}
	if len(def.EnumValues) == 0 {
		m.c.errorf("EMPTY_MERGED_ENUM_TYPE", subNames(occs), def.Name,
			"None of the values of enum type %q are defined consistently in all the subgraphs defining that type. As only values common to all subgraphs are merged, this would result in an empty type.", def.Name)
	}
}

// addInterfaceObjectFields gives every implementation of an interface the
// fields @interfaceObject subgraphs add to the interface (Federation 2.3):
// no subgraph defining the implementation has them, so they carry a
// join__field without a graph, and a query planner reaches them through
// the interface's key in the @interfaceObject subgraph.
func (m *merger) addInterfaceObjectFields() {
	names := slices.Sorted(maps.Keys(m.merged))
	for _, name := range names {
		iface := m.merged[name]
		if iface.Kind != ast.Interface || !slices.ContainsFunc(m.occ[name], func(o occurrence) bool { return o.t.interfaceObject }) {
			continue
		}
		for _, tname := range names {
			def := m.merged[tname]
			if def.Kind != ast.Object || !slices.Contains(def.Interfaces, name) {
				continue
			}
			for _, f := range iface.Fields {
				if def.Fields.ForName(f.Name) != nil {
					continue
				}
				nf := &ast.FieldDefinition{Name: f.Name, Description: f.Description, Type: f.Type, Arguments: f.Arguments,
					Directives: ast.DirectiveList{directive("join__field")}}
				for _, d := range f.Directives {
					if d.Name != "join__field" {
						nf.Directives = append(nf.Directives, d)
					}
				}
				def.Fields = append(def.Fields, nf)
				m.fieldSubs[tname+"."+f.Name] = m.fieldSubs[name+"."+f.Name]
			}
		}
	}
}

// checkMerged applies the rules that need the whole merged schema.
func (m *merger) checkMerged() {
	hidden := func(name string) bool {
		d := m.merged[name]
		return d != nil && hasDirective(d.Directives, "inaccessible")
	}
	for _, name := range slices.Sorted(maps.Keys(m.merged)) {
		def := m.merged[name]
		if def.Kind == ast.Object || def.Kind == ast.Interface {
			for _, i := range def.Interfaces {
				idef := m.merged[i]
				if idef == nil {
					continue
				}
				for _, f := range idef.Fields {
					if def.Fields.ForName(f.Name) == nil {
						m.c.errorf("INTERFACE_FIELD_NO_IMPLEM", subNames(m.occ[name]), name+"."+f.Name,
							"Interface field %q is declared but type %q, which implements %q, does not have field %q.",
							i+"."+f.Name, name, i, f.Name)
					}
				}
			}
		}
		if hidden(name) {
			continue
		}
		visible := 0
		for _, f := range def.Fields {
			if hasDirective(f.Directives, "inaccessible") {
				continue
			}
			visible++
			if hidden(f.Type.Name()) {
				m.c.errorf("REFERENCED_INACCESSIBLE", subNames(m.occ[name]), name+"."+f.Name,
					"Type %q is @inaccessible but is referenced by %q, which is in the API schema.", f.Type.Name(), name+"."+f.Name)
			}
			for _, a := range f.Arguments {
				if !hasDirective(a.Directives, "inaccessible") && hidden(a.Type.Name()) {
					m.c.errorf("REFERENCED_INACCESSIBLE", subNames(m.occ[name]), name+"."+f.Name+"("+a.Name+":)",
						"Type %q is @inaccessible but is referenced by %q, which is in the API schema.", a.Type.Name(), name+"."+f.Name+"("+a.Name+":)")
				}
			}
		}
		for _, v := range def.EnumValues {
			if !hasDirective(v.Directives, "inaccessible") {
				visible++
			}
		}
		if def.Kind == ast.Union {
			for _, t := range def.Types {
				if !hidden(t) {
					visible++
				}
			}
		}
		if def.Kind != ast.Scalar && visible == 0 && (len(def.Fields) > 0 || len(def.EnumValues) > 0 || len(def.Types) > 0) {
			m.c.errorf("ONLY_INACCESSIBLE_CHILDREN", subNames(m.occ[name]), name,
				"Type %q is in the API schema but all of its members are @inaccessible.", name)
		}
	}
	q := m.merged["Query"]
	queries := 0
	if q != nil && !hidden("Query") {
		for _, f := range q.Fields {
			if !hasDirective(f.Directives, "inaccessible") {
				queries++
			}
		}
	}
	for _, o := range m.occ["Query"] {
		if len(o.t.def.Fields) > 0 && (q == nil || len(q.Fields) < len(o.t.def.Fields)) {
			// a Query field failed to merge: that error says it better.
			queries++
		}
	}
	if queries == 0 {
		m.c.errorf("NO_QUERIES", nil, "", "No queries found in any subgraph: a supergraph must have a query root type.")
	}
}

func hasDirective(list ast.DirectiveList, name string) bool {
	return list.ForName(name) != nil
}
