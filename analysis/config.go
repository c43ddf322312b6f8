// Package analysis measures GraphQL operations against a schema (one walk,
// many rules, one Report) and checks REST requests against OpenAPI.
package analysis

import (
	"errors"
	"fmt"
)

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

// Validate reports every limit that is not positive; run it after defaults
// are applied, since a zero limit would refuse everything. Each message
// starts with the key path relative to l.
func (l Limits) Validate() []error {
	var errs []error
	for _, f := range l.named() {
		if f.value <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be > 0", f.name))
		}
	}
	return errs
}

// ValidateOverride checks limits that override others field by field (a
// rate-limit tier's limits), where zero means "keep the route's limit".
func (l Limits) ValidateOverride() []error {
	var errs []error
	for _, f := range l.named() {
		if f.value < 0 {
			errs = append(errs, fmt.Errorf("%s: must be >= 0 (0 keeps the route's limit)", f.name))
		}
	}
	return errs
}

// Validate reports every problem in c; messages start with the key path relative to c.
func (c CostConfig) Validate() []error {
	if c.ListSize <= 0 {
		return []error{errors.New("list_size: must be > 0")}
	}
	return nil
}
