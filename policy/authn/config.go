// Package authn turns credentials (OIDC/JWT bearer tokens, API keys) into an
// Identity.
package authn

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

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

// Forward names the headers that carry the verified identity to upstreams.
// Client-sent headers of these names are always stripped first, so an
// upstream can trust them.
type Forward struct {
	SubjectHeader string `yaml:"subject_header"`
	ScopesHeader  string `yaml:"scopes_header"`
	TierHeader    string `yaml:"tier_header"`
}

// Config is the identity section.
type Config struct {
	OIDC      []OIDC   `yaml:"oidc"`
	APIKeys   []APIKey `yaml:"api_keys"`
	Anonymous bool     `yaml:"anonymous"`
	Forward   Forward  `yaml:"forward"`
}

// Validate reports every problem in c without I/O, each at its key path
// relative to c. Tier references are checked by the config loader, which
// sees the rate_limit section.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	issuers := map[string]int{}
	for i, o := range c.OIDC {
		p := keypath.Key("oidc").Index(i)
		if err := checkIdPURL(o.Issuer); err != nil {
			ps.Addf(p.Key("issuer"), "%v", err)
		} else if j, dup := issuers[o.Issuer]; dup {
			ps.Addf(p.Key("issuer"), "duplicate issuer (also oidc[%d])", j)
		} else {
			issuers[o.Issuer] = i
		}
		if o.JWKSURL != "" {
			if err := checkIdPURL(o.JWKSURL); err != nil {
				ps.Addf(p.Key("jwks_url"), "%v", err)
			}
		}
		// Without an audience check a token minted for any other client of
		// the same IdP would be accepted.
		if len(o.Audiences) == 0 {
			ps.Addf(p.Key("audiences"), "at least one audience is required")
		}
		for j, a := range o.Audiences {
			if a == "" {
				ps.Addf(p.Key("audiences").Index(j), "must not be empty")
			}
		}
		if o.ClockSkew < 0 {
			ps.Addf(p.Key("clock_skew"), "must be >= 0")
		}
		if o.ClockSkew > 5*time.Minute {
			ps.Addf(p.Key("clock_skew"), "must be at most 5m")
		}
	}
	names := map[string]int{}
	hashes := map[string]int{}
	for i, k := range c.APIKeys {
		p := keypath.Key("api_keys").Index(i)
		if k.Name == "" {
			ps.Addf(p.Key("name"), "is required")
		} else if j, dup := names[k.Name]; dup {
			ps.Addf(p.Key("name"), "duplicate API key name %q (also api_keys[%d])", k.Name, j)
		} else {
			names[k.Name] = i
		}
		if !isSHA256Hex(k.SHA256) {
			ps.Addf(p.Key("sha256"), "must be 64 hex characters (the SHA-256 of the key)")
		} else if j, dup := hashes[strings.ToLower(k.SHA256)]; dup {
			ps.Addf(p.Key("sha256"), "same key hash as api_keys[%d]", j)
		} else {
			hashes[strings.ToLower(k.SHA256)] = i
		}
	}
	return ps
}

// checkIdPURL accepts https, and plain http only for loopback hosts
// : keys fetched over plain http could be swapped.
func checkIdPURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("must be an absolute https URL, got %q", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if host == "localhost" {
			return nil
		}
		if ip, err := netip.ParseAddr(host); err == nil && ip.IsLoopback() {
			return nil
		}
		return fmt.Errorf("must use https (plain http only for loopback hosts), got %q", raw)
	}
	return fmt.Errorf("must be an absolute https URL, got %q", raw)
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}
