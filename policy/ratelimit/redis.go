package ratelimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// A Lua script rather than go-redis/redis_rate: redis_rate keeps the bucket as
// float seconds since 2017 and returns remaining as a truncated float, so its
// r/t/Retry-After values drift by a unit against the memory store's; it also
// forces its own "rate:" key prefix (not portcullis:rl:{...}) and has no
// refund. This script keeps integers below 2^53, so both stores agree to the
// microsecond, and still decides in one round trip.
//
//go:embed gcra.lua
var gcraLua string

var gcraScript = redis.NewScript(gcraLua)

// DefaultRedisPrefix namespaces every bucket: portcullis:rl:{<tier>:<key>}.
// The braces are a Cluster hash tag; each script call touches one key.
const DefaultRedisPrefix = "portcullis:rl:"

// RedisOptions tunes a RedisStore.
type RedisOptions struct {
	Prefix string // default DefaultRedisPrefix
	// Now, when set, stamps decisions with this clock instead of Redis TIME.
	// Only for tests: with several gateways the server's clock is the one
	// all of them share.
	Now func() time.Time
}

// RedisStore is a Store shared by every gateway replica through Redis
// (single node, Cluster or Sentinel: any go-redis UniversalClient). Buckets
// expire when they are full again.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRedisStore wraps client; it does not own it.
func NewRedisStore(client redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	return &RedisStore{client: client, prefix: opts.Prefix, now: opts.Now}
}

func (s *RedisStore) key(key string) string { return s.prefix + "{" + key + "}" }

func (s *RedisStore) nowUS() int64 {
	if s.now == nil {
		return 0
	}
	return s.now().UnixMicro()
}

// Allow implements Store.
func (s *RedisStore) Allow(ctx context.Context, key string, tier Tier, cost int) (Decision, error) {
	p, err := newParams(tier)
	if err != nil {
		return Decision{}, fmt.Errorf("charging %q: %w", key, err)
	}
	if cost < 0 {
		return Decision{}, fmt.Errorf("charging %q: %w", key, errNegative)
	}
	res, err := gcraScript.Run(ctx, s.client, []string{s.key(key)},
		p.rate, p.perUS, p.burst, cost, s.nowUS(), "a").Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("running rate limit script: %w", err)
	}
	if len(res) != 5 {
		return Decision{}, errors.New("running rate limit script: unexpected reply")
	}
	return Decision{
		Allowed:      res[0] == 1,
		Cost:         cost,
		Limit:        tier.Burst,
		Remaining:    int(res[1]),
		ResetAfter:   time.Duration(res[2]) * time.Microsecond,
		RetryAfter:   time.Duration(res[3]) * time.Microsecond,
		TooExpensive: res[4] == 1,
	}, nil
}

// Refund implements Store.
func (s *RedisStore) Refund(ctx context.Context, key string, tier Tier, units int) error {
	p, err := newParams(tier)
	if err != nil {
		return fmt.Errorf("refunding %q: %w", key, err)
	}
	if units < 0 {
		return fmt.Errorf("refunding %q: %w", key, errNegative)
	}
	if err := gcraScript.Run(ctx, s.client, []string{s.key(key)},
		p.rate, p.perUS, p.burst, units, s.nowUS(), "r").Err(); err != nil {
		return fmt.Errorf("running rate limit refund: %w", err)
	}
	return nil
}

// ping checks the store answers; used by the Limiter's recovery probe.
func (s *RedisStore) ping(ctx context.Context) error {
	return s.client.Ping(ctx).Err()
}
