package schema

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// Kind is what an SDL document is.
type Kind int

const (
	// KindMonolith is a plain, non-federated schema.
	KindMonolith Kind = iota
	// Subgraph is a federation subgraph (Federation 2 @link or Federation 1 directives).
	KindSubgraph
	// Supergraph is a composed supergraph with join__ directives.
	KindSupergraph
)

func (k Kind) String() string {
	switch k {
	case KindSubgraph:
		return "subgraph"
	case KindSupergraph:
		return "supergraph"
	}
	return "monolith"
}

// maxSDLTokens bounds the parser so a hostile document cannot exhaust memory.
const maxSDLTokens = 2_000_000

// Graph is a loaded GraphQL schema: the API schema clients validate against
// and an indexed metadata view. It is immutable after construction and safe
// for concurrent readers; callers must not modify what it returns.
type Graph struct {
	kind       Kind
	api        *ast.Schema
	fields     map[string]*FieldMeta
	types      map[string]*TypeMeta
	subgraphs  []SubgraphInfo
	supergraph string
	version    string
	// extracted is each subgraph's view for a query planner (federated
	// graphs only); extractErr says why there is none.
	extracted      []ExtractedSubgraph
	extractErr     error
	overrideLabels []OverrideLabel
}

// SubgraphInfo is a subgraph of a federated graph, as named in join__Graph.
type SubgraphInfo struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Schema returns the API schema: no federation internals, @inaccessible
// elements removed.
func (g *Graph) Schema() *ast.Schema { return g.api }

// Field returns the metadata of an output field coordinate, nil if unknown
// (also for introspection fields such as __typename).
func (g *Graph) Field(typeName, field string) *FieldMeta {
	return g.fields[typeName+"."+field]
}

// Type returns the metadata of a named type, nil if unknown.
func (g *Graph) Type(name string) *TypeMeta { return g.types[name] }

// Kind is what the graph was loaded from (a composition is a Supergraph).
func (g *Graph) Kind() Kind { return g.kind }

// Subgraphs lists the subgraphs of a federated graph in join__Graph order.
func (g *Graph) Subgraphs() []SubgraphInfo { return slices.Clone(g.subgraphs) }

// Fields returns every field's metadata sorted by coordinate.
func (g *Graph) Fields() []*FieldMeta {
	return slices.SortedFunc(maps.Values(g.fields), func(a, b *FieldMeta) int {
		return strings.Compare(a.Coordinate, b.Coordinate)
	})
}

// Types returns every type's metadata sorted by name.
func (g *Graph) Types() []*TypeMeta {
	return slices.SortedFunc(maps.Values(g.types), func(a, b *TypeMeta) int {
		return strings.Compare(a.Name, b.Name)
	})
}

// Version is a stable hash of the API schema and the metadata, for caches
// keyed by schema (a reload with the same result keeps the same version).
func (g *Graph) Version() string { return g.version }

// SupergraphSDL prints the graph as SDL that ParseSDL loads back to the same
// metadata: a Federation 2 supergraph for federated graphs, the normalized
// schema for a monolith.
func (g *Graph) SupergraphSDL() string { return g.supergraph }

// Detect tells a subgraph, a supergraph and a plain schema apart. An
// unparsable document is reported as a KindMonolith (loading it fails anyway).
func Detect(sdl string) Kind {
	doc, err := parser.ParseSchemaWithLimit(&ast.Source{Input: sdl}, maxSDLTokens)
	if err != nil {
		return KindMonolith
	}
	return detectDoc(doc)
}

// fed1Markers are the directives that make a document without @link a
// Federation 1 subgraph.
var fed1Markers = map[string]bool{"key": true, "extends": true, "external": true,
	"requires": true, "provides": true, "shareable": true}

func detectDoc(doc *ast.SchemaDocument) Kind {
	// A join link wins over a federation link wherever it appears.
	linksFederation := false
	for _, l := range linkDirectives(doc) {
		switch spec, _, _ := parseSpecURL(stringArg(l, "url")); spec {
		case specJoin:
			return KindSupergraph
		case specFederation:
			linksFederation = true
		}
	}
	if linksFederation {
		return KindSubgraph
	}
	for _, d := range doc.Directives {
		if strings.HasPrefix(d.Name, "join__") {
			return KindSupergraph
		}
	}
	sub := false
	visit := func(list ast.DirectiveList) {
		for _, d := range list {
			if fed1Markers[d.Name] {
				sub = true
			}
		}
	}
	for _, defs := range []ast.DefinitionList{doc.Definitions, doc.Extensions} {
		for _, def := range defs {
			for _, d := range def.Directives {
				if strings.HasPrefix(d.Name, "join__") {
					return KindSupergraph
				}
			}
			visit(def.Directives)
			for _, f := range def.Fields {
				visit(f.Directives)
				if f.Name == "_service" || f.Name == "_entities" {
					sub = true
				}
			}
		}
	}
	if sub {
		return KindSubgraph
	}
	return KindMonolith
}

// monolithDefaults are the directives a monolith without @link uses by
// their standard names (the docs/ pages 5).
var monolithDefaults = []string{"inaccessible", "tag", "authenticated", "requiresScopes",
	"policy", "cost", "listSize"}

// ParseSDL loads one SDL document: a subgraph (composed alone, named name),
// a supergraph or a plain monolith.
func ParseSDL(name, sdl string) (g *Graph, err error) {
	defer func() {
		// The loader must never take the process down on hostile input.
		if r := recover(); r != nil {
			g, err = nil, fmt.Errorf("loading schema %q: internal error: %v", name, r)
		}
	}()
	doc, perr := parser.ParseSchemaWithLimit(&ast.Source{Name: name, Input: sdl}, maxSDLTokens)
	if perr != nil {
		return nil, fmt.Errorf("parsing schema %q: %w", name, perr)
	}
	switch detectDoc(doc) {
	case KindSubgraph:
		g, err := Compose([]SubgraphSDL{{Name: name, SDL: sdl}})
		if err != nil {
			return nil, fmt.Errorf("composing subgraph %q: %w", name, err)
		}
		return g, nil
	case KindSupergraph:
		g, err := buildGraph(KindSupergraph, doc, resolveNames(doc))
		if err != nil {
			return nil, fmt.Errorf("loading supergraph %q: %w", name, err)
		}
		return g, nil
	}
	g, err = buildGraph(KindMonolith, doc, resolveNames(doc, monolithDefaults...))
	if err != nil {
		return nil, fmt.Errorf("loading schema %q: %w", name, err)
	}
	return g, nil
}

// prepare normalizes a document for gqlparser: spec types and the
// definitions of known directives are replaced by this package's templates
// under the document's local names.
func prepare(doc *ast.SchemaDocument, n *names) *ast.SchemaDocument {
	out := &ast.SchemaDocument{Schema: doc.Schema, SchemaExtension: doc.SchemaExtension,
		DirectiveExtensions: doc.DirectiveExtensions}
	for _, d := range doc.Directives {
		if n.canonical(d.Name) == "" {
			out.Directives = append(out.Directives, d)
		}
	}
	declared := map[string]bool{}
	for _, d := range out.Directives {
		declared[d.Name] = true
	}
	for _, local := range slices.Sorted(maps.Keys(n.dirs)) {
		if declared[local] || builtinDirectives[local] {
			continue
		}
		if def := templateDefinition(local, n.dirs[local]); def != nil {
			out.Directives = append(out.Directives, def)
		}
	}
	for _, def := range doc.Definitions {
		if !n.types[def.Name] {
			out.Definitions = append(out.Definitions, def)
		}
	}
	for _, def := range doc.Extensions {
		if !n.types[def.Name] {
			out.Extensions = append(out.Extensions, def)
		}
	}
	return out
}

// loadFull validates a prepared document with the prelude.
func loadFull(doc *ast.SchemaDocument) (*ast.Schema, error) {
	full := validator.PreludeDocument()
	full.Merge(doc)
	s, err := validator.ValidateSchemaDocument(full)
	if err != nil {
		var ge *gqlerror.Error
		if errors.As(err, &ge) {
			return nil, ge
		}
		return nil, err
	}
	return s, nil
}

// graphNames reads the join__Graph enum: enum value -> subgraph.
func graphNames(doc *ast.SchemaDocument, n *names) ([]SubgraphInfo, map[string]string) {
	prefix, ok := n.prefixes[specJoin]
	if !ok {
		return nil, nil
	}
	byValue := map[string]string{}
	var infos []SubgraphInfo
	for _, def := range doc.Definitions {
		if def.Name != prefix+"__Graph" || def.Kind != ast.Enum {
			continue
		}
		for _, v := range def.EnumValues {
			d := n.find(v.Directives, "join__graph")
			name := stringArg(d, "name")
			if name == "" {
				name = strings.ToLower(v.Name)
			}
			byValue[v.Name] = name
			infos = append(infos, SubgraphInfo{Name: name, URL: stringArg(d, "url")})
		}
	}
	return infos, byValue
}

// buildGraph turns a monolith or supergraph document into a Graph.
func buildGraph(kind Kind, doc *ast.SchemaDocument, n *names) (*Graph, error) {
	if kind == KindSupergraph && !n.linked[specJoin] {
		// A supergraph that names join__ directives without @link uses the
		// default prefix.
		n.prefixes[specJoin] = "join"
		for _, e := range specDirectives[specJoin] {
			n.add("join__"+e, "join__"+e)
		}
		for _, t := range specTypes[specJoin] {
			n.types["join__"+t] = true
		}
	}
	if len(n.problems) > 0 {
		return nil, fmt.Errorf("reading @link: %s", n.problems[0].message)
	}
	infos, byValue := graphNames(doc, n)
	full, err := loadFull(prepare(doc, n))
	if err != nil {
		return nil, err
	}
	g := &Graph{kind: kind, fields: map[string]*FieldMeta{}, types: map[string]*TypeMeta{}, subgraphs: infos}
	graphsOf := func(list ast.DirectiveList, canonical string) []string {
		var out []string
		for _, d := range n.findAll(list, canonical) {
			if s, ok := byValue[stringArg(d, "graph")]; ok {
				out = append(out, s)
			}
		}
		return sortedUnique(out)
	}
	for _, def := range full.Types {
		if def.BuiltIn || strings.HasPrefix(def.Name, "__") {
			continue
		}
		tm := &TypeMeta{Name: def.Name, Kind: def.Kind,
			Requirements: n.readRequirements(def.Directives),
			Cost:         n.readCost(def.Directives),
			Inaccessible: n.has(def.Directives, "inaccessible"),
			Tags:         n.readTags(def.Directives),
			Subgraphs:    graphsOf(def.Directives, "join__type"),
		}
		for _, d := range n.findAll(def.Directives, "join__type") {
			if key := stringArg(d, "key"); key != "" {
				tm.Keys = append(tm.Keys, Key{Subgraph: byValue[stringArg(d, "graph")], Fields: key,
					Resolvable: boolArg(d, "resolvable", true)})
			}
		}
		g.types[def.Name] = tm
		switch def.Kind {
		case ast.InputObject:
			tm.InputFields = map[string]*ArgMeta{}
			for _, f := range def.Fields {
				tm.InputFields[f.Name] = &ArgMeta{Name: f.Name, Cost: n.readCost(f.Directives),
					Inaccessible: n.has(f.Directives, "inaccessible")}
			}
		case ast.Object, ast.Interface:
			for _, f := range def.Fields {
				if strings.HasPrefix(f.Name, "__") {
					continue
				}
				g.fields[def.Name+"."+f.Name] = fieldMeta(def, f, n, byValue, tm)
			}
		}
	}
	api, err := apiSchema(full, n, g)
	if err != nil {
		return nil, fmt.Errorf("building the API schema: %w", err)
	}
	g.api = api
	if kind == KindSupergraph {
		g.extracted, g.overrideLabels, g.extractErr = extractSubgraphs(full, n, byValue, infos)
		if g.extractErr == nil {
			g.extractErr = checkExtractedSDL(g.extracted)
		}
	}
	g.supergraph = printDocument(doc)
	g.version = versionOf(g)
	return g, nil
}

func fieldMeta(def *ast.Definition, f *ast.FieldDefinition, n *names, byValue map[string]string, tm *TypeMeta) *FieldMeta {
	fm := &FieldMeta{Coordinate: def.Name + "." + f.Name,
		Requirements: n.readRequirements(f.Directives),
		Cost:         n.readCost(f.Directives),
		ListSize:     n.readListSize(f.Directives),
		Inaccessible: n.has(f.Directives, "inaccessible"),
		Tags:         n.readTags(f.Directives),
	}
	if len(f.Arguments) > 0 {
		fm.Arguments = map[string]*ArgMeta{}
		for _, a := range f.Arguments {
			fm.Arguments[a.Name] = &ArgMeta{Name: a.Name, Cost: n.readCost(a.Directives),
				Inaccessible: n.has(a.Directives, "inaccessible")}
		}
	}
	joins := n.findAll(f.Directives, "join__field")
	withGraph := 0
	for _, d := range joins {
		graph, ok := byValue[stringArg(d, "graph")]
		if !ok {
			continue
		}
		withGraph++
		switch {
		case boolArg(d, "external", false):
			fm.External = append(fm.External, graph)
		case boolArg(d, "usedOverridden", false):
		default:
			fm.Subgraphs = append(fm.Subgraphs, graph)
		}
		if r := stringArg(d, "requires"); r != "" {
			if fm.Requires == nil {
				fm.Requires = map[string]string{}
			}
			fm.Requires[graph] = r
		}
		if p := stringArg(d, "provides"); p != "" {
			if fm.Provides == nil {
				fm.Provides = map[string]string{}
			}
			fm.Provides[graph] = p
		}
		if o := stringArg(d, "override"); o != "" {
			fm.OverrideFrom = o
		}
	}
	if withGraph == 0 {
		fm.Subgraphs = slices.Clone(tm.Subgraphs)
	}
	fm.Subgraphs = sortedUnique(fm.Subgraphs)
	fm.External = sortedUnique(fm.External)
	// A field is shareable when more than one subgraph resolves it; the
	// supergraph keeps no other trace of @shareable.
	fm.Shareable = len(fm.Subgraphs) > 1
	return fm
}

// apiSchema builds the schema clients see: spec types, federation
// directives and @inaccessible elements removed.
func apiSchema(full *ast.Schema, n *names, g *Graph) (*ast.Schema, error) {
	doc := &ast.SchemaDocument{}
	hidden := func(name string) bool {
		t := g.types[name]
		return t == nil || t.Inaccessible
	}
	keep := func(list ast.DirectiveList) ast.DirectiveList {
		var out ast.DirectiveList
		for _, d := range list {
			if builtinDirectives[d.Name] && n.canonical(d.Name) == "" {
				out = append(out, &ast.Directive{Name: d.Name, Arguments: d.Arguments, Position: d.Position})
			}
		}
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(full.Types)) {
		def := full.Types[name]
		if def.BuiltIn || strings.HasPrefix(name, "__") || hidden(name) {
			continue
		}
		nd := &ast.Definition{Kind: def.Kind, Name: def.Name, Description: def.Description,
			Directives: keep(def.Directives), Position: def.Position}
		for _, i := range def.Interfaces {
			if !hidden(i) {
				nd.Interfaces = append(nd.Interfaces, i)
			}
		}
		for _, t := range def.Types {
			if !hidden(t) {
				nd.Types = append(nd.Types, t)
			}
		}
		for _, v := range def.EnumValues {
			if !n.has(v.Directives, "inaccessible") {
				nd.EnumValues = append(nd.EnumValues, &ast.EnumValueDefinition{Name: v.Name,
					Description: v.Description, Directives: keep(v.Directives), Position: v.Position})
			}
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") || n.has(f.Directives, "inaccessible") {
				continue
			}
			nf := &ast.FieldDefinition{Name: f.Name, Description: f.Description, Type: f.Type,
				DefaultValue: f.DefaultValue, Directives: keep(f.Directives), Position: f.Position}
			for _, a := range f.Arguments {
				if n.has(a.Directives, "inaccessible") {
					continue
				}
				nf.Arguments = append(nf.Arguments, &ast.ArgumentDefinition{Name: a.Name,
					Description: a.Description, Type: a.Type, DefaultValue: a.DefaultValue,
					Directives: keep(a.Directives), Position: a.Position})
			}
			nd.Fields = append(nd.Fields, nf)
		}
		doc.Definitions = append(doc.Definitions, nd)
	}
	for _, name := range slices.Sorted(maps.Keys(full.Directives)) {
		d := full.Directives[name]
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		if n.canonical(name) != "" || !executable(d) {
			continue
		}
		doc.Directives = append(doc.Directives, d)
	}
	sd := &ast.SchemaDefinition{}
	for _, root := range []struct {
		op  ast.Operation
		def *ast.Definition
	}{{ast.Query, full.Query}, {ast.Mutation, full.Mutation}, {ast.Subscription, full.Subscription}} {
		if root.def != nil && !hidden(root.def.Name) {
			sd.OperationTypes = append(sd.OperationTypes, &ast.OperationTypeDefinition{Operation: root.op, Type: root.def.Name})
		}
	}
	if len(sd.OperationTypes) > 0 {
		doc.Schema = ast.SchemaDefinitionList{sd}
	}
	return loadFull(doc)
}

func executable(d *ast.DirectiveDefinition) bool {
	for _, l := range d.Locations {
		switch l {
		case ast.LocationQuery, ast.LocationMutation, ast.LocationSubscription, ast.LocationField,
			ast.LocationFragmentDefinition, ast.LocationFragmentSpread, ast.LocationInlineFragment,
			ast.LocationVariableDefinition:
			return true
		}
	}
	return false
}

func printDocument(doc *ast.SchemaDocument) string {
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchemaDocument(doc)
	return buf.String()
}

func versionOf(g *Graph) string {
	h := sha256.New()
	formatter.NewFormatter(h).FormatSchema(g.api)
	meta, _ := json.Marshal(struct {
		Types  map[string]*TypeMeta
		Fields map[string]*FieldMeta
	}{g.types, g.fields})
	h.Write(meta)
	return hex.EncodeToString(h.Sum(nil))[:16]
}
