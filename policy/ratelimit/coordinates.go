package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

// CoordinateLimit is one entry of rate_limit.coordinates: a budget of uses
// of one GraphQL field coordinate (every alias, spread and batch entry
// counts) or of one REST operation ("route.operationId"), per key.
type CoordinateLimit struct {
	Coordinate string        `yaml:"coordinate"`
	Operation  string        `yaml:"operation"`
	Rate       int           `yaml:"rate"`
	Per        time.Duration `yaml:"per"`
	Burst      int           `yaml:"burst"`
	// Key is ip, subject or api_key (default: rate_limit.key). Anonymous
	// callers are keyed by IP whatever it says.
	Key string `yaml:"key"`
}

// Name is the coordinate or the operation: the policy name in the
// RateLimit headers, the metric label and the audit event.
func (c CoordinateLimit) Name() string {
	if c.Coordinate != "" {
		return c.Coordinate
	}
	return c.Operation
}

var (
	coordinateRE = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$`)
	operationRE  = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[^\s"\\]+$`)
)

func (c CoordinateLimit) validate(p keypath.Path) keypath.Problems {
	var ps keypath.Problems
	switch {
	case (c.Coordinate == "") == (c.Operation == ""):
		ps.Addf(p, "set exactly one of coordinate (GraphQL Type.field) and operation (REST route.operationId)")
	case c.Coordinate != "" && !coordinateRE.MatchString(c.Coordinate):
		ps.Addf(p.Key("coordinate"), "must be a GraphQL field coordinate Type.field, got %q", c.Coordinate)
	case c.Operation != "" && !operationRE.MatchString(c.Operation):
		ps.Addf(p.Key("operation"), "must be route.operationId, got %q", c.Operation)
	}
	if c.Rate <= 0 {
		ps.Addf(p.Key("rate"), "must be > 0")
	}
	if c.Per <= 0 {
		ps.Addf(p.Key("per"), "must be > 0")
	}
	if c.Burst <= 0 {
		ps.Addf(p.Key("burst"), "must be > 0")
	}
	switch c.Key {
	case "", "subject", "api_key", "ip":
	default:
		ps.Addf(p.Key("key"), "must be subject, api_key or ip, got %q", c.Key)
	}
	return ps
}

func validateCoordinates(cs []CoordinateLimit) keypath.Problems {
	var ps keypath.Problems
	seen := map[string]bool{}
	for i, c := range cs {
		p := keypath.Key("coordinates").Index(i)
		ps = append(ps, c.validate(p)...)
		if n := c.Name(); n != "" {
			if seen[n] {
				ps.Addf(p, "%s already has a limit", n)
			}
			seen[n] = true
		}
	}
	return ps
}

// coordinateRule is a compiled CoordinateLimit.
type coordinateRule struct {
	*tierInfo
	key string
}

func (l *Limiter) newCoordinateRules(cs []CoordinateLimit) error {
	for i, c := range cs {
		ti, err := l.newTier(c.Name(), Tier{Rate: c.Rate, Per: c.Per, Burst: c.Burst}, 0)
		if err != nil {
			return fmt.Errorf("building rate limiter: coordinates[%d]: %w", i, errors.Unwrap(err))
		}
		key := c.Key
		if key == "" {
			key = l.key
		}
		l.coords = append(l.coords, coordinateRule{tierInfo: ti, key: key})
	}
	return nil
}

// Coordinates are the configured coordinate limits, in config order; the
// index of each is what ChargeCoordinate takes.
func (l *Limiter) Coordinates() []CoordinateLimit { return l.coordCfg }

// ChargeCoordinate charges count uses of coordinate limit i to the caller.
// count above the limit's burst can never pass: it is refused as
// TooExpensive without spending the budget. Store failures follow
// on_store_error as every charge does.
func (l *Limiter) ChargeCoordinate(ctx context.Context, i int, c Caller, count int) (Decision, error) {
	if i < 0 || i >= len(l.coords) {
		return Decision{}, fmt.Errorf("charging coordinate limit %d: no such limit", i)
	}
	r := l.coords[i]
	return l.chargeKey(ctx, r.tierInfo, r.storeKey(l, c), count)
}

// RefundCoordinate gives back count uses charged by ChargeCoordinate (when
// a later limit of the same request refused it).
func (l *Limiter) RefundCoordinate(ctx context.Context, i int, c Caller, count int) error {
	if i < 0 || i >= len(l.coords) || count <= 0 {
		return nil
	}
	r := l.coords[i]
	key := r.storeKey(l, c)
	if l.remote == nil {
		return l.local.Refund(ctx, key, r.tier, count)
	}
	if !l.up.Load() {
		if l.failOpen {
			return l.local.Refund(ctx, key, r.tier, count)
		}
		return ErrStoreUnavailable
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	return l.remote.Refund(cctx, key, r.tier, count)
}

// storeKey keeps coordinate buckets apart from tiers ("#" starts no tier
// name) and from each other (the name is part of the key).
func (r coordinateRule) storeKey(l *Limiter, c Caller) string {
	var sub string
	switch {
	case c.Anonymous:
		sub = "ip:" + l.ipKey(c.IP)
	case r.key == "api_key" && c.APIKeyName != "":
		sub = "key:" + c.APIKeyName
	case r.key != "ip" && c.Subject != "":
		sub = "sub:" + c.Subject
	default:
		sub = "ip:" + l.ipKey(c.IP)
	}
	return "#coord:" + r.name + ":" + hashLong(sub)
}

// CoordinateHeaders are the RateLimit-Policy and RateLimit fields of a
// coordinate limit's decision (and Retry-After on a refusal).
func (l *Limiter) CoordinateHeaders(i int, d Decision) []HeaderField {
	if i < 0 || i >= len(l.coords) {
		return nil
	}
	h := []HeaderField{{"RateLimit-Policy", l.coords[i].policy}, {"RateLimit", d.Header()}}
	if v, ok := d.RetryAfterHeader(); ok {
		h = append(h, HeaderField{"Retry-After", v})
	}
	return h
}
