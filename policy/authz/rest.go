package authz

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/portcullis-gw/portcullis/policy/authn"
)

// RESTAuthorizer evaluates the CEL policies attached to REST operations
// by operationId. Safe for concurrent use.
type RESTAuthorizer struct {
	ops map[string]*policy
	// inputs is what the operations' policies read together.
	inputs Inputs
}

// Inputs is what the policies attached to operations read together; a
// policy no operation names is never evaluated, so it does not count.
func (a *RESTAuthorizer) Inputs() Inputs { return a.inputs }

// CompileREST compiles policies for REST routes: each policy sees
// identity, request, path (path parameters), query (query parameters) and
// body (the parsed request body, nil without one). ops maps operationIds
// to policy names; every problem is reported at once.
func CompileREST(policies Policies, ops map[string]string) (*RESTAuthorizer, error) {
	env, err := newEnv()
	if err != nil {
		return nil, fmt.Errorf("building CEL environment: %w", err)
	}
	pols, errs := compilePolicies(env, policies)
	a := &RESTAuthorizer{ops: make(map[string]*policy, len(ops))}
	for _, id := range slices.Sorted(maps.Keys(ops)) {
		name := ops[id]
		p := pols[name]
		if p == nil {
			if _, defined := policies[name]; !defined {
				errs = append(errs, fmt.Errorf("operation %q: unknown policy %q", id, name))
			}
			continue
		}
		a.ops[id] = p
		a.inputs |= p.inputs
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("compiling REST policies: %w", errors.Join(errs...))
	}
	return a, nil
}

// Allow evaluates the policy attached to operationID. An operation without
// a policy is allowed (its OpenAPI security requirements still apply); an
// evaluation error refuses, with the cause for the log.
func (a *RESTAuthorizer) Allow(operationID string, id authn.Identity, req Request, pathParams map[string]string, query map[string][]string, body any) (bool, error) {
	if a == nil {
		return false, errors.New("no REST authorizer")
	}
	p := a.ops[operationID]
	if p == nil {
		return true, nil
	}
	act := &activation{id: id, req: req, path: pathParams, query: query, body: body}
	return p.eval(act)
}
