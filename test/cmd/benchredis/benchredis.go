// Package benchredis is the Redis behind the Redis-store rows of the
// benchmark programs (loadbench, corebench): the shared Redis of the tests,
// whose database may hold other users' keys.
package benchredis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a connected, pinged client and the options it was opened with.
type Redis struct {
	Client *redis.Client
	Opts   *redis.Options
}

// gatewayKeys matches only the gateway's own buckets
// (portcullis:rl:{tier:key}); unit tests sharing the database keep theirs
// under portcullis:rl:test-*, and a run must not delete them mid-test.
const gatewayKeys = "portcullis:rl:{*"

// Open connects and pings, so an absent Redis is known before any
// gateway depends on it.
func Open(ctx context.Context, rawURL string) (*Redis, error) {
	opts, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("pinging Redis at %s (db %d): %w", opts.Addr, opts.DB, err)
	}
	return &Redis{Client: c, Opts: opts}, nil
}

// ParseURL reads REDIS_URL, refusing what the gateway config's redis
// section (address, password, db) cannot express.
func ParseURL(rawURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// Not wrapped: url.Parse's error quotes the URL, password and all.
		return nil, errors.New("parsing REDIS_URL: not a valid redis:// URL")
	}
	if opts.TLSConfig != nil || opts.Username != "" {
		return nil, errors.New("parsing REDIS_URL: TLS and usernames cannot be expressed in the gateway config")
	}
	return opts, nil
}

// StoreYAML is the rate_limit store keys for the config template, indented
// for the template's "  {{store}}" line. The store timeout is generous: the
// machine is shared, and a slow Redis answer should cost throughput, not
// count as a failed request.
func (r *Redis) StoreYAML() string {
	return fmt.Sprintf("store: redis\n  redis: {address: %q, password: %q, db: %d}\n  timeout: 1s",
		r.Opts.Addr, r.Opts.Password, r.Opts.DB)
}

// Clean deletes the gateway's buckets, so a run starts from full budgets and
// leaves nothing behind.
func (r *Redis) Clean(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	iter := r.Client.Scan(ctx, 0, gatewayKeys, 1000).Iterator()
	for iter.Next(ctx) {
		if err := r.Client.Del(ctx, iter.Val()).Err(); err != nil {
			return fmt.Errorf("deleting %s: %w", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scanning %s: %w", gatewayKeys, err)
	}
	return nil
}

func (r *Redis) Close() { _ = r.Client.Close() }
