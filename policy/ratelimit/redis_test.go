package ratelimit

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-gw/portcullis/internal/testkit/fakeclock"
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
)

func TestRedisStoreSequences(t *testing.T) {
	c := redistest.Client(t, -1)
	for _, seq := range sequences {
		t.Run(seq.name, func(t *testing.T) {
			clock := fakeclock.New(epoch)
			st := NewRedisStore(c, RedisOptions{Prefix: redistest.Prefix(t, c, "portcullis:rl:"), Now: clock.Now})
			t.Cleanup(func() { st.Close() })
			runSequence(t, st, clock, seq, "k")
		})
	}
}

// TestRedisStoreServerClock uses Redis TIME, as production does. With one
// unit per hour, the milliseconds the test takes cannot change r, t or
// Retry-After, so the values are still exact.
func TestRedisStoreServerClock(t *testing.T) {
	c := redistest.Client(t, -1)
	prefix := redistest.Prefix(t, c, "portcullis:rl:")
	st := NewRedisStore(c, RedisOptions{Prefix: prefix})
	t.Cleanup(func() { st.Close() })
	tier := Tier{Rate: 1, Per: time.Hour, Burst: 10}
	ctx := context.Background()

	steps := []struct {
		cost    int
		allowed bool
		header  string
		retry   string
	}{
		{4, true, `"t";r=6;t=14400`, ""},
		{6, true, `"t";r=0;t=36000`, ""},
		{1, false, `"t";r=0;t=36000`, "3600"},
		{11, false, `"t";r=0;t=36000`, ""},
	}
	for i, s := range steps {
		d, err := st.Allow(ctx, "t:client", tier, s.cost)
		if err != nil {
			t.Fatal(err)
		}
		d.Tier = "t"
		retry, _ := d.RetryAfterHeader()
		if d.Allowed != s.allowed || d.Header() != s.header || retry != s.retry {
			t.Errorf("step %d: got allowed=%v %s retry=%q, want %v %s %q", i, d.Allowed, d.Header(), retry, s.allowed, s.header, s.retry)
		}
	}
	key := prefix + "{t:client}"
	ttl, err := c.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The key expires when the bucket is full again: 10 hours from the last write.
	if ttl <= 10*time.Hour-time.Minute || ttl > 10*time.Hour {
		t.Errorf("PTTL %s, want just under 10h", ttl)
	}
	if err := st.Refund(ctx, "t:client", tier, 100); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Exists(ctx, key).Result(); n != 0 {
		t.Error("a bucket refunded to full is still stored")
	}
}

func TestRedisStoreKeysIndependent(t *testing.T) {
	c := redistest.Client(t, -1)
	st := NewRedisStore(c, RedisOptions{Prefix: redistest.Prefix(t, c, "portcullis:rl:")})
	t.Cleanup(func() { st.Close() })
	tier := Tier{Rate: 1, Per: time.Hour, Burst: 3}
	ctx := context.Background()
	if d, err := st.Allow(ctx, "default:sub:alice", tier, 3); err != nil || !d.Allowed {
		t.Fatalf("alice: %+v %v", d, err)
	}
	if d, _ := st.Allow(ctx, "default:sub:alice", tier, 1); d.Allowed {
		t.Fatal("alice over budget was allowed")
	}
	if d, err := st.Allow(ctx, "default:sub:bob", tier, 3); err != nil || !d.Allowed || d.Remaining != 0 {
		t.Errorf("bob paid for alice: %+v %v", d, err)
	}
}

// TestRedisStoreConcurrentExact: two gateway processes (two clients, two
// connection pools) hammer one key. One unit per hour means nothing refills
// during the test, so exactly burst charges may pass: no over-admission.
func TestRedisStoreConcurrentExact(t *testing.T) {
	base := redistest.Client(t, -1)
	prefix := redistest.Prefix(t, base, "portcullis:rl:")
	tier := Tier{Rate: 1, Per: time.Hour, Burst: 100}
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		c := redis.NewClient(redistest.Options(t, -1))
		defer c.Close()
		st := NewRedisStore(c, RedisOptions{Prefix: prefix})
		t.Cleanup(func() { st.Close() })
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 20 {
					d, err := st.Allow(context.Background(), "default:sub:shared", tier, 1)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						allowed.Add(1)
					} else {
						refused.Add(1)
					}
				}
			}()
		}
	}
	wg.Wait()
	if allowed.Load() != 100 || refused.Load() != 540 {
		t.Errorf("allowed %d, refused %d; want exactly 100 and 540", allowed.Load(), refused.Load())
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	opts := redistest.Options(b, -1)
	opts.PoolSize = 64
	c := redis.NewClient(opts)
	defer c.Close()
	prefix := redistest.Prefix(b, c, "portcullis:rl:")
	st := NewRedisStore(c, RedisOptions{Prefix: prefix})
	defer st.Close()
	tier := Tier{Rate: 1_000_000, Per: time.Second, Burst: 1_000_000}
	ctx := context.Background()
	var n atomic.Int64
	// 64 concurrent callers, as the docs/ pages goal states.
	b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		key := "default:sub:bench-" + string(rune('a'+n.Add(1)%26))
		for pb.Next() {
			if _, err := st.Allow(ctx, key, tier, 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}
