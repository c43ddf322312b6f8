package upstream

import (
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint states, as /readyz?verbose and the metrics name them.
const (
	StateHealthy   = "healthy"
	StateUnhealthy = "unhealthy" // failing the active health check
	StateEjected   = "ejected"   // passive ejection after failures in a row
)

// endpoint is one back-end address of a pool, with its own connection pool.
type endpoint struct {
	scheme, host string
	transport    *http.Transport
	inflight     atomic.Int64
	requests     atomic.Uint64
	failures     atomic.Uint64
	// out mirrors "ejected or unhealthy" with the ejection's end, so the
	// balancer reads it without the lock: 0 in rotation, -1 unhealthy,
	// else the UnixNano the ejection ends.
	out atomic.Int64
	// dirty is set while consecutive or ejectedInRow may be non-zero.
	dirty atomic.Bool

	mu           sync.Mutex
	consecutive  int // failed attempts in a row
	ejectedInRow int // ejections without a success since
	ejectedUntil time.Time
	ejections    uint64
	unhealthy    bool // by the active health check
	checkPasses  int
	checkFails   int
	lastErr      string
	lastErrAt    time.Time
}

func newEndpoint(u *url.URL, t *http.Transport) *endpoint {
	return &endpoint{scheme: u.Scheme, host: u.Host, transport: t}
}

// available reports whether the balancer may pick e now.
func (e *endpoint) available(now time.Time) bool {
	switch o := e.out.Load(); {
	case o == 0:
		return true
	case o < 0:
		return false
	default:
		return now.UnixNano() >= o
	}
}

// publish updates out after a change under mu.
func (e *endpoint) publish() {
	switch {
	case e.unhealthy:
		e.out.Store(-1)
	case e.ejectedUntil.IsZero():
		e.out.Store(0)
	default:
		e.out.Store(e.ejectedUntil.UnixNano())
	}
}

// succeeded records an attempt that got a non-5xx answer. The common case,
// an endpoint with no failure to forget, takes no lock.
func (e *endpoint) succeeded(now time.Time) {
	e.requests.Add(1)
	if !e.dirty.Load() {
		return
	}
	e.mu.Lock()
	e.consecutive = 0
	if !now.Before(e.ejectedUntil) {
		e.ejectedInRow = 0
	}
	e.dirty.Store(e.ejectedInRow > 0)
	e.mu.Unlock()
}

// failed records a failed attempt and reports whether it ejected e (for the
// ejection log line); ej.ConsecutiveFailures < 0 never ejects.
func (e *endpoint) failed(now time.Time, why string, ej EjectionConfig) (ejectedFor time.Duration) {
	e.requests.Add(1)
	e.failures.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastErr, e.lastErrAt = why, now
	e.dirty.Store(true)
	e.consecutive++
	if ej.ConsecutiveFailures < 0 || e.consecutive < ej.ConsecutiveFailures || now.Before(e.ejectedUntil) {
		return 0
	}
	d := ej.BaseTime << min(e.ejectedInRow, 16)
	if d > ej.MaxTime || d <= 0 {
		d = ej.MaxTime
	}
	e.ejectedUntil = now.Add(d)
	e.publish()
	e.ejectedInRow++
	e.ejections++
	e.consecutive = 0
	return d
}

// checked records one active health check result and reports a change of
// state (for the log line).
func (e *endpoint) checked(ok bool, why string, now time.Time, h HealthConfig) (changed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ok {
		e.checkFails = 0
		e.checkPasses++
		if e.unhealthy && e.checkPasses >= h.HealthyAfter {
			e.unhealthy = false
			e.publish()
			return true
		}
		return false
	}
	e.lastErr, e.lastErrAt = why, now
	e.checkPasses = 0
	e.checkFails++
	if !e.unhealthy && e.checkFails >= h.UnhealthyAfter {
		e.unhealthy = true
		e.publish()
		return true
	}
	return false
}

// EndpointStatus is one endpoint as /readyz?verbose shows it. LastError may
// name the address; it is for operators, never for clients.
type EndpointStatus struct {
	Address      string     `json:"address"`
	State        string     `json:"state"`
	InFlight     int64      `json:"in_flight"`
	Requests     uint64     `json:"requests"`
	Failures     uint64     `json:"failures"`
	Ejections    uint64     `json:"ejections"`
	EjectedUntil *time.Time `json:"ejected_until,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
	LastErrorAt  *time.Time `json:"last_error_at,omitempty"`
}

func (e *endpoint) status(now time.Time) EndpointStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := EndpointStatus{
		Address: e.host, State: StateHealthy, InFlight: e.inflight.Load(),
		Requests: e.requests.Load(), Failures: e.failures.Load(), Ejections: e.ejections,
		LastError: e.lastErr,
	}
	if !e.lastErrAt.IsZero() {
		t := e.lastErrAt.UTC()
		s.LastErrorAt = &t
	}
	switch {
	case now.Before(e.ejectedUntil):
		s.State = StateEjected
		t := e.ejectedUntil.UTC()
		s.EjectedUntil = &t
	case e.unhealthy:
		s.State = StateUnhealthy
	}
	return s
}
