package analysis

import (
	"errors"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// genericMessages hide the schema from identities without introspection
// rights: one message per gqlparser rule, naming nothing,
// so tools that guess names from "Did you mean" or from type names in
// messages learn nothing. Only the location is kept.
var genericMessages = map[string]string{
	"FieldsOnCorrectType":          "Cannot query this field here.",
	"FragmentsOnCompositeTypes":    "Fragment cannot condition on this type.",
	"KnownArgumentNames":           "Unknown argument.",
	"KnownDirectives":              "Unknown or misplaced directive.",
	"KnownFragmentNames":           "Unknown fragment.",
	"KnownRootType":                "This operation type is not supported.",
	"KnownTypeNames":               "Unknown type.",
	"LoneAnonymousOperation":       "An anonymous operation must be the only operation in the document.",
	"MaxIntrospectionDepth":        "Maximum introspection depth exceeded.",
	"NoFragmentCycles":             "Fragments must not form cycles.",
	"NoUndefinedVariables":         "Variable is not defined.",
	"NoUnusedFragments":            "Fragment is never used.",
	"NoUnusedVariables":            "Variable is never used.",
	"OverlappingFieldsCanBeMerged": "Fields with the same response name conflict.",
	"PossibleFragmentSpreads":      "Fragment can never apply here.",
	"ProvidedRequiredArguments":    "A required argument is missing.",
	"ScalarLeafs":                  "Selection set is missing or not allowed on this field.",
	"SingleFieldSubscriptions":     "A subscription must select exactly one root field.",
	"UniqueArgumentNames":          "Argument is given more than once.",
	"UniqueDirectivesPerLocation":  "Directive is used more than once here.",
	"UniqueFragmentNames":          "Fragment name is used more than once.",
	"UniqueInputFieldNames":        "Input field is given more than once.",
	"UniqueOperationNames":         "Operation name is used more than once.",
	"UniqueVariableNames":          "Variable is defined more than once.",
	"ValuesOfCorrectType":          "Value is not valid here.",
	"VariablesAreInputTypes":       "Variable type is not an input type.",
	"VariablesInAllowedPosition":   "Variable is used in a position its type does not allow.",
}

const genericValidation = "The operation is not valid against the schema."

// validationErrors turns gqlparser's errors into public ones: full messages
// for identities allowed to introspect, generic ones otherwise.
func validationErrors(list gqlerror.List, access Access) []Error {
	out := make([]Error, 0, len(list))
	for _, e := range list {
		pe := Error{Code: CodeValidationFailed, Message: e.Message, Locations: locations(e)}
		if !access.Introspection {
			pe.Message = genericMessages[e.Rule]
			if pe.Message == "" {
				pe.Message = genericValidation
			}
		}
		out = append(out, pe)
	}
	return out
}

// variableErrors reports variable values that fail coercion. gqlparser's
// message and path may name input fields the client did not send (a missing
// required field), so only introspecting identities get them.
func variableErrors(err error, access Access) []Error {
	pe := Error{Code: CodeValidationFailed, Message: "A variable value is not valid."}
	var ge *gqlerror.Error
	if access.Introspection {
		pe.Message = err.Error()
		if errors.As(err, &ge) {
			pe.Message = ge.Message
			for _, p := range ge.Path {
				switch x := p.(type) {
				case ast.PathName:
					pe.Path = append(pe.Path, string(x))
				case ast.PathIndex:
					pe.Path = append(pe.Path, int(x))
				}
			}
		}
	}
	return []Error{pe}
}

func parseErrors(e *gqlerror.Error) []Error {
	return []Error{{Code: CodeParseFailed, Message: e.Message, Locations: locations(e)}}
}

func locations(e *gqlerror.Error) []Location {
	if len(e.Locations) == 0 {
		return nil
	}
	out := make([]Location, len(e.Locations))
	for i, l := range e.Locations {
		out[i] = Location{Line: l.Line, Column: l.Column}
	}
	return out
}
