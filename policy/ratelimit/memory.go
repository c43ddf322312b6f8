package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// MemoryOptions tunes a MemoryStore; zero fields take the defaults.
type MemoryOptions struct {
	Now           func() time.Time // default time.Now
	Shards        int              // rounded up to a power of two; default 256
	MaxKeys       int              // hard cap over all shards; default 1<<20
	SweepInterval time.Duration    // how often full (idle) buckets are dropped; default 30s; <0 disables the janitor
}

// MemoryStore is a per-process Store: sharded maps, one mutex per shard.
// Memory is bounded twice: the janitor drops buckets that have refilled (they
// are indistinguishable from absent ones), and a shard at its cap evicts before
// inserting, so a flood of unique keys cannot grow it.
type MemoryStore struct {
	now      func() time.Time
	seed     maphash.Seed
	mask     uint64
	perShard int
	shards   []memShard
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// memEntry is a bucket and the µs instant it will be full again, which lets
// the janitor and eviction judge it without knowing its tier.
type memEntry struct {
	bucket
	full int64
}

type memShard struct {
	mu sync.Mutex
	m  map[string]*memEntry
	_  [40]byte // keeps neighbouring shards' mutexes off one cache line
}

// evictSample is how many entries a full shard looks at before evicting, as
// Redis's approximated LRU does: O(1) per insert even under a flood.
const evictSample = 8

// NewMemoryStore starts a store and its janitor; Close stops the janitor.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	n := 256
	if opts.Shards > 0 {
		n = 1
		for n < opts.Shards {
			n <<= 1
		}
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = 1 << 20
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = 30 * time.Second
	}
	s := &MemoryStore{
		now:      opts.Now,
		seed:     maphash.MakeSeed(),
		mask:     uint64(n - 1),
		perShard: max(opts.MaxKeys/n, 1),
		shards:   make([]memShard, n),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*memEntry)
	}
	if opts.SweepInterval > 0 {
		go s.janitor(opts.SweepInterval)
	} else {
		close(s.done)
	}
	return s
}

// Close stops the janitor and waits for it. It is safe to call twice.
func (s *MemoryStore) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *MemoryStore) janitor(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep drops every bucket that has refilled; one shard locked at a time.
func (s *MemoryStore) sweep() {
	now := s.now().UnixMicro()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if e.full <= now {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// Len is the number of buckets held.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

func (s *MemoryStore) shard(key string) *memShard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// Allow implements Store.
func (s *MemoryStore) Allow(_ context.Context, key string, tier Tier, cost int) (Decision, error) {
	p, err := newParams(tier)
	if err != nil {
		return Decision{}, fmt.Errorf("charging %q: %w", key, err)
	}
	if cost < 0 {
		return Decision{}, fmt.Errorf("charging %q: %w", key, errNegative)
	}
	now := s.now().UnixMicro()
	sh := s.shard(key)
	sh.mu.Lock()
	// One map lookup and an in-place update: the map is the cost here.
	e := sh.m[key]
	var b bucket
	if e != nil {
		b = e.bucket
	}
	d, next, write := p.charge(b, now, int64(cost))
	if write {
		if e == nil {
			if len(sh.m) >= s.perShard {
				sh.evict(now)
			}
			e = &memEntry{}
			sh.m[key] = e
		}
		*e = memEntry{bucket: next, full: now + d.ResetAfter.Microseconds()}
	}
	sh.mu.Unlock()
	return d, nil
}

// Refund implements Store.
func (s *MemoryStore) Refund(_ context.Context, key string, tier Tier, units int) error {
	p, err := newParams(tier)
	if err != nil {
		return fmt.Errorf("refunding %q: %w", key, err)
	}
	if units < 0 {
		return fmt.Errorf("refunding %q: %w", key, errNegative)
	}
	now := s.now().UnixMicro()
	sh := s.shard(key)
	sh.mu.Lock()
	if e := sh.m[key]; e != nil {
		if nb := p.refund(e.bucket, now, int64(units)); nb.debt == 0 {
			delete(sh.m, key)
		} else {
			*e = memEntry{bucket: nb, full: now + ceilDivUS(nb.debt, p.rate).Microseconds()}
		}
	}
	sh.mu.Unlock()
	return nil
}

// evict removes one entry: of a few sampled ones, the one with the least debt
// left, so the buckets evicted are those whose loss gives a client least. The
// caller holds sh.mu.
func (sh *memShard) evict(now int64) {
	var victim string
	best := int64(-1)
	n := 0
	for k, e := range sh.m {
		left := max(e.full-now, 0)
		if best < 0 || left < best {
			victim, best = k, left
		}
		n++
		if n == evictSample || best == 0 {
			break
		}
	}
	if best >= 0 {
		delete(sh.m, victim)
	}
}
