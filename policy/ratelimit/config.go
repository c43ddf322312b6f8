// Package ratelimit is the cost-based GCRA limiter shared by GraphQL and REST
// routes, with in-memory and Redis stores.
package ratelimit

import (
	"maps"
	"net"
	"regexp"
	"slices"
	"time"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/keypath"
)

// Tier is one budget: Rate cost units per Per, Burst at most at once.
type Tier struct {
	Rate   int              `yaml:"rate"`
	Per    time.Duration    `yaml:"per"`
	Burst  int              `yaml:"burst"`
	Limits *analysis.Limits `yaml:"limits"`
	// MaxInFlight caps concurrent requests per key in this tier, per
	// replica; 0 means no cap.
	MaxInFlight int `yaml:"max_in_flight"`
}

// Redis is the shared store's address.
type Redis struct {
	Address  string `yaml:"address"`
	Password string `yaml:"password"`
	DB       int    `yaml:"db"`
}

// Config is the rate_limit section.
type Config struct {
	Store        string          `yaml:"store"` // memory | redis
	Redis        Redis           `yaml:"redis"`
	OnStoreError string          `yaml:"on_store_error"` // fail_closed | fail_open
	Key          string          `yaml:"key"`            // subject | api_key | ip
	Tiers        map[string]Tier `yaml:"tiers"`
	// Timeout bounds each store call, so a dead Redis never hangs a request.
	Timeout time.Duration `yaml:"timeout"`
	// Penalty is charged for a request refused before forwarding, so probing
	// through error messages is throttled like any traffic.
	Penalty int `yaml:"penalty"`
	// MinCost is the least any request is charged, whatever its estimate
	// (0 takes the default 1): no request is free, so a flood of operations
	// estimated at 0 is rate-limited like any other traffic.
	MinCost int `yaml:"min_cost"`
	// AuthFailures is the budget of failed credential checks per client IP.
	AuthFailures *Tier `yaml:"auth_failures"`
	// Coordinates are budgets of uses of one GraphQL field coordinate or
	// REST operation, beside the cost budget (docs/governance.md).
	Coordinates []CoordinateLimit `yaml:"coordinates"`
}

// Validate reports every problem in c without I/O, each at its key path
// relative to c.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	redis := keypath.Key("redis")
	switch c.Store {
	case "memory":
	case "redis":
		if c.Redis.Address == "" {
			ps.Addf(redis.Key("address"), "is required when store is redis")
		} else if _, _, err := net.SplitHostPort(c.Redis.Address); err != nil {
			ps.Addf(redis.Key("address"), "must be host:port, got %q", c.Redis.Address)
		}
	default:
		ps.Addf(keypath.Key("store"), "must be memory or redis, got %q", c.Store)
	}
	if c.Redis.DB < 0 {
		ps.Addf(redis.Key("db"), "must be >= 0")
	}
	if c.Timeout < 0 {
		ps.Addf(keypath.Key("timeout"), "must be >= 0")
	}
	if c.Penalty < 0 {
		ps.Addf(keypath.Key("penalty"), "must be >= 0")
	}
	if c.MinCost < 0 {
		ps.Addf(keypath.Key("min_cost"), "must be >= 0 (0 means the default 1)")
	}
	if a := c.AuthFailures; a != nil && (a.Rate <= 0 || a.Per <= 0 || a.Burst <= 0) {
		ps.Addf(keypath.Key("auth_failures"), "rate, per and burst must be > 0")
	}
	if c.OnStoreError != "fail_closed" && c.OnStoreError != "fail_open" {
		ps.Addf(keypath.Key("on_store_error"), "must be fail_closed or fail_open, got %q", c.OnStoreError)
	}
	switch c.Key {
	case "subject", "api_key", "ip":
	default:
		ps.Addf(keypath.Key("key"), "must be subject, api_key or ip, got %q", c.Key)
	}
	ps = append(ps, validateCoordinates(c.Coordinates)...)
	for _, name := range slices.Sorted(maps.Keys(c.Tiers)) {
		t := c.Tiers[name]
		p := keypath.Key("tiers").Key(name)
		// Tier names go into RateLimit-Policy headers and metric labels.
		if !tierNameRE.MatchString(name) {
			ps.Addf(p, "tier name must match %s", tierNameRE)
			continue
		}
		if t.Rate <= 0 {
			ps.Addf(p.Key("rate"), "must be > 0")
		}
		if t.Per <= 0 {
			ps.Addf(p.Key("per"), "must be > 0")
		}
		if t.Burst <= 0 {
			ps.Addf(p.Key("burst"), "must be > 0")
		}
		if t.Limits != nil {
			ps.AddAll(p.Key("limits"), t.Limits.ValidateOverride())
		}
	}
	return ps
}

var tierNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
