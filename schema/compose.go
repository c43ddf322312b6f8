package schema

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// SubgraphSDL is one subgraph's SDL to compose.
type SubgraphSDL struct{ Name, URL, SDL string }

// fed1Defaults are the directives a Federation 1 subgraph (no @link to the
// federation spec) uses by their standard names.
var fed1Defaults = append([]string{"key", "external", "requires", "provides", "extends",
	"shareable", "override"}, monolithDefaults...)

// federationInternals are the types and root fields a subgraph library adds
// for the router's use; they never reach the supergraph.
var federationInternals = map[string]bool{"_Any": true, "_Entity": true, "_Service": true,
	"_FieldSet": true, "link__Import": true, "link__Purpose": true}

// sgField is one field of one type in one subgraph.
type sgField struct {
	def           *ast.FieldDefinition
	external      bool
	shareable     bool
	requires      string
	provides      string
	overrideFrom  string
	overrideLabel string
	inaccessible  bool
	tags          []string
	req           Requirements
	cost          *int
	listSize      *ListSize
}

type sgKey struct {
	fields     string
	resolvable bool
}

// sgType is one type in one subgraph.
type sgType struct {
	def             *ast.Definition
	extension       bool
	keys            []sgKey
	interfaceObject bool
	inaccessible    bool
	tags            []string
	req             Requirements
	cost            *int
	fields          map[string]*sgField
}

// subgraph is one parsed, validated subgraph.
type subgraph struct {
	name, url string
	fed1      bool
	n         *names
	schema    *ast.Schema
	types     map[string]*sgType
}

// composer collects errors across all rules (the docs/ pages: collected, not
// stopped at the first).
type composer struct {
	subs      []*subgraph
	errors    []CompositionError
	merged    map[string]*ast.Definition
	fieldSubs map[string][]string
}

func (c *composer) errorf(code string, subs []string, coord, format string, args ...any) {
	c.errors = append(c.errors, CompositionError{Code: code, Subgraphs: slices.Clone(subs),
		Coordinate: coord, Message: fmt.Sprintf(format, args...)})
}

// Compose composes Federation 2 (and Federation 1) subgraphs into a graph.
// A failed composition returns *CompositionErrors listing every error.
func Compose(subgraphs []SubgraphSDL) (g *Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, err = nil, &CompositionErrors{Errors: []CompositionError{{Code: "INTERNAL_ERROR",
				Message: fmt.Sprintf("composition failed unexpectedly: %v", r)}}}
		}
	}()
	c := &composer{}
	if len(subgraphs) == 0 {
		c.errorf("NO_SUBGRAPHS", nil, "", "No subgraphs to compose.")
		return nil, &CompositionErrors{Errors: c.errors}
	}
	seen := map[string]bool{}
	for _, s := range subgraphs {
		if s.Name == "" || seen[s.Name] {
			c.errorf("INVALID_SUBGRAPH_NAME", []string{s.Name}, "", "Subgraph names must be unique and non-empty.")
			continue
		}
		seen[s.Name] = true
		if sg := c.load(s); sg != nil {
			c.subs = append(c.subs, sg)
		}
	}
	if len(c.errors) > 0 {
		return nil, c.fail()
	}
	for _, sg := range c.subs {
		c.validateSubgraph(sg)
	}
	if len(c.errors) > 0 {
		return nil, c.fail()
	}
	doc := c.merge()
	if len(c.errors) > 0 {
		return nil, c.fail()
	}
	c.satisfiability()
	if len(c.errors) > 0 {
		return nil, c.fail()
	}
	text := printDocument(doc)
	parsed, perr := parser.ParseSchemaWithLimit(&ast.Source{Name: "supergraph", Input: text}, maxSDLTokens)
	if perr != nil {
		c.errorf("INVALID_GRAPHQL", nil, "", "The composed supergraph does not parse: %v", perr)
		return nil, c.fail()
	}
	g, err = buildGraph(KindSupergraph, parsed, resolveNames(parsed))
	if err != nil {
		c.errorf("INVALID_GRAPHQL", nil, "", "The composed supergraph is invalid: %v", err)
		return nil, c.fail()
	}
	return g, nil
}

func (c *composer) fail() error {
	sort.SliceStable(c.errors, func(i, j int) bool {
		a, b := c.errors[i], c.errors[j]
		if a.Coordinate != b.Coordinate {
			return a.Coordinate < b.Coordinate
		}
		return a.Code < b.Code
	})
	return &CompositionErrors{Errors: c.errors}
}

// load parses one subgraph, resolves its @link names and validates it.
func (c *composer) load(s SubgraphSDL) *subgraph {
	one := []string{s.Name}
	doc, err := parser.ParseSchemaWithLimit(&ast.Source{Name: s.Name, Input: s.SDL}, maxSDLTokens)
	if err != nil {
		c.errorf("INVALID_GRAPHQL", one, "", "%v", err)
		return nil
	}
	if detectDoc(doc) == KindSupergraph {
		c.errorf("INVALID_GRAPHQL", one, "", "The document is a supergraph, not a subgraph.")
		return nil
	}
	n := resolveNames(doc)
	sg := &subgraph{name: s.Name, url: s.URL, n: n, types: map[string]*sgType{}}
	if n.federation == nil {
		sg.fed1 = true
		n.standard(fed1Defaults...)
		n.types["FieldSet"] = true
	}
	for _, p := range n.problems {
		c.errorf(p.code, one, "", "%s", p.message)
	}
	for t := range federationInternals {
		n.types[t] = true
	}
	if !c.renameRoots(sg, doc) {
		return nil
	}
	for _, list := range []ast.DefinitionList{doc.Definitions, doc.Extensions} {
		for _, def := range list {
			if def.Name != "Query" {
				continue
			}
			var kept ast.FieldList
			for _, f := range def.Fields {
				if f.Name != "_service" && f.Name != "_entities" {
					kept = append(kept, f)
				}
			}
			def.Fields = kept
		}
	}
	// Drop a Query left empty by removing the federation fields.
	doc.Definitions = dropEmptyQuery(doc.Definitions)
	doc.Extensions = dropEmptyQuery(doc.Extensions)
	doc.Schema, doc.SchemaExtension = nil, nil
	full, err := loadFull(prepare(doc, n))
	if err != nil {
		c.errorf("INVALID_GRAPHQL", one, "", "%v", err)
		return nil
	}
	sg.schema = full
	based := map[string]bool{}
	for _, def := range doc.Definitions {
		based[def.Name] = true
	}
	for name, def := range full.Types {
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		sg.types[name] = sg.readType(def, !based[name])
	}
	return sg
}

func dropEmptyQuery(list ast.DefinitionList) ast.DefinitionList {
	var out ast.DefinitionList
	for _, d := range list {
		if d.Name == "Query" && len(d.Fields) == 0 && len(d.Directives) == 0 {
			continue
		}
		out = append(out, d)
	}
	return out
}

// renameRoots gives root operation types their default names, as the
// supergraph has them (Apollo composition does the same).
func (c *composer) renameRoots(sg *subgraph, doc *ast.SchemaDocument) bool {
	renames := map[string]string{}
	codes := map[ast.Operation]string{ast.Query: "ROOT_QUERY_USED", ast.Mutation: "ROOT_MUTATION_USED",
		ast.Subscription: "ROOT_SUBSCRIPTION_USED"}
	defaults := map[ast.Operation]string{ast.Query: "Query", ast.Mutation: "Mutation", ast.Subscription: "Subscription"}
	ok := true
	for _, list := range []ast.SchemaDefinitionList{doc.Schema, doc.SchemaExtension} {
		for _, s := range list {
			for _, ot := range s.OperationTypes {
				want := defaults[ot.Operation]
				if ot.Type == want {
					continue
				}
				for _, def := range doc.Definitions {
					if def.Name == want {
						c.errorf(codes[ot.Operation], []string{sg.name}, want,
							"The schema has a type named %q but it is not set as the %s root type (%q is instead).",
							want, ot.Operation, ot.Type)
						ok = false
					}
				}
				renames[ot.Type] = want
			}
		}
	}
	if !ok || len(renames) == 0 {
		return ok
	}
	rename := func(name string) string {
		if r, ok := renames[name]; ok {
			return r
		}
		return name
	}
	var fixType func(t *ast.Type)
	fixType = func(t *ast.Type) {
		if t == nil {
			return
		}
		if t.Elem != nil {
			fixType(t.Elem)
			return
		}
		t.NamedType = rename(t.NamedType)
	}
	for _, list := range []ast.DefinitionList{doc.Definitions, doc.Extensions} {
		for _, def := range list {
			def.Name = rename(def.Name)
			for i := range def.Types {
				def.Types[i] = rename(def.Types[i])
			}
			for i := range def.Interfaces {
				def.Interfaces[i] = rename(def.Interfaces[i])
			}
			for _, f := range def.Fields {
				fixType(f.Type)
				for _, a := range f.Arguments {
					fixType(a.Type)
				}
			}
		}
	}
	return true
}

// readType reads the federation and metadata directives of one type.
func (sg *subgraph) readType(def *ast.Definition, extensionOnly bool) *sgType {
	n := sg.n
	t := &sgType{def: def, fields: map[string]*sgField{},
		extension:       (sg.fed1 && extensionOnly) || n.has(def.Directives, "extends"),
		interfaceObject: n.has(def.Directives, "interfaceObject"),
		inaccessible:    n.has(def.Directives, "inaccessible"),
		tags:            n.readTags(def.Directives),
		req:             n.readRequirements(def.Directives),
		cost:            n.readCost(def.Directives),
	}
	for _, k := range n.findAll(def.Directives, "key") {
		t.keys = append(t.keys, sgKey{fields: stringArg(k, "fields"), resolvable: boolArg(k, "resolvable", true)})
	}
	keyFields := map[string]bool{}
	for _, k := range t.keys {
		for _, f := range topLevelFields(k.fields) {
			keyFields[f] = true
		}
	}
	typeShareable := n.has(def.Directives, "shareable")
	typeExternal := n.has(def.Directives, "external")
	for _, f := range def.Fields {
		if strings.HasPrefix(f.Name, "__") {
			continue
		}
		sf := &sgField{def: f,
			external:     typeExternal || n.has(f.Directives, "external"),
			requires:     stringArg(n.find(f.Directives, "requires"), "fields"),
			provides:     stringArg(n.find(f.Directives, "provides"), "fields"),
			inaccessible: n.has(f.Directives, "inaccessible"),
			tags:         n.readTags(f.Directives),
			req:          n.readRequirements(f.Directives),
			cost:         n.readCost(f.Directives),
			listSize:     n.readListSize(f.Directives),
		}
		if o := n.find(f.Directives, "override"); o != nil {
			sf.overrideFrom, sf.overrideLabel = stringArg(o, "from"), stringArg(o, "label")
		}
		// Federation 1 semantics: every field may be resolved by several
		// subgraphs, and @external key fields of an extension are resolvable.
		if sg.fed1 && sf.external && keyFields[f.Name] {
			sf.external = false
		}
		sf.shareable = sg.fed1 || typeShareable || n.has(f.Directives, "shareable") ||
			(keyFields[f.Name] && def.Kind == ast.Object)
		t.fields[f.Name] = sf
	}
	return t
}

// topLevelFields returns the top-level field names of a field set; an
// unparsable set yields none (it is reported by the field-set rules).
func topLevelFields(fields string) []string {
	set, err := parseFieldSet(fields)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range set {
		if f, ok := s.(*ast.Field); ok {
			out = append(out, f.Name)
		}
	}
	return out
}

// parseFieldSet parses a FieldSet string as a selection set.
func parseFieldSet(fields string) (ast.SelectionSet, error) {
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: "{" + fields + "}"}, 10_000)
	if err != nil {
		return nil, err
	}
	if len(doc.Operations) != 1 || len(doc.Fragments) > 0 {
		return nil, fmt.Errorf("not a selection set")
	}
	return doc.Operations[0].SelectionSet, nil
}
