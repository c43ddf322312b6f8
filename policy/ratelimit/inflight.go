package ratelimit

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// inflight counts requests in progress per key, in this replica only: a cap
// on concurrency protects this replica's upstream connections, and sharing it
// through Redis would cost a round trip at both ends of every request.
type inflight struct {
	seed   maphash.Seed
	shards [64]struct {
		mu sync.Mutex
		m  map[string]int
	}
}

func newInflight() *inflight {
	f := &inflight{seed: maphash.MakeSeed()}
	for i := range f.shards {
		f.shards[i].m = make(map[string]int)
	}
	return f
}

func noRelease() {}

// Acquire takes one of the tier's in-flight slots for key (Subject.Key).
// release must be called when the request ends; calling it twice is harmless.
// Tiers without max_in_flight always succeed. Entries exist only while
// requests are in flight, so memory follows concurrency, not key count.
func (l *Limiter) Acquire(key, tier string) (release func(), ok bool) {
	ti, err := l.tier(tier)
	if err != nil || ti.cap <= 0 {
		return noRelease, err == nil
	}
	k := ti.name + ":" + key
	sh := &l.inflight.shards[maphash.String(l.inflight.seed, k)&63]
	sh.mu.Lock()
	n := sh.m[k]
	if n >= ti.cap {
		sh.mu.Unlock()
		ti.results[resultConcurrency].Inc()
		return noRelease, false
	}
	sh.m[k] = n + 1
	sh.mu.Unlock()
	var done atomic.Bool
	return func() {
		if !done.CompareAndSwap(false, true) {
			return
		}
		sh.mu.Lock()
		if n := sh.m[k] - 1; n > 0 {
			sh.m[k] = n
		} else {
			delete(sh.m, k)
		}
		sh.mu.Unlock()
	}, true
}
