// Package external asks an external decision point whether a request may
// pass, speaking Open Policy Agent's REST data API ({"input": ...} in,
// {"result": ...} out), with a bounded decision cache keyed on the input
// (docs/governance.md, "External authorization").
package external

import (
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Config is authorization.external on a GraphQL or REST route.
type Config struct {
	// URL is the full data URL, e.g. http://opa:8181/v1/data/portcullis/authz/decision.
	URL string `yaml:"url"`
	// Timeout bounds one decision (default 50ms).
	Timeout time.Duration `yaml:"timeout"`
	// OnError is what a failed or undefined decision means: deny (default)
	// or allow.
	OnError string `yaml:"on_error"`
	// CacheTTL keeps a decision for identical inputs this long; 0 asks every
	// time.
	CacheTTL time.Duration `yaml:"cache_ttl"`
	// CacheSize bounds the cached decisions (default 10000).
	CacheSize int `yaml:"cache_size"`
	// Headers are the request headers the input carries (lower case);
	// credentials (Authorization, Cookie, X-API-Key) never.
	Headers []string `yaml:"headers"`
}

// Defaults.
const (
	DefaultTimeout   = 50 * time.Millisecond
	DefaultCacheSize = 10000
)

// WithDefaults fills the zero values the documented defaults stand for.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.OnError == "" {
		c.OnError = "deny"
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	return c
}

// credentialHeaders never reach the decision point: the identity layer has
// already read them, and a decision log is no place for secrets.
var credentialHeaders = map[string]bool{"authorization": true, "cookie": true, "x-api-key": true, "proxy-authorization": true}

// Validate reports every problem without I/O; each message starts with the
// key path relative to the section.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		ps.Addf(keypath.Key("url"), "is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		ps.Addf(keypath.Key("url"), "must be an absolute http or https URL, got %q", c.URL)
	case u.User != nil:
		ps.Addf(keypath.Key("url"), "must not contain credentials")
	}
	if c.Timeout < 0 {
		ps.Addf(keypath.Key("timeout"), "must be > 0 (0 means the default 50ms)")
	}
	if c.OnError != "deny" && c.OnError != "allow" {
		ps.Addf(keypath.Key("on_error"), "must be deny or allow, got %q", c.OnError)
	}
	if c.CacheTTL < 0 {
		ps.Addf(keypath.Key("cache_ttl"), "must be >= 0")
	}
	if c.CacheSize < 0 {
		ps.Addf(keypath.Key("cache_size"), "must be > 0 (0 means the default 10000)")
	}
	for i, h := range c.Headers {
		switch {
		case h == "" || http.CanonicalHeaderKey(h) == "":
			ps.Addf(keypath.Key("headers").Index(i), "must be a header name")
		case credentialHeaders[lower(h)]:
			ps.Addf(keypath.Key("headers").Index(i), "%s carries credentials and is never sent to the decision point", h)
		}
	}
	return ps
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
