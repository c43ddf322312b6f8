// Package authz decides field- and operation-level authorization from schema
// annotations, config rules and CEL policies.
package authz

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/portcullis-gw/portcullis/keypath"
	"github.com/portcullis-gw/portcullis/policy/external"
)

// Policies are named CEL expressions, referenced by @policy and by rules.
type Policies map[string]string

// Rule adds a requirement to a schema coordinate, including arguments and
// input fields (`Mutation.updateUser(input.role)`).
type Rule struct {
	Coordinate string   `yaml:"coordinate"`
	Policy     string   `yaml:"policy"`
	Scopes     []string `yaml:"scopes"`
}

// GraphQLConfig is a GraphQL route's authorization section.
type GraphQLConfig struct {
	Mode   string `yaml:"mode"` // filter | reject
	DryRun bool   `yaml:"dry_run"`
	Rules  []Rule `yaml:"rules"`
	// External asks a decision point (OPA's REST data API) about every
	// operation, beside the rules (docs/governance.md).
	External *external.Config `yaml:"external"`
}

// Validate reports every problem in p, each at its key path relative to p:
// empty names and expressions, and expressions that do not compile, so
// `portcullis check` names the policy's key and line. The authorizers
// compile again for their routes; compiling is load-time work.
func (p Policies) Validate() keypath.Problems {
	var ps keypath.Problems
	env, err := newEnv()
	if err != nil {
		ps.Addf(keypath.Path{}, "building CEL environment: %v", err)
		return ps
	}
	for _, name := range slices.Sorted(maps.Keys(p)) {
		key := keypath.Key(name)
		if name == "" {
			ps.Addf(key, "policy name must not be empty")
		}
		if strings.TrimSpace(p[name]) == "" {
			ps.Addf(key, "expression must not be empty")
			continue
		}
		if _, err := compilePolicy(env, name, p[name]); err != nil {
			ps.Addf(key, "%v", err)
		}
	}
	return ps
}

// coordinateRE accepts `Type`, `Type.field`, `Type.field(arg)` and
// `Type.field(arg.inputField...)`, the coordinates rules may name.
var coordinateRE = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*(\([_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)*:?\))?)?$`)

// Validate reports every problem in c, each at its key path relative to c.
// References to named policies are checked by the config loader, which sees
// the policies section.
func (c GraphQLConfig) Validate() keypath.Problems {
	var ps keypath.Problems
	if c.Mode != "filter" && c.Mode != "reject" {
		ps.Addf(keypath.Key("mode"), "must be filter or reject, got %q", c.Mode)
	}
	if c.External != nil {
		ps.AddAll(keypath.Key("external"), c.External.Validate())
	}
	for i, r := range c.Rules {
		p := keypath.Key("rules").Index(i)
		if !coordinateRE.MatchString(r.Coordinate) {
			ps.Addf(p.Key("coordinate"), "%q is not a schema coordinate such as Query.user or Mutation.updateUser(input.role)", r.Coordinate)
		}
		// A rule that requires nothing would look like protection but grant access.
		if r.Policy == "" && len(r.Scopes) == 0 {
			ps.Addf(p, "set policy or scopes")
		}
		for j, s := range r.Scopes {
			if s == "" {
				ps.Addf(p.Key("scopes").Index(j), "must not be empty")
			}
		}
	}
	return ps
}
