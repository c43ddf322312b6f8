package authz

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/interpreter"

	"github.com/portcullis-gw/portcullis/policy/authn"
)

// celCostLimit bounds one policy evaluation: argument values come from the
// client, so a comprehension over a huge list must stop, not spin.
const celCostLimit = 1_000_000

// Fields of the identity and request variables. CEL sees them as maps (the
// claims are free-form JSON), so the field names are checked here, at
// compile time, to keep a typo such as identity.role from being a silent
// runtime "no such key" denial.
var (
	identityFields = []string{"subject", "issuer", "kind", "scopes", "roles", "claims", "tier", "api_key", "anonymous"}
	requestFields  = []string{"method", "path", "client_ip", "headers"}
)

// Request is what a policy may know of the HTTP request.
type Request struct {
	Method   string
	Path     string
	ClientIP string
	// Headers are the headers the gateway chose to expose, keyed as the
	// gateway keys them (lower case is the convention).
	Headers map[string]string
}

// policy is one compiled CEL expression.
type policy struct {
	name string
	prg  cel.Program
	// usesArgs: the expression reads args, so its result can differ from
	// field to field; otherwise it is evaluated once per request.
	usesArgs bool
	// inputs is everything the expression reads.
	inputs Inputs
	// idFields are the identity fields that the policies compiled with
	// this one read, all of them (nil) when one reads identity other than
	// field by field. The identity value holds only those: it is built per
	// request, and most policies read one or two of its nine fields.
	idFields []string
	// reads are this policy's own: the identity fields it selects, and
	// whether it reads identity as a whole.
	reads      []string
	readsWhole bool
}

// newEnv declares every variable for every policy: the policies section
// is shared by GraphQL and REST routes, so one policy compiles for both.
// GraphQL evaluations see empty path and query and a null body; REST
// evaluations see empty args.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("identity", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("args", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("path", cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable("query", cel.MapType(cel.StringType, cel.ListType(cel.StringType))),
		cel.Variable("body", cel.DynType),
	)
}

// compilePolicies compiles every named policy once, returning every error
// at once, each naming its policy.
func compilePolicies(env *cel.Env, p Policies) (map[string]*policy, []error) {
	out := make(map[string]*policy, len(p))
	var errs []error
	for _, n := range slices.Sorted(maps.Keys(p)) {
		pol, err := compilePolicy(env, n, p[n])
		if err != nil {
			errs = append(errs, fmt.Errorf("compiling policy %q: %w", n, err))
			continue
		}
		out[n] = pol
	}
	idFields := identityReads(out)
	for _, pol := range out {
		pol.idFields = idFields
	}
	return out, errs
}

// identityReads is the union of the identity fields the policies select,
// in identityFields order; nil (every field) when one reads identity as a
// whole.
func identityReads(ps map[string]*policy) []string {
	read := map[string]bool{}
	for _, p := range ps {
		if p.readsWhole {
			return nil
		}
		for _, f := range p.reads {
			read[f] = true
		}
	}
	out := []string{}
	for _, f := range identityFields {
		if read[f] {
			out = append(out, f)
		}
	}
	return out
}

func compilePolicy(env *cel.Env, name, expr string) (*policy, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("expression is empty")
	}
	checked, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, iss.Err()
	}
	if !checked.OutputType().IsExactType(types.BoolType) {
		return nil, fmt.Errorf("expression must be bool, is %s (compare dynamic values explicitly, e.g. args.flag == true)", checked.OutputType())
	}
	if err := checkSelections(checked.NativeRep()); err != nil {
		return nil, err
	}
	inputs := inputsOf(checked.NativeRep())
	reads, whole := identitySelections(checked.NativeRep())
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	// Without a comprehension an expression costs at most linear time in
	// its inputs; with one (all, exists, map, filter), nested over client
	// lists, it could be quadratic: only those pay for cost tracking.
	if len(celast.MatchDescendants(celast.NavigateAST(checked.NativeRep()), celast.KindMatcher(celast.ComprehensionKind))) > 0 {
		opts = append(opts, cel.CostLimit(celCostLimit))
	}
	prg, err := env.Program(checked, opts...)
	if err != nil {
		return nil, err
	}
	return &policy{name: name, prg: prg, usesArgs: inputs.Has(InputArgs), inputs: inputs, reads: reads, readsWhole: whole}, nil
}

// identitySelections lists the identity fields a selects (identity.x,
// has(identity.x)); whole is true when identity appears other than as the
// operand of such a selection (identity["x"], 'x' in identity, a macro
// over it), which may read any field.
func identitySelections(a *celast.AST) (fields []string, whole bool) {
	root := celast.NavigateAST(a)
	idents := 0
	for _, id := range celast.MatchDescendants(root, celast.KindMatcher(celast.IdentKind)) {
		if id.AsIdent() == "identity" {
			idents++
		}
	}
	selects := 0
	for _, sel := range celast.MatchDescendants(root, celast.KindMatcher(celast.SelectKind)) {
		s := sel.AsSelect()
		if op := s.Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "identity" {
			selects++
			if !slices.Contains(fields, s.FieldName()) {
				fields = append(fields, s.FieldName())
			}
		}
	}
	return fields, idents != selects
}

// checkSelections rejects unknown fields of identity and request.
func checkSelections(a *celast.AST) error {
	root := celast.NavigateAST(a)
	var bad []string
	for _, sel := range celast.MatchDescendants(root, celast.KindMatcher(celast.SelectKind)) {
		s := sel.AsSelect()
		op := s.Operand()
		if op.Kind() != celast.IdentKind {
			continue
		}
		switch op.AsIdent() {
		case "identity":
			if !slices.Contains(identityFields, s.FieldName()) {
				bad = append(bad, fmt.Sprintf("identity has no field %q (fields: %s)", s.FieldName(), strings.Join(identityFields, ", ")))
			}
		case "request":
			if !slices.Contains(requestFields, s.FieldName()) {
				bad = append(bad, fmt.Sprintf("request has no field %q (fields: %s)", s.FieldName(), strings.Join(requestFields, ", ")))
			}
		}
	}
	if len(bad) > 0 {
		return errors.New(strings.Join(bad, "; "))
	}
	return nil
}

// identityValue is the CEL identity variable with the given fields, every
// field when fields is nil.
func identityValue(id authn.Identity, fields []string) map[string]any {
	if fields == nil {
		fields = identityFields
	}
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		switch f {
		case "subject":
			out[f] = id.Subject
		case "issuer":
			out[f] = id.Issuer
		case "kind":
			out[f] = id.Kind
		case "scopes":
			out[f] = nonNil(id.Scopes)
		case "roles":
			out[f] = nonNil(id.Roles)
		case "claims":
			claims := id.Claims
			if claims == nil {
				claims = map[string]any{}
			}
			out[f] = claims
		case "tier":
			out[f] = id.Tier
		case "api_key":
			out[f] = id.APIKeyName
		case "anonymous":
			out[f] = id.IsAnonymous()
		}
	}
	return out
}

func requestValue(r Request) map[string]any {
	h := r.Headers
	if h == nil {
		h = map[string]string{}
	}
	return map[string]any{"method": r.Method, "path": r.Path, "client_ip": r.ClientIP, "headers": h}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// activation resolves the policy variables without building a map per
// evaluation: identity and request are made once per request, when a
// policy first reads them; args are set per field.
type activation struct {
	id       authn.Identity
	req      Request
	identity map[string]any // built on first use from id
	// idFields are the identity fields to build (policy.idFields).
	idFields []string
	request  map[string]any // built on first use from req
	args     map[string]any
	// REST only.
	path  map[string]string
	query map[string][]string
	body  any
}

var emptyArgs = map[string]any{}

func (a *activation) ResolveName(name string) (any, bool) {
	switch name {
	case "identity":
		if a.identity == nil {
			a.identity = identityValue(a.id, a.idFields)
		}
		return a.identity, true
	case "request":
		if a.request == nil {
			a.request = requestValue(a.req)
		}
		return a.request, true
	case "args":
		if a.args == nil {
			return emptyArgs, true
		}
		return a.args, true
	case "path":
		if a.path == nil {
			return map[string]string{}, true
		}
		return a.path, true
	case "query":
		if a.query == nil {
			return map[string][]string{}, true
		}
		return a.query, true
	case "body":
		return a.body, true
	}
	return nil, false
}

func (a *activation) Parent() interpreter.Activation { return nil }

// eval runs p; any evaluation error (a missing key, a type mismatch, the
// cost limit) is a denial: policies fail closed.
func (p *policy) eval(act *activation) (bool, error) {
	act.idFields = p.idFields
	out, _, err := p.prg.Eval(act)
	if err != nil {
		return false, fmt.Errorf("evaluating policy %q: %w", p.name, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("evaluating policy %q: result is %T, not bool", p.name, out.Value())
	}
	return b, nil
}
