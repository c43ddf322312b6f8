package upstream

import (
	"sync"
	"time"
)

// Breaker states, as /readyz?verbose and the metrics name them.
const (
	BreakerOff      = "off"
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half_open"
)

// breakerBuckets split the window, so old outcomes leave it a slice at a
// time instead of all at once.
const breakerBuckets = 10

// bucket counts the outcomes of one slice of the window.
type bucket struct {
	start     time.Time
	ok, fails int
}

// breaker is a failure-ratio circuit breaker over a sliding window of
// attempt outcomes, with half-open trials (the pattern of Nygard's "Release
// It!", as Envoy and resilience4j implement it). A nil breaker is off.
type breaker struct {
	cfg BreakerConfig
	now func() time.Time

	mu        sync.Mutex
	state     string
	gen       uint64 // bumps on each state change; stale outcomes are ignored
	bucket    [breakerBuckets]bucket
	openUntil time.Time
	trials    int // admitted in half-open
	trialOK   int
	opens     uint64
}

func newBreaker(c BreakerConfig, now func() time.Time) *breaker {
	if c.MinRequests < 0 {
		return nil
	}
	if c.Window == 0 {
		c.Window = DefaultBreakerWindow
	}
	if c.MinRequests == 0 {
		c.MinRequests = DefaultBreakerMin
	}
	if c.FailureRatio == 0 {
		c.FailureRatio = DefaultBreakerRatio
	}
	if c.OpenFor == 0 {
		c.OpenFor = DefaultBreakerOpenFor
	}
	if c.HalfOpenRequests == 0 {
		c.HalfOpenRequests = DefaultBreakerHalfOpen
	}
	return &breaker{cfg: c, now: now, state: BreakerClosed}
}

// allow admits a request, returning the generation its outcomes belong to.
// While open it admits nothing; once OpenFor has passed it admits
// HalfOpenRequests trials.
func (b *breaker) allow() (gen uint64, ok bool) {
	if b == nil {
		return 0, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerOpen:
		if b.now().Before(b.openUntil) {
			return 0, false
		}
		b.setState(BreakerHalfOpen)
		fallthrough
	case BreakerHalfOpen:
		if b.trials >= b.cfg.HalfOpenRequests {
			return 0, false
		}
		b.trials++
	}
	return b.gen, true
}

// record counts one attempt's outcome.
func (b *breaker) record(gen uint64, ok bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return
	}
	switch b.state {
	case BreakerHalfOpen:
		if !ok {
			b.trip()
			return
		}
		if b.trialOK++; b.trialOK >= b.cfg.HalfOpenRequests {
			b.setState(BreakerClosed)
		}
	case BreakerClosed:
		bk := b.current()
		if ok {
			bk.ok++
		} else {
			bk.fails++
		}
		if !ok && b.tripped() {
			b.trip()
		}
	}
}

func (b *breaker) trip() {
	b.setState(BreakerOpen)
	b.openUntil = b.now().Add(b.cfg.OpenFor)
	b.opens++
}

func (b *breaker) setState(s string) {
	b.state, b.trials, b.trialOK = s, 0, 0
	b.gen++
	if s == BreakerClosed {
		for i := range b.bucket {
			b.bucket[i].ok, b.bucket[i].fails = 0, 0
		}
	}
}

// current is the bucket for now, emptied when it last served an older
// slice of time.
func (b *breaker) current() *bucket {
	slice := b.cfg.Window / breakerBuckets
	if slice <= 0 {
		slice = 1
	}
	now := b.now()
	start := now.Truncate(slice)
	bk := &b.bucket[(start.UnixNano()/int64(slice))%breakerBuckets]
	if !bk.start.Equal(start) {
		bk.start, bk.ok, bk.fails = start, 0, 0
	}
	return bk
}

// tripped reports whether the window holds enough attempts with enough
// failures among them.
func (b *breaker) tripped() bool {
	oldest := b.now().Add(-b.cfg.Window)
	total, fails := 0, 0
	for i := range b.bucket {
		bk := &b.bucket[i]
		if bk.start.After(oldest) {
			total += bk.ok + bk.fails
			fails += bk.fails
		}
	}
	return total >= b.cfg.MinRequests && float64(fails) >= b.cfg.FailureRatio*float64(total)
}

func (b *breaker) status() (state string, opens uint64) {
	if b == nil {
		return BreakerOff, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !b.now().Before(b.openUntil) {
		return BreakerHalfOpen, b.opens
	}
	return b.state, b.opens
}
