package schema

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// fieldSetRule names the error codes of one field-set directive.
type fieldSetRule struct {
	directive       string
	invalid         string // unknown field, bad syntax, bad selection
	invalidType     string // a field of an interface/union type where not allowed
	missingExternal string // a top-level field not @external
	hasArgs         string
}

var (
	keyRule = fieldSetRule{"key", "KEY_INVALID_FIELDS", "KEY_FIELDS_SELECT_INVALID_TYPE", "",
		"KEY_FIELDS_HAS_ARGS"}
	requiresRule = fieldSetRule{"requires", "REQUIRES_INVALID_FIELDS", "", "REQUIRES_FIELDS_MISSING_EXTERNAL",
		"REQUIRES_FIELDS_HAS_ARGS"}
	providesRule = fieldSetRule{"provides", "PROVIDES_INVALID_FIELDS", "", "PROVIDES_FIELDS_MISSING_EXTERNAL",
		"PROVIDES_FIELDS_HAS_ARGS"}
)

// validateSubgraph checks the federation directives of one subgraph:
// @key/@requires/@provides field sets, @external use and @override.
func (c *composer) validateSubgraph(sg *subgraph) {
	one := []string{sg.name}
	// used marks Type.field coordinates of this subgraph that a field set
	// selects, for EXTERNAL_UNUSED.
	used := map[string]bool{}
	for name, t := range sg.types {
		for _, k := range t.keys {
			c.checkFieldSet(sg, keyRule, name, name, k.fields, used)
		}
		for fname, f := range t.fields {
			coord := name + "." + fname
			if f.requires != "" {
				c.checkFieldSet(sg, requiresRule, coord, name, f.requires, used)
			}
			if f.provides != "" {
				target := sg.schema.Types[f.def.Type.Name()]
				if target == nil || (target.Kind != ast.Object && target.Kind != ast.Interface) {
					c.errorf("PROVIDES_ON_NON_OBJECT_FIELD", one, coord,
						"Invalid @provides directive on field %q: field has type %q which is not a Composite Type.",
						coord, f.def.Type.String())
				} else {
					c.checkFieldSet(sg, providesRule, coord, target.Name, f.provides, used)
				}
			}
			if f.overrideFrom != "" {
				if f.overrideFrom == sg.name {
					c.errorf("OVERRIDE_FROM_SELF_ERROR", one, coord,
						"Source and destination subgraphs %q are the same for overridden field %q.", sg.name, coord)
				}
				if f.external {
					c.errorf("OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE", one, coord,
						"@override cannot be used on field %q on subgraph %q since %q is marked with directive @external.",
						coord, sg.name, coord)
				}
			}
		}
	}
	if sg.fed1 {
		// Federation 1 subgraphs are upgraded: unused @external fields are
		// dropped rather than rejected.
		return
	}
	for name, t := range sg.types {
		for fname, f := range t.fields {
			if !f.external || used[name+"."+fname] || c.satisfiesInterface(sg, t.def, fname) {
				continue
			}
			c.errorf("EXTERNAL_UNUSED", one, name+"."+fname,
				"Field %q is marked @external but is not used in any federation directive (@key, @provides, @requires) or to satisfy an interface; the field declaration has no use and should be removed (or the field should not be @external).",
				name+"."+fname)
		}
	}
}

func (c *composer) satisfiesInterface(sg *subgraph, def *ast.Definition, field string) bool {
	for _, i := range def.Interfaces {
		if it := sg.schema.Types[i]; it != nil && it.Fields.ForName(field) != nil {
			return true
		}
	}
	return false
}

// checkFieldSet validates one field set against the subgraph's schema.
func (c *composer) checkFieldSet(sg *subgraph, rule fieldSetRule, coord, typeName, fields string, used map[string]bool) {
	one := []string{sg.name}
	set, err := parseFieldSet(fields)
	if err != nil {
		c.errorf(rule.invalid, one, coord, "On %q, for @%s(fields: %q): invalid field set: %v", coord, rule.directive, fields, err)
		return
	}
	var walk func(set ast.SelectionSet, parent *ast.Definition, top bool) bool
	walk = func(set ast.SelectionSet, parent *ast.Definition, top bool) bool {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.InlineFragment:
				if rule.directive == "key" {
					c.errorf(rule.invalid, one, coord, "On %q, for @key(fields: %q): fragments are not allowed in a key.", coord, fields)
					return false
				}
				target := parent
				if s.TypeCondition != "" {
					target = sg.schema.Types[s.TypeCondition]
				}
				if target == nil {
					c.errorf(rule.invalid, one, coord, "On %q, for @%s(fields: %q): unknown type %q.", coord, rule.directive, fields, s.TypeCondition)
					return false
				}
				if !walk(s.SelectionSet, target, top) {
					return false
				}
			case *ast.FragmentSpread:
				c.errorf(rule.invalid, one, coord, "On %q, for @%s(fields: %q): named fragments are not allowed.", coord, rule.directive, fields)
				return false
			case *ast.Field:
				if s.Name == "__typename" {
					continue
				}
				fd := parent.Fields.ForName(s.Name)
				if fd == nil {
					c.errorf(rule.invalid, one, coord, "On %q, for @%s(fields: %q): Cannot query field %q on type %q (if the field is defined in another subgraph, you need to add it to this subgraph with @external).",
						coord, rule.directive, fields, s.Name, parent.Name)
					return false
				}
				if s.Alias != "" && s.Alias != s.Name {
					c.errorf(rule.invalid, one, coord, "On %q, for @%s(fields: %q): aliases are not allowed.", coord, rule.directive, fields)
					return false
				}
				if len(fd.Arguments) > 0 && rule.hasArgs != "" {
					c.errorf(rule.hasArgs, one, coord, "On %q, for @%s(fields: %q): field %q cannot be included because it has arguments.",
						coord, rule.directive, fields, parent.Name+"."+s.Name)
					return false
				}
				used[parent.Name+"."+s.Name] = true
				sf := sg.types[parent.Name].fieldOrNil(s.Name)
				// Federation 2 lets @requires select a local field when the
				// selection below it reaches only @external fields.
				if top && rule.missingExternal != "" && sf != nil && !sf.external && parent.Kind == ast.Object &&
					!(rule.directive == "requires" && len(s.SelectionSet) > 0 && c.onlyExternal(sg, fd.Type.Name(), s.SelectionSet)) {
					c.errorf(rule.missingExternal, one, coord, "On %q, for @%s(fields: %q): field %q should not be part of a @%s since it is already provided by this subgraph (it is not marked @external).",
						coord, rule.directive, fields, parent.Name+"."+s.Name, rule.directive)
				}
				target := sg.schema.Types[fd.Type.Name()]
				if target == nil {
					return false
				}
				if rule.invalidType != "" && (target.Kind == ast.Interface || target.Kind == ast.Union) {
					c.errorf(rule.invalidType, one, coord, "On %q, for @%s(fields: %q): field %q is a %s type which is not allowed in @%s.",
						coord, rule.directive, fields, parent.Name+"."+s.Name, kindWord(target.Kind), rule.directive)
					return false
				}
				composite := target.Kind == ast.Object || target.Kind == ast.Interface || target.Kind == ast.Union
				if composite && len(s.SelectionSet) == 0 {
					c.errorf(rule.invalid, one, coord, "On %q, for @%s(fields: %q): field %q of type %q must have a selection of subfields.",
						coord, rule.directive, fields, parent.Name+"."+s.Name, fd.Type.String())
					return false
				}
				if !composite && len(s.SelectionSet) > 0 {
					c.errorf(rule.invalid, one, coord, "On %q, for @%s(fields: %q): field %q must not have a selection since type %q has no subfields.",
						coord, rule.directive, fields, parent.Name+"."+s.Name, fd.Type.String())
					return false
				}
				if composite && !walk(s.SelectionSet, target, false) {
					return false
				}
			}
		}
		return true
	}
	parent := sg.schema.Types[typeName]
	if parent == nil {
		return
	}
	walk(set, parent, true)
}

// onlyExternal reports whether every leaf a selection reaches on typeName
// is @external in sg (or lies under an @external field).
func (c *composer) onlyExternal(sg *subgraph, typeName string, set ast.SelectionSet) bool {
	t := sg.types[typeName]
	if t == nil {
		return false
	}
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				continue
			}
			f := t.fieldOrNil(s.Name)
			if f == nil {
				return false
			}
			if f.external {
				continue
			}
			if len(s.SelectionSet) == 0 || !c.onlyExternal(sg, f.def.Type.Name(), s.SelectionSet) {
				return false
			}
		case *ast.InlineFragment:
			name := typeName
			if s.TypeCondition != "" {
				name = s.TypeCondition
			}
			if !c.onlyExternal(sg, name, s.SelectionSet) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (t *sgType) fieldOrNil(name string) *sgField {
	if t == nil {
		return nil
	}
	return t.fields[name]
}

func kindWord(k ast.DefinitionKind) string {
	switch k {
	case ast.Interface:
		return "interface"
	case ast.Union:
		return "union"
	}
	return string(k)
}
