package schema

import (
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// directiveTemplates define every known element so gqlparser accepts the
// documents that use them without declaring them. Argument types are
// built-in scalars: gqlparser does not type-check directive arguments in
// SDL, and spec scalars (FieldSet, Scope...) are stripped before loading.
var directiveTemplates = map[string]string{
	"key":               `(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE`,
	"requires":          `(fields: String!) on FIELD_DEFINITION`,
	"provides":          `(fields: String!) on FIELD_DEFINITION`,
	"external":          `(reason: String) on OBJECT | FIELD_DEFINITION`,
	"tag":               `(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION | SCHEMA`,
	"extends":           `on OBJECT | INTERFACE`,
	"shareable":         `repeatable on OBJECT | FIELD_DEFINITION`,
	"inaccessible":      `on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION`,
	"override":          `(from: String!, label: String) on FIELD_DEFINITION`,
	"composeDirective":  `(name: String!) repeatable on SCHEMA`,
	"interfaceObject":   `on OBJECT`,
	"authenticated":     `on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM`,
	"requiresScopes":    `(scopes: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM`,
	"policy":            `(policies: [[String!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM`,
	"context":           `(name: String!) repeatable on INTERFACE | OBJECT | UNION`,
	"fromContext":       `(field: String) on ARGUMENT_DEFINITION`,
	"cost":              `(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR`,
	"listSize":          `(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION`,
	"link":              `(url: String, as: String, for: String, import: [String]) repeatable on SCHEMA`,
	"join__graph":       `(name: String!, url: String!) on ENUM_VALUE`,
	"join__type":        `(graph: String!, key: String, extension: Boolean = false, resolvable: Boolean = true, isInterfaceObject: Boolean = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR`,
	"join__field":       `(graph: String, requires: String, provides: String, type: String, external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String, contextArguments: [String]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION`,
	"join__implements":  `(graph: String!, interface: String!) repeatable on OBJECT | INTERFACE`,
	"join__unionMember": `(graph: String!, member: String!) repeatable on UNION`,
	"join__enumValue":   `(graph: String!) repeatable on ENUM_VALUE`,
	"join__owner":       `(graph: String!) on OBJECT | INTERFACE`,
	"join__directive":   `(graphs: [String!], name: String!, args: String) repeatable on SCHEMA | OBJECT | INTERFACE | FIELD_DEFINITION`,
}

// templateDefinition parses the template of canonical under a local name.
func templateDefinition(local, canonical string) *ast.DirectiveDefinition {
	tpl, ok := directiveTemplates[canonical]
	if !ok {
		return nil
	}
	doc, err := parser.ParseSchema(&ast.Source{Name: "directives", Input: "directive @" + local + " " + tpl})
	if err != nil || len(doc.Directives) != 1 {
		return nil
	}
	return doc.Directives[0]
}

// builtinDirectives survive into the API schema.
var builtinDirectives = map[string]bool{"deprecated": true, "specifiedBy": true, "oneOf": true}

// normalizeClauses sorts and deduplicates each AND clause, drops clauses
// that contain another clause (redundant under OR) and sorts the rest.
func normalizeClauses(in [][]string) [][]string {
	var clauses [][]string
	for _, c := range in {
		c = slices.Clone(c)
		sort.Strings(c)
		c = slices.Compact(c)
		clauses = append(clauses, c)
	}
	var out [][]string
	for i, c := range clauses {
		redundant := false
		for j, o := range clauses {
			if i == j {
				continue
			}
			if subset(o, c) && (len(o) < len(c) || j < i) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], "\x00") < strings.Join(out[j], "\x00") })
	return out
}

// subset reports whether sorted a is contained in sorted b.
func subset(a, b []string) bool {
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			return false
		}
	}
	return true
}

// andClauses combines two OR-of-AND requirements with AND: every pair of
// clauses is joined. An empty side requires nothing and is the identity.
func andClauses(a, b [][]string) [][]string {
	if len(a) == 0 {
		return normalizeClauses(b)
	}
	if len(b) == 0 {
		return normalizeClauses(a)
	}
	var out [][]string
	for _, x := range a {
		for _, y := range b {
			out = append(out, append(slices.Clone(x), y...))
		}
	}
	return normalizeClauses(out)
}

// andRequirements combines requirements of two subgraphs (the docs/ pages 5:
// across subgraphs requirements combine with AND).
func andRequirements(a, b Requirements) Requirements {
	return Requirements{
		Authenticated: a.Authenticated || b.Authenticated,
		Scopes:        andClauses(a.Scopes, b.Scopes),
		Policies:      andClauses(a.Policies, b.Policies),
	}
}

// And is r AND o: what a caller must satisfy to pass both, with redundant
// clauses dropped (a field and its return type; one coordinate in two
// subgraphs).
func (r Requirements) And(o Requirements) Requirements { return andRequirements(r, o) }

// readRequirements reads @authenticated, @requiresScopes and @policy.
func (n *names) readRequirements(list ast.DirectiveList) Requirements {
	var r Requirements
	r.Authenticated = n.has(list, "authenticated")
	for _, d := range n.findAll(list, "requiresScopes") {
		r.Scopes = andClauses(r.Scopes, nonEmpty(stringLists(d, "scopes")))
	}
	for _, d := range n.findAll(list, "policy") {
		r.Policies = andClauses(r.Policies, nonEmpty(stringLists(d, "policies")))
	}
	return r
}

// nonEmpty keeps an empty clause list meaningful: @requiresScopes(scopes: [])
// can never be satisfied, which an empty inner clause would make "always".
func nonEmpty(c [][]string) [][]string {
	if len(c) == 0 {
		return [][]string{{"\x00unsatisfiable"}}
	}
	return c
}

func (n *names) readCost(list ast.DirectiveList) *int {
	var out *int
	for _, d := range n.findAll(list, "cost") {
		if w, ok := intArg(d, "weight"); ok && (out == nil || w > *out) {
			out = &w
		}
	}
	return out
}

func (n *names) readListSize(list ast.DirectiveList) *ListSize {
	d := n.find(list, "listSize")
	if d == nil {
		return nil
	}
	ls := &ListSize{RequireOneSlicingArgument: boolArg(d, "requireOneSlicingArgument", true)}
	if v, ok := intArg(d, "assumedSize"); ok {
		ls.AssumedSize = &v
	}
	if a := d.Arguments.ForName("slicingArguments"); a != nil {
		ls.SlicingArguments = sortedUnique(stringList(a.Value))
	}
	if a := d.Arguments.ForName("sizedFields"); a != nil {
		ls.SizedFields = sortedUnique(stringList(a.Value))
	}
	return ls
}

// mergeListSize follows Apollo's merge of @listSize: assumed size max,
// slicing arguments and sized fields unioned, and requireOneSlicingArgument
// only when every subgraph requires it.
func mergeListSize(a, b *ListSize) *ListSize {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	out := &ListSize{RequireOneSlicingArgument: a.RequireOneSlicingArgument && b.RequireOneSlicingArgument}
	out.AssumedSize = maxInt(a.AssumedSize, b.AssumedSize)
	out.SlicingArguments = sortedUnique(append(slices.Clone(a.SlicingArguments), b.SlicingArguments...))
	out.SizedFields = sortedUnique(append(slices.Clone(a.SizedFields), b.SizedFields...))
	return out
}

func maxInt(a, b *int) *int {
	if a == nil {
		return b
	}
	if b == nil || *a >= *b {
		return a
	}
	return b
}

func (n *names) readTags(list ast.DirectiveList) []string {
	var out []string
	for _, d := range n.findAll(list, "tag") {
		if s := stringArg(d, "name"); s != "" {
			out = append(out, s)
		}
	}
	return sortedUnique(out)
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}
