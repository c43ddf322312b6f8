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

// Redis is the shared store: a single server, a Sentinel-monitored master
// or a Cluster, reached through go-redis's universal client.
type Redis struct {
	// Mode is standalone (default), sentinel or cluster.
	Mode string `yaml:"mode"`
	// Address is the server (standalone).
	Address string `yaml:"address"`
	// Addresses are the Sentinels (sentinel) or the seed nodes (cluster).
	Addresses []string `yaml:"addresses"`
	// MasterName is the master the Sentinels monitor (sentinel).
	MasterName string `yaml:"master_name"`
	// Username and Password authenticate to Redis (ACL user, or the
	// default user's requirepass when Username is empty).
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// when they need it.
	SentinelUsername string `yaml:"sentinel_username"`
	SentinelPassword string `yaml:"sentinel_password"`
	// DB is the database number (standalone and sentinel; a Cluster has
	// only database 0).
	DB int `yaml:"db"`
	// TLS, when set, connects over TLS.
	TLS *RedisTLS `yaml:"tls"`
}

// RedisTLS is the client side of TLS to Redis.
type RedisTLS struct {
	// CAFile is a PEM bundle trusted instead of the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (tls-auth-clients).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `yaml:"server_name"`
}

// Redis modes of Redis.Mode.
const (
	RedisStandalone = "standalone"
	RedisSentinel   = "sentinel"
	RedisCluster    = "cluster"
)

// validate reports r's problems at key paths relative to the redis block.
func (r Redis) validate() keypath.Problems {
	var ps keypath.Problems
	checkAddr := func(p keypath.Path, a string) {
		if _, _, err := net.SplitHostPort(a); err != nil {
			ps.Addf(p, "must be host:port, got %q", a)
		}
	}
	switch r.Mode {
	case "", RedisStandalone:
		if r.Address == "" {
			ps.Addf(keypath.Key("address"), "is required when store is redis")
		} else {
			checkAddr(keypath.Key("address"), r.Address)
		}
		if len(r.Addresses) > 0 {
			ps.Addf(keypath.Key("addresses"), "only for mode sentinel or cluster; a single server takes address")
		}
	case RedisSentinel, RedisCluster:
		if len(r.Addresses) == 0 {
			ps.Addf(keypath.Key("addresses"), "is required in mode %s", r.Mode)
		}
		for i, a := range r.Addresses {
			checkAddr(keypath.Key("addresses").Index(i), a)
		}
		if r.Address != "" {
			ps.Addf(keypath.Key("address"), "not used in mode %s; list the nodes in addresses", r.Mode)
		}
	default:
		ps.Addf(keypath.Key("mode"), "must be standalone, sentinel or cluster, got %q", r.Mode)
	}
	if r.Mode == RedisSentinel && r.MasterName == "" {
		ps.Addf(keypath.Key("master_name"), "is required in mode sentinel")
	}
	if r.Mode != RedisSentinel && r.MasterName != "" {
		ps.Addf(keypath.Key("master_name"), "only for mode sentinel")
	}
	if r.Mode == RedisCluster && r.DB != 0 {
		ps.Addf(keypath.Key("db"), "a Redis Cluster has only database 0")
	}
	if r.DB < 0 {
		ps.Addf(keypath.Key("db"), "must be >= 0")
	}
	if t := r.TLS; t != nil && (t.CertFile == "") != (t.KeyFile == "") {
		ps.Addf(keypath.Key("tls").Key("cert_file"), "cert_file and key_file must be set together")
	}
	return ps
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
		ps.AddAll(redis, c.Redis.validate())
	default:
		ps.Addf(keypath.Key("store"), "must be memory or redis, got %q", c.Store)
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
