// Package analysis measures GraphQL operations against a schema (one walk,
// many rules, one Report) and checks REST requests against OpenAPI.
package analysis

import "github.com/portcullis-gw/portcullis/keypath"

// Limits are the per-operation ceilings of the docs/ pages A zero
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
	// MaxSelections bounds the validation work of the whole document,
	// measured before validation (countSelections has the rule).
	MaxSelections int `yaml:"max_selections" json:"max_selections,omitempty"`
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
	MaxSelections: DefaultMaxSelections,
}

// CostConfig tunes the static cost estimate.
type CostConfig struct {
	// ListSize is the assumed size of a list field without @listSize.
	ListSize int `yaml:"list_size"`
}

func (l Limits) named() []struct {
	name  string
	value int
} {
	return []struct {
		name  string
		value int
	}{
		{"max_depth", l.MaxDepth}, {"max_height", l.MaxHeight}, {"max_aliases", l.MaxAliases},
		{"max_root_fields", l.MaxRootFields}, {"max_tokens", l.MaxTokens},
		{"max_directives", l.MaxDirectives}, {"max_cost", l.MaxCost}, {"max_batch", l.MaxBatch},
		{"max_selections", l.MaxSelections},
	}
}

// Validate reports every limit that is not positive, at its key path
// relative to l; run it after defaults are applied, since a zero limit
// would refuse everything.
func (l Limits) Validate() keypath.Problems {
	var ps keypath.Problems
	for _, f := range l.named() {
		if f.value <= 0 {
			ps.Addf(keypath.Key(f.name), "must be > 0")
		}
	}
	return ps
}

// ValidateOverride checks limits that override others field by field (a
// rate-limit tier's limits), where zero means "keep the route's limit".
func (l Limits) ValidateOverride() keypath.Problems {
	var ps keypath.Problems
	for _, f := range l.named() {
		if f.value < 0 {
			ps.Addf(keypath.Key(f.name), "must be >= 0 (0 keeps the route's limit)")
		}
	}
	return ps
}

// Validate reports every problem in c, each at its key path relative to c.
func (c CostConfig) Validate() keypath.Problems {
	var ps keypath.Problems
	if c.ListSize <= 0 {
		ps.Addf(keypath.Key("list_size"), "must be > 0")
	}
	return ps
}
