package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// benchRedis is the Redis behind the docs/ pages target: the shared Redis of the
// tests, whose database may hold other users' keys.
type benchRedis struct {
	client *redis.Client
	opts   *redis.Options
}

// gatewayKeys matches only the gateway's own buckets
// (portcullis:rl:{tier:key}); unit tests sharing the database keep theirs
// under portcullis:rl:test-*, and a run must not delete them mid-test.
const gatewayKeys = "portcullis:rl:{*"

// openRedis connects and pings, so an absent Redis is known before any
// gateway depends on it.
func openRedis(ctx context.Context, rawURL string) (*benchRedis, error) {
	opts, err := parseRedisURL(rawURL)
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
	return &benchRedis{client: c, opts: opts}, nil
}

// parseRedisURL reads REDIS_URL, refusing what the gateway config's redis
// section (address, password, db) cannot express.
func parseRedisURL(rawURL string) (*redis.Options, error) {
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

// storeYAML is the rate_limit store keys for the config template, indented
// for the template's "  {{store}}" line. The store timeout is generous: the
// machine is shared, and a slow Redis answer should cost throughput, not
// count as a failed request.
func (r *benchRedis) storeYAML() string {
	return fmt.Sprintf("store: redis\n  redis: {address: %q, password: %q, db: %d}\n  timeout: 1s",
		r.opts.Addr, r.opts.Password, r.opts.DB)
}

// clean deletes the gateway's buckets, so a run starts from full budgets and
// leaves nothing behind.
func (r *benchRedis) clean(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	iter := r.client.Scan(ctx, 0, gatewayKeys, 1000).Iterator()
	for iter.Next(ctx) {
		if err := r.client.Del(ctx, iter.Val()).Err(); err != nil {
			return fmt.Errorf("deleting %s: %w", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scanning %s: %w", gatewayKeys, err)
	}
	return nil
}

func (r *benchRedis) close() { _ = r.client.Close() }
