package authz

import (
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/schema"
)

// requirement is the conjunction of every requirement that applies to one
// coordinate. Each clause keeps Apollo's shape (the docs/ pages 5): it holds when
// any of its alternatives holds, an alternative when all its names hold.
type requirement struct {
	authenticated bool
	scopes        [][][]string
	policies      [][][]*policy
	// argRules apply only when their argument or input field is present.
	argRules []*argRule
	// key identifies the clauses for de-duplication.
	keys map[string]bool
}

// argRule is a config rule on an argument or input field.
type argRule struct {
	path []string // argument name, then nested input field names
	req  *requirement
}

func (r *requirement) empty() bool {
	return r == nil || (!r.authenticated && len(r.scopes) == 0 && len(r.policies) == 0 && len(r.argRules) == 0)
}

func (r *requirement) seen(key string) bool {
	if r.keys == nil {
		r.keys = map[string]bool{}
	}
	if r.keys[key] {
		return true
	}
	r.keys[key] = true
	return false
}

// addScopes ANDs one OR-of-AND scope clause. A clause with no alternative,
// or with an empty alternative, asks nothing (Apollo: an empty set is
// authorized) and is dropped.
func (r *requirement) addScopes(clause [][]string) {
	if len(clause) == 0 {
		return
	}
	for _, alt := range clause {
		if len(alt) == 0 {
			return
		}
	}
	if r.seen("s" + clauseKey(clause)) {
		return
	}
	r.scopes = append(r.scopes, clause)
}

func (r *requirement) addPolicies(clause [][]*policy) {
	if len(clause) == 0 || slices.ContainsFunc(clause, func(alt []*policy) bool { return len(alt) == 0 }) {
		return
	}
	if r.seen("p" + clauseKey(policyNames(clause))) {
		return
	}
	r.policies = append(r.policies, clause)
}

// policyNames is a policy clause by name, for keys and the coverage report.
func policyNames(clause [][]*policy) [][]string {
	names := make([][]string, len(clause))
	for i, alt := range clause {
		for _, p := range alt {
			names[i] = append(names[i], p.name)
		}
	}
	return names
}

// and adds everything o requires to r.
func (r *requirement) and(o *requirement) {
	if o == nil {
		return
	}
	r.authenticated = r.authenticated || o.authenticated
	for _, c := range o.scopes {
		r.addScopes(c)
	}
	for _, c := range o.policies {
		r.addPolicies(c)
	}
	for _, ar := range o.argRules {
		if !r.seen("a" + strings.Join(ar.path, ".") + "\x00" + ar.req.String()) {
			r.argRules = append(r.argRules, ar)
		}
	}
}

func clauseKey(c [][]string) string {
	alts := make([]string, len(c))
	for i, a := range c {
		s := append([]string(nil), a...)
		sort.Strings(s)
		alts[i] = strings.Join(s, "\x01")
	}
	sort.Strings(alts)
	return strings.Join(alts, "\x02")
}

// fromSchema converts schema requirements, resolving policy names; unknown
// names are reported through unknown and left out (the compile fails).
func fromSchema(s schema.Requirements, pols map[string]*policy, unknown func(name string)) *requirement {
	r := &requirement{authenticated: s.Authenticated}
	r.addScopes(s.Scopes)
	if len(s.Policies) > 0 {
		clause := make([][]*policy, 0, len(s.Policies))
		ok := true
		for _, alt := range s.Policies {
			var ps []*policy
			for _, n := range alt {
				p := pols[n]
				if p == nil {
					unknown(n)
					ok = false
					continue
				}
				ps = append(ps, p)
			}
			clause = append(clause, ps)
		}
		if ok {
			r.addPolicies(clause)
		}
	}
	return r
}

// String renders the requirement for people (the coverage report).
func (r *requirement) String() string {
	if r.empty() {
		return "none"
	}
	var parts []string
	if r.authenticated {
		parts = append(parts, "authenticated")
	}
	for _, c := range r.scopes {
		parts = append(parts, "scopes("+renderClause(c)+")")
	}
	for _, c := range r.policies {
		parts = append(parts, "policy("+renderClause(policyNames(c))+")")
	}
	for _, ar := range r.argRules {
		parts = append(parts, "if "+strings.Join(ar.path, ".")+" given: "+ar.req.String())
	}
	return strings.Join(parts, " AND ")
}

func renderClause(c [][]string) string {
	alts := make([]string, len(c))
	for i, a := range c {
		alts[i] = strings.Join(a, " ")
	}
	return strings.Join(alts, " | ")
}

// evaluator decides requirements for one request. Identity and request
// values for CEL are built on first use; policies that do not read args are
// evaluated once per request.
type evaluator struct {
	id   authn.Identity
	req  Request
	act  *activation
	memo map[*policy]bool
	// err is the first policy evaluation error, for the log.
	err error
}

func (e *evaluator) satisfies(r *requirement, f *ast.Field, args map[string]any) bool {
	if r.authenticated && e.id.IsAnonymous() {
		return false
	}
	for _, c := range r.scopes {
		if !e.anyScopes(c) {
			return false
		}
	}
	for _, c := range r.policies {
		if !e.anyPolicies(c, args) {
			return false
		}
	}
	for _, ar := range r.argRules {
		if argPresent(f, args, ar.path) && !e.satisfies(ar.req, f, args) {
			return false
		}
	}
	return true
}

func (e *evaluator) anyScopes(c [][]string) bool {
	for _, alt := range c {
		all := true
		for _, s := range alt {
			if !e.id.HasScope(s) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (e *evaluator) anyPolicies(c [][]*policy, args map[string]any) bool {
	for _, alt := range c {
		all := true
		for _, p := range alt {
			if !e.policy(p, args) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

func (e *evaluator) policy(p *policy, args map[string]any) bool {
	if !p.usesArgs {
		if v, ok := e.memo[p]; ok {
			return v
		}
	}
	if e.act == nil {
		e.act = &activation{id: e.id, req: e.req}
	}
	e.act.args = args
	ok, err := p.eval(e.act)
	if err != nil && e.err == nil {
		e.err = err
	}
	if !p.usesArgs {
		if e.memo == nil {
			e.memo = make(map[*policy]bool, 4)
		}
		e.memo[p] = ok
	}
	return ok
}

// argPresent tells whether the request gives the argument (written in the
// document, not a schema default) and, for an input-field path, whether
// the value holds that input field (in any element of a list).
func argPresent(f *ast.Field, args map[string]any, path []string) bool {
	if f == nil || f.Arguments.ForName(path[0]) == nil {
		return false
	}
	if len(path) == 1 {
		return true
	}
	return hasPath(args[path[0]], path[1:])
}

func hasPath(v any, rest []string) bool {
	switch t := v.(type) {
	case map[string]any:
		c, ok := t[rest[0]]
		if !ok {
			return false
		}
		return len(rest) == 1 || hasPath(c, rest[1:])
	case []any:
		for _, e := range t {
			if hasPath(e, rest) {
				return true
			}
		}
	}
	return false
}
