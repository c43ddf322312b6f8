package authz

import (
	"strings"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
)

// Inputs is the set of things a policy reads, taken from its checked
// expression: the caller builds only what some policy reads (request
// headers are copied and lower-cased per request, so configs without a
// header policy should not pay for them).
type Inputs uint16

// The inputs a policy can read (docs/authorization.md lists the variables).
const (
	InputIdentity Inputs = 1 << iota
	InputRequestMethod
	InputRequestPath
	InputRequestClientIP
	InputRequestHeaders
	InputArgs
	InputPath
	InputQuery
	InputBody

	// InputRequest is every field of request.
	InputRequest = InputRequestMethod | InputRequestPath | InputRequestClientIP | InputRequestHeaders
	// AllInputs is what a policy that cannot be read (it does not compile)
	// is assumed to read, so a caller never leaves out what it needs.
	AllInputs = InputIdentity | InputRequest | InputArgs | InputPath | InputQuery | InputBody
)

var inputNames = []struct {
	in   Inputs
	name string
}{
	{InputIdentity, "identity"},
	{InputRequestMethod, "request.method"},
	{InputRequestPath, "request.path"},
	{InputRequestClientIP, "request.client_ip"},
	{InputRequestHeaders, "request.headers"},
	{InputArgs, "args"},
	{InputPath, "path"},
	{InputQuery, "query"},
	{InputBody, "body"},
}

// requestField maps the fields of the request variable to their inputs;
// requestFields (the names policies may select) is the same list.
var requestField = map[string]Inputs{
	"method":    InputRequestMethod,
	"path":      InputRequestPath,
	"client_ip": InputRequestClientIP,
	"headers":   InputRequestHeaders,
}

// Has reports whether every input of x is in in.
func (in Inputs) Has(x Inputs) bool { return in&x == x }

// String lists the inputs by the names policies use, "none" for none.
func (in Inputs) String() string {
	var names []string
	for _, n := range inputNames {
		if in.Has(n.in) {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// Inputs is what the policies read together, each compiled and checked
// here (a policy that does not compile counts as reading everything; the
// authorizers report its error). Call it at load, not per request.
func (p Policies) Inputs() Inputs {
	env, err := newEnv()
	if err != nil {
		return AllInputs
	}
	var in Inputs
	for name, src := range p {
		pol, err := compilePolicy(env, name, src)
		if err != nil {
			return AllInputs
		}
		in |= pol.inputs
	}
	return in
}

// inputsOf reads which variables, and which fields of request, a checked
// expression uses. It errs towards more: request used in any way other
// than selecting a field by name (passed whole, indexed by a computed key,
// iterated) counts as reading every field.
func inputsOf(a *celast.AST) Inputs {
	refs := a.ReferenceMap()
	var in Inputs
	for _, e := range celast.MatchDescendants(celast.NavigateAST(a), celast.KindMatcher(celast.IdentKind)) {
		name := e.AsIdent()
		if ref, ok := refs[e.ID()]; ok && ref.Name != "" {
			name = ref.Name
		}
		switch name {
		case "identity":
			in |= InputIdentity
		case "request":
			in |= requestInputs(e)
		case "args":
			in |= InputArgs
		case "path":
			in |= InputPath
		case "query":
			in |= InputQuery
		case "body":
			in |= InputBody
		}
	}
	return in
}

// requestInputs is what one use of the request variable reads.
func requestInputs(e celast.NavigableExpr) Inputs {
	parent, ok := e.Parent()
	if !ok {
		return InputRequest
	}
	switch parent.Kind() {
	case celast.SelectKind:
		if in, known := requestField[parent.AsSelect().FieldName()]; known {
			return in
		}
	case celast.CallKind:
		call := parent.AsCall()
		args := call.Args()
		if (call.FunctionName() == operators.Index || call.FunctionName() == operators.OptIndex) &&
			len(args) == 2 && args[0].ID() == e.ID() && args[1].Kind() == celast.LiteralKind {
			if key, isString := args[1].AsLiteral().(types.String); isString {
				if in, known := requestField[string(key)]; known {
					return in
				}
			}
		}
	}
	return InputRequest
}
