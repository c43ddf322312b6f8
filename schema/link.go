package schema

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Spec URLs of the features this package understands. Elements are resolved
// through @link (https://specs.apollo.dev/link/v1.0), never by hard-coded
// local names, so `as:` renames and `{name, as}` imports work.
const (
	specFederation     = "federation"
	specJoin           = "join"
	specLink           = "link"
	specInaccessible   = "inaccessible"
	specTag            = "tag"
	specAuthenticated  = "authenticated"
	specRequiresScopes = "requiresScopes"
	specPolicy         = "policy"
	specCost           = "cost"
)

// fedVersion is a federation spec version, minor only matters (v2.x).
type fedVersion struct{ major, minor int }

func (v fedVersion) less(o fedVersion) bool {
	return v.major < o.major || (v.major == o.major && v.minor < o.minor)
}

func (v fedVersion) String() string { return fmt.Sprintf("v%d.%d", v.major, v.minor) }

// maxFederation is the newest federation spec version accepted; a newer one
// is refused (UNKNOWN_FEDERATION_LINK_VERSION) rather than half understood.
var maxFederation = fedVersion{2, 12}

// fedDirectives are the directives of the federation spec with the version
// that introduced each (an import from an older version is an error).
var fedDirectives = map[string]fedVersion{
	"key": {2, 0}, "requires": {2, 0}, "provides": {2, 0}, "external": {2, 0},
	"tag": {2, 0}, "extends": {2, 0}, "shareable": {2, 0}, "inaccessible": {2, 0},
	"override": {2, 0}, "composeDirective": {2, 1}, "interfaceObject": {2, 3},
	"authenticated": {2, 5}, "requiresScopes": {2, 5}, "policy": {2, 6},
	"context": {2, 8}, "fromContext": {2, 8}, "cost": {2, 9}, "listSize": {2, 9},
}

// fedTypes are the federation spec's types (imports of them are accepted).
var fedTypes = map[string]fedVersion{
	"FieldSet": {2, 0}, "Scope": {2, 5}, "Policy": {2, 6}, "ContextFieldValue": {2, 8},
}

// specDirectives lists, per non-federation spec, its directives. A directive
// named like its spec is referred to by the spec's (local) name.
var specDirectives = map[string][]string{
	specJoin: {"graph", "type", "field", "implements", "unionMember", "enumValue",
		"owner", "directive"},
	specLink:           {"link"},
	specInaccessible:   {"inaccessible"},
	specTag:            {"tag"},
	specAuthenticated:  {"authenticated"},
	specRequiresScopes: {"requiresScopes"},
	specPolicy:         {"policy"},
	specCost:           {"cost", "listSize"},
}

// specTypes lists, per spec, the types it defines (stripped from the API schema).
var specTypes = map[string][]string{
	specJoin:           {"Graph", "FieldSet", "ContextArgument", "DirectiveArguments"},
	specLink:           {"Import", "Purpose"},
	specRequiresScopes: {"Scope"},
	specPolicy:         {"Policy"},
}

// linkProblem is a bad @link, reported as INVALID_LINK_DIRECTIVE_USAGE or
// UNKNOWN_FEDERATION_LINK_VERSION.
type linkProblem struct{ code, message string }

// names maps the local names of a document to canonical element names:
// federation directives by their bare name ("key"), join directives as
// "join__type", and the security/cost directives by their standard names.
type names struct {
	dirs       map[string]string // local directive name -> canonical
	local      map[string]string // canonical -> local directive name (first)
	types      map[string]bool   // local names of spec types
	linked     map[string]bool   // specs linked
	prefixes   map[string]string // spec -> local prefix
	federation *fedVersion       // nil without a federation @link
	problems   []linkProblem
}

func newNames() *names {
	return &names{dirs: map[string]string{}, local: map[string]string{},
		types: map[string]bool{}, linked: map[string]bool{}, prefixes: map[string]string{}}
}

func (n *names) add(local, canonical string) {
	if _, ok := n.dirs[local]; ok {
		return
	}
	n.dirs[local] = canonical
	if _, ok := n.local[canonical]; !ok {
		n.local[canonical] = local
	}
}

// standard registers the standard (unlinked) names of the given canonical
// elements, for monoliths and Federation 1 subgraphs.
func (n *names) standard(canonical ...string) {
	for _, c := range canonical {
		n.add(c, c)
	}
}

// canonical returns the canonical name of a directive use, "" if unknown.
func (n *names) canonical(local string) string { return n.dirs[local] }

// find returns the first directive of the list that is the canonical element.
func (n *names) find(list ast.DirectiveList, canonical string) *ast.Directive {
	for _, d := range list {
		if n.dirs[d.Name] == canonical {
			return d
		}
	}
	return nil
}

func (n *names) findAll(list ast.DirectiveList, canonical string) []*ast.Directive {
	var out []*ast.Directive
	for _, d := range list {
		if n.dirs[d.Name] == canonical {
			out = append(out, d)
		}
	}
	return out
}

func (n *names) has(list ast.DirectiveList, canonical string) bool {
	return n.find(list, canonical) != nil
}

// linkDirectives are the @link uses on the schema definitions and extensions.
func linkDirectives(doc *ast.SchemaDocument) []*ast.Directive {
	var out []*ast.Directive
	for _, list := range []ast.SchemaDefinitionList{doc.Schema, doc.SchemaExtension} {
		for _, s := range list {
			for _, d := range s.Directives {
				if d.Name == "link" {
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// parseSpecURL splits a spec URL into its name and version
// (https://specs.apollo.dev/federation/v2.3 -> federation, v2.3).
func parseSpecURL(raw string) (name, version string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if u.Host == "ibm.github.io" && strings.Contains(u.Path, "cost") {
		return specCost, "", true
	}
	if len(parts) < 2 {
		return "", "", false
	}
	return parts[len(parts)-2], parts[len(parts)-1], true
}

func parseVersion(v string) (fedVersion, bool) {
	major, minor, ok := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if !ok || !strings.HasPrefix(v, "v") {
		return fedVersion{}, false
	}
	a, err1 := strconv.Atoi(major)
	b, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil || a < 0 || b < 0 {
		return fedVersion{}, false
	}
	return fedVersion{a, b}, true
}

// stringArg returns a directive's string argument, "" when absent.
func stringArg(d *ast.Directive, name string) string {
	if d == nil {
		return ""
	}
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil {
		return ""
	}
	switch a.Value.Kind {
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return a.Value.Raw
	}
	return ""
}

func boolArg(d *ast.Directive, name string, def bool) bool {
	if d == nil {
		return def
	}
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil || a.Value.Kind != ast.BooleanValue {
		return def
	}
	return a.Value.Raw == "true"
}

func intArg(d *ast.Directive, name string) (int, bool) {
	if d == nil {
		return 0, false
	}
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil || a.Value.Kind != ast.IntValue {
		return 0, false
	}
	v, err := strconv.Atoi(a.Value.Raw)
	if err != nil {
		return 0, false
	}
	return v, true
}

// stringList reads a [String] argument; a single string is a list of one
// (input coercion, GraphQL spec 3.1.7).
func stringList(v *ast.Value) []string {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return []string{v.Raw}
	case ast.ListValue:
		var out []string
		for _, c := range v.Children {
			out = append(out, stringList(c.Value)...)
		}
		return out
	}
	return nil
}

// stringLists reads a [[String]] argument.
func stringLists(d *ast.Directive, name string) [][]string {
	if d == nil {
		return nil
	}
	a := d.Arguments.ForName(name)
	if a == nil || a.Value == nil {
		return nil
	}
	if a.Value.Kind != ast.ListValue {
		if s := stringList(a.Value); len(s) > 0 {
			return [][]string{s}
		}
		return nil
	}
	var out [][]string
	for _, c := range a.Value.Children {
		out = append(out, stringList(c.Value))
	}
	return out
}

// resolveNames reads the document's @link uses. Without any @link the
// defaults given are registered under their standard names.
func resolveNames(doc *ast.SchemaDocument, defaults ...string) *names {
	n := newNames()
	links := linkDirectives(doc)
	n.add("link", "link")
	if len(links) == 0 {
		n.standard(defaults...)
		return n
	}
	for _, l := range links {
		raw := stringArg(l, "url")
		spec, version, ok := parseSpecURL(raw)
		if !ok {
			n.problems = append(n.problems, linkProblem{"INVALID_LINK_DIRECTIVE_USAGE",
				fmt.Sprintf("Invalid @link url %q.", raw)})
			continue
		}
		prefix := spec
		if as := stringArg(l, "as"); as != "" {
			prefix = strings.TrimPrefix(as, "@")
		}
		var imports [][2]string // element (with @ for directives), local
		if a := l.Arguments.ForName("import"); a != nil && a.Value != nil && a.Value.Kind == ast.ListValue {
			for _, c := range a.Value.Children {
				v := c.Value
				switch v.Kind {
				case ast.StringValue, ast.BlockValue:
					imports = append(imports, [2]string{v.Raw, v.Raw})
				case ast.ObjectValue:
					name, as := "", ""
					for _, f := range v.Children {
						if f.Value != nil && (f.Value.Kind == ast.StringValue || f.Value.Kind == ast.BlockValue) {
							switch f.Name {
							case "name":
								name = f.Value.Raw
							case "as":
								as = f.Value.Raw
							}
						}
					}
					if as == "" {
						as = name
					}
					imports = append(imports, [2]string{name, as})
				}
			}
		}
		if _, seen := n.prefixes[spec]; !seen {
			n.prefixes[spec] = prefix
		}
		switch spec {
		case specFederation:
			v, ok := parseVersion(version)
			if !ok || v.major != 2 || maxFederation.less(v) {
				n.problems = append(n.problems, linkProblem{"UNKNOWN_FEDERATION_LINK_VERSION",
					fmt.Sprintf("Invalid version %s for the federation feature in @link direction on schema", version)})
				v = maxFederation
			}
			n.federation = &v
			n.linked[spec] = true
			imported := map[string]bool{}
			for _, im := range imports {
				elem, local := im[0], im[1]
				if strings.HasPrefix(elem, "@") {
					since, known := fedDirectives[elem[1:]]
					if !known || v.less(since) {
						n.problems = append(n.problems, linkProblem{"INVALID_LINK_DIRECTIVE_USAGE",
							fmt.Sprintf("Cannot import unknown element %q.", elem)})
						continue
					}
					n.add(strings.TrimPrefix(local, "@"), elem[1:])
					imported[elem[1:]] = true
					continue
				}
				since, known := fedTypes[elem]
				if !known || v.less(since) {
					n.problems = append(n.problems, linkProblem{"INVALID_LINK_DIRECTIVE_USAGE",
						fmt.Sprintf("Cannot import unknown element %q.", elem)})
					continue
				}
				n.types[local] = true
			}
			for d, since := range fedDirectives {
				if !v.less(since) {
					n.add(prefix+"__"+d, d)
				}
			}
			for t := range fedTypes {
				n.types[prefix+"__"+t] = true
			}
		default:
			elems, known := specDirectives[spec]
			if !known {
				continue
			}
			n.linked[spec] = true
			for _, im := range imports {
				elem, local := im[0], im[1]
				if strings.HasPrefix(elem, "@") {
					for _, e := range elems {
						if e == elem[1:] {
							n.add(strings.TrimPrefix(local, "@"), canonicalOf(spec, e))
						}
					}
					continue
				}
				n.types[local] = true
			}
			for _, e := range elems {
				local := prefix + "__" + e
				if e == spec {
					local = prefix
				}
				n.add(local, canonicalOf(spec, e))
			}
			for _, t := range specTypes[spec] {
				n.types[prefix+"__"+t] = true
			}
		}
	}
	return n
}

// canonicalOf names a spec element: join elements keep their spec prefix
// so they never collide with federation names.
func canonicalOf(spec, elem string) string {
	if spec == specJoin {
		return "join__" + elem
	}
	return elem
}
