// Package fakeclock is an injected clock that moves only when told to, so
// no test depends on the wall clock of a loaded machine.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use; pass its Now where a clock is injected.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New is a clock standing at start.
func New(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward (or back, with a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
