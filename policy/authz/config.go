// Package authz decides field- and operation-level authorization from schema
// annotations, config rules and CEL policies.
package authz

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

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

// Validate reports every problem in p; each message starts with the key path
// relative to p. CEL expressions are compiled when the policy engine is
// provisioned, not here.
func (p Policies) Validate() []error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(p)) {
		key := policyKey(name)
		if name == "" {
			errs = append(errs, fmt.Errorf("%s: policy name must not be empty", key))
		}
		if strings.TrimSpace(p[name]) == "" {
			errs = append(errs, fmt.Errorf("%s: expression must not be empty", key))
		}
	}
	return errs
}

func policyKey(name string) string {
	for _, r := range name {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "[" + strconv.Quote(name) + "]"
		}
	}
	if name == "" {
		return `[""]`
	}
	return name
}

// coordinateRE accepts `Type`, `Type.field`, `Type.field(arg)` and
// `Type.field(arg.inputField...)`, the coordinates rules may name.
var coordinateRE = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*(\([_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)*:?\))?)?$`)

// Validate reports every problem in c; each message starts with the key
// path relative to c. References to named policies are checked by the
// config loader, which sees the policies section.
func (c GraphQLConfig) Validate() []error {
	var errs []error
	if c.Mode != "filter" && c.Mode != "reject" {
		errs = append(errs, fmt.Errorf("mode: must be filter or reject, got %q", c.Mode))
	}
	if c.External != nil {
		for _, err := range c.External.Validate() {
			errs = append(errs, fmt.Errorf("external.%w", err))
		}
	}
	for i, r := range c.Rules {
		p := fmt.Sprintf("rules[%d]", i)
		if !coordinateRE.MatchString(r.Coordinate) {
			errs = append(errs, fmt.Errorf("%s.coordinate: %q is not a schema coordinate such as Query.user or Mutation.updateUser(input.role)", p, r.Coordinate))
		}
		// A rule that requires nothing would look like protection but grant access.
		if r.Policy == "" && len(r.Scopes) == 0 {
			errs = append(errs, fmt.Errorf("%s: set policy or scopes", p))
		}
		for j, s := range r.Scopes {
			if s == "" {
				errs = append(errs, fmt.Errorf("%s.scopes[%d]: must not be empty", p, j))
			}
		}
	}
	return errs
}
