// Package authn turns credentials (OIDC/JWT bearer tokens, API keys) into an
// Identity.
package authn

import "time"

// OIDC is one trusted token issuer.
type OIDC struct {
	Issuer      string        `yaml:"issuer"`
	CAFile      string        `yaml:"ca_file"`
	Audiences   []string      `yaml:"audiences"`
	JWKSURL     string        `yaml:"jwks_url"`
	ScopesClaim string        `yaml:"scopes_claim"`
	RolesClaim  string        `yaml:"roles_claim"`
	TierClaim   string        `yaml:"tier_claim"`
	ClockSkew   time.Duration `yaml:"clock_skew"`
}

// APIKey is one API key, known only by its SHA-256 hash.
type APIKey struct {
	Name   string   `yaml:"name"`
	SHA256 string   `yaml:"sha256"`
	Scopes []string `yaml:"scopes"`
	Tier   string   `yaml:"tier"`
}

// Config is the identity section.
type Config struct {
	OIDC      []OIDC   `yaml:"oidc"`
	APIKeys   []APIKey `yaml:"api_keys"`
	Anonymous bool     `yaml:"anonymous"`
}
