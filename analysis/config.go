// Package analysis measures GraphQL operations against a schema (one walk,
// many rules, one Report) and checks REST requests against OpenAPI.
package analysis

// Limits are the per-operation ceilings of design.md section 5. A zero
// field means "use the default", never "unlimited": zero values fail closed.
type Limits struct {
	MaxDepth      int `yaml:"max_depth" json:"max_depth,omitempty"`
	MaxHeight     int `yaml:"max_height" json:"max_height,omitempty"`
	MaxAliases    int `yaml:"max_aliases" json:"max_aliases,omitempty"`
	MaxRootFields int `yaml:"max_root_fields" json:"max_root_fields,omitempty"`
	MaxTokens     int `yaml:"max_tokens" json:"max_tokens,omitempty"`
	MaxDirectives int `yaml:"max_directives" json:"max_directives,omitempty"`
	MaxCost       int `yaml:"max_cost" json:"max_cost,omitempty"`
	MaxBatch      int `yaml:"max_batch" json:"max_batch,omitempty"`
}

// DefaultLimits are applied to every unset limit.
var DefaultLimits = Limits{
	MaxDepth:      12,
	MaxHeight:     200,
	MaxAliases:    30,
	MaxRootFields: 20,
	MaxTokens:     5000,
	MaxDirectives: 50,
	MaxCost:       5000,
	MaxBatch:      1,
}

// CostConfig tunes the static cost estimate.
type CostConfig struct {
	// ListSize is the assumed size of a list field without @listSize.
	ListSize int `yaml:"list_size"`
}
