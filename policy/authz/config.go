// Package authz decides field- and operation-level authorization from schema
// annotations, config rules and CEL policies.
package authz

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
}
