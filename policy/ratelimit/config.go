// Package ratelimit is the cost-based GCRA limiter shared by GraphQL and REST
// routes, with in-memory and Redis stores.
package ratelimit

import (
	"time"

	"github.com/portcullis-gw/portcullis/analysis"
)

// Tier is one budget: Rate cost units per Per, Burst at most at once.
type Tier struct {
	Rate   int              `yaml:"rate"`
	Per    time.Duration    `yaml:"per"`
	Burst  int              `yaml:"burst"`
	Limits *analysis.Limits `yaml:"limits"`
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
}
