package ratelimit

import (
	"context"
	"errors"
)

// Store keeps GCRA buckets. Keys are opaque to a store; the Limiter builds
// them as "<tier>:<subject key>".
type Store interface {
	// Allow charges cost units to key. A cost above tier.Burst is refused with
	// TooExpensive and leaves the bucket as it was; a cost of 0 only reads.
	Allow(ctx context.Context, key string, tier Tier, cost int) (Decision, error)
	// Refund gives units back to key; the bucket never holds more than burst.
	Refund(ctx context.Context, key string, tier Tier, units int) error
}

// ErrStoreUnavailable is returned by a fail_closed Limiter whose store cannot
// be reached; the gateway answers 503 RATE_LIMIT_UNAVAILABLE.
var ErrStoreUnavailable = errors.New("rate limit store unavailable")

// errNegative refuses negative costs and refunds: a caller bug, never a free
// budget top-up.
var errNegative = errors.New("negative cost")
