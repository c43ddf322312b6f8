package ratelimit

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sync"
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
	// Timeout bounds one pipeline round trip (default 1s); each caller's
	// own context still bounds its wait.
	Timeout time.Duration
}

// RedisStore is a Store shared by every gateway replica through Redis
// (single node, Cluster or Sentinel: any go-redis UniversalClient). Buckets
// expire when they are full again.
//
// Decisions are auto-pipelined: one goroutine sends every decision queued
// while the previous round trip was in flight as one pipeline. Under load
// that turns N round trips (and N reads and writes on each side) into one,
// and with no load it adds nothing, since it never waits to fill a batch.
type RedisStore struct {
	client  redis.UniversalClient
	prefix  string
	now     func() time.Time
	timeout time.Duration

	calls     chan *redisCall
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// redisCall is one script call waiting for its pipeline.
type redisCall struct {
	key   string
	args  []any
	reply chan redisReply // buffered: the loop never blocks on a caller that left
}

type redisReply struct {
	val any // the script's reply as go-redis decodes it
	err error
}

// maxPipeline bounds one round trip, so one batch cannot hold a reply back
// for long or grow without limit.
const maxPipeline = 128

// errStoreClosed answers calls made after Close.
var errStoreClosed = errors.New("rate limit store closed")

// NewRedisStore wraps client; it does not own it. Close stops its pipeline
// goroutine.
func NewRedisStore(client redis.UniversalClient, opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	s := &RedisStore{
		client: client, prefix: opts.Prefix, now: opts.Now, timeout: opts.Timeout,
		calls: make(chan *redisCall, maxPipeline), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go s.loop()
	return s
}

// Close stops the pipeline goroutine; calls still queued get errStoreClosed.
func (s *RedisStore) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

func (s *RedisStore) key(key string) string { return s.prefix + "{" + key + "}" }

func (s *RedisStore) nowUS() int64 {
	if s.now == nil {
		return 0
	}
	return s.now().UnixMicro()
}

// run queues one script call and waits for its reply or ctx.
func (s *RedisStore) run(ctx context.Context, key string, args ...any) (any, error) {
	c := &redisCall{key: s.key(key), args: args, reply: make(chan redisReply, 1)}
	select {
	case s.calls <- c:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stop:
		return nil, errStoreClosed
	}
	select {
	case r := <-c.reply:
		return r.val, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *RedisStore) loop() {
	defer close(s.done)
	batch := make([]*redisCall, 0, maxPipeline)
	for {
		select {
		case c := <-s.calls:
			batch = append(batch[:0], c)
		case <-s.stop:
			s.drain()
			return
		}
	fill:
		for len(batch) < maxPipeline {
			select {
			case c := <-s.calls:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		s.exec(batch)
	}
}

func (s *RedisStore) drain() {
	for {
		select {
		case c := <-s.calls:
			c.reply <- redisReply{err: errStoreClosed}
		default:
			return
		}
	}
}

// exec sends one pipeline of EVALSHA calls; a server that does not know
// the script yet (NOSCRIPT: first use, restart, failover) gets it loaded
// and those calls sent again. Calls that did run are never repeated.
func (s *RedisStore) exec(batch []*redisCall) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	pending := batch
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		pipe := s.client.Pipeline()
		cmds := make([]*redis.Cmd, len(pending))
		for i, c := range pending {
			cmds[i] = gcraScript.EvalSha(ctx, pipe, []string{c.key}, c.args...)
		}
		_, _ = pipe.Exec(ctx) // each command carries its own error
		var retry []*redisCall
		for i, c := range pending {
			err := cmds[i].Err()
			if err != nil && attempt == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
				retry = append(retry, c)
				continue
			}
			c.reply <- redisReply{val: cmds[i].Val(), err: err}
		}
		if len(retry) > 0 {
			if err := gcraScript.Load(ctx, s.client).Err(); err != nil {
				for _, c := range retry {
					c.reply <- redisReply{err: err}
				}
				return
			}
		}
		pending = retry
	}
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
	val, err := s.run(ctx, key, p.rate, p.perUS, p.burst, cost, s.nowUS(), "a")
	if err != nil {
		return Decision{}, fmt.Errorf("running rate limit script: %w", err)
	}
	res, ok := int64s(val, 5)
	if !ok {
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
	if _, err := s.run(ctx, key, p.rate, p.perUS, p.burst, units, s.nowUS(), "r"); err != nil {
		return fmt.Errorf("running rate limit refund: %w", err)
	}
	return nil
}

// ping checks the store answers; used by the Limiter's recovery probe.
func (s *RedisStore) ping(ctx context.Context) error {
	return s.client.Ping(ctx).Err()
}

// int64s reads a script reply that must be an array of n integers.
func int64s(val any, n int) ([]int64, bool) {
	arr, ok := val.([]any)
	if !ok || len(arr) != n {
		return nil, false
	}
	out := make([]int64, n)
	for i, v := range arr {
		if out[i], ok = v.(int64); !ok {
			return nil, false
		}
	}
	return out, true
}
