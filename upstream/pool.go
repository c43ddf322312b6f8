package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Balancing policies of Config.Balance.
const (
	BalanceRoundRobin    = "round_robin"
	BalanceLeastRequests = "least_requests"
)

// ErrBreakerOpen is the cause when the circuit breaker refuses a request
// without calling the back end; it is reported as KindUnavailable (503).
var ErrBreakerOpen = errors.New("circuit breaker open: back end failing, not called")

// errPerTryTimeout is one attempt running out of its per-try time; it
// wraps context.DeadlineExceeded so Classify reports a timeout.
var errPerTryTimeout = fmt.Errorf("upstream attempt exceeded retry.per_try_timeout: %w", context.DeadlineExceeded)

// PoolOptions are what the config does not say.
type PoolOptions struct {
	// Now is the clock of ejection and the breaker (default time.Now).
	Now func() time.Time
	// Logger receives ejections, breaker trips and health changes.
	Logger *slog.Logger
}

// Pool is an http.RoundTripper over a back end's endpoints: it picks an
// endpoint per attempt, ejects failing ones, opens the breaker, and retries
// where that is safe within the budget. The request's URL scheme and host
// are replaced by the endpoint's. Close releases it.
type Pool struct {
	eps      []*endpoint
	balance  string
	rr       atomic.Uint64
	ejection EjectionConfig
	breaker  *breaker
	budget   *retryBudget
	attempts int
	perTry   time.Duration
	now      func() time.Time
	log      *slog.Logger

	retries       atomic.Uint64
	budgetDenied  atomic.Uint64
	breakerDenied atomic.Uint64

	stop      chan struct{}
	checks    sync.WaitGroup
	closeOnce sync.Once
}

// NewPool builds the pool of cfg's endpoints, one connection pool each, and
// starts the active health checks when cfg.Health is set.
func NewPool(cfg Config, opts PoolOptions) (*Pool, error) {
	urls := cfg.Endpoints()
	if len(urls) == 0 {
		return nil, errors.New("configuring upstream: url or urls is required")
	}
	var ps keypath.Problems
	ps.AddAll(keypath.Key("urls"), checkURLs(urls))
	if err := ps.Err(); err != nil {
		return nil, fmt.Errorf("configuring upstream: %w", err)
	}
	timeout, maxIdle, err := transportLimits(cfg)
	if err != nil {
		return nil, err
	}
	p := &Pool{
		balance:  cfg.Balance,
		ejection: ejectionDefaults(cfg.Ejection),
		budget:   newRetryBudget(budgetRatio(cfg.Retry.Budget)),
		attempts: cfg.Retry.Attempts,
		perTry:   cfg.Retry.PerTryTimeout,
		now:      opts.Now,
		log:      opts.Logger,
		stop:     make(chan struct{}),
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	switch p.balance {
	case "":
		p.balance = BalanceRoundRobin
	case BalanceRoundRobin, BalanceLeastRequests:
	default:
		return nil, fmt.Errorf("configuring upstream: balance must be %s or %s, got %q", BalanceRoundRobin, BalanceLeastRequests, p.balance)
	}
	if p.attempts <= 0 {
		p.attempts = DefaultRetryAttempts
	}
	p.attempts = min(p.attempts, maxAttempts)
	p.breaker = newBreaker(cfg.Breaker, p.now)
	for _, raw := range urls {
		u, err := parseTarget(raw)
		if err != nil {
			return nil, err
		}
		t, err := newTransport(u.Scheme == "https", cfg, timeout, maxIdle)
		if err != nil {
			return nil, err
		}
		p.eps = append(p.eps, newEndpoint(u, t))
	}
	if cfg.Health != nil {
		p.startHealth(healthDefaults(*cfg.Health), timeout)
	}
	return p, nil
}

func ejectionDefaults(e EjectionConfig) EjectionConfig {
	if e.ConsecutiveFailures == 0 {
		e.ConsecutiveFailures = DefaultEjectFailures
	}
	if e.BaseTime == 0 {
		e.BaseTime = DefaultEjectBase
	}
	if e.MaxTime == 0 {
		e.MaxTime = max(DefaultEjectMax, e.BaseTime)
	}
	return e
}

func budgetRatio(b float64) float64 {
	switch {
	case b < 0:
		return 0
	case b == 0:
		return DefaultRetryBudget
	}
	return b
}

// Close stops the health checks and drops idle connections.
func (p *Pool) Close() {
	p.closeOnce.Do(func() { close(p.stop) })
	p.checks.Wait()
	for _, e := range p.eps {
		e.transport.CloseIdleConnections()
	}
}

type idempotentKey struct{}

// WithIdempotent marks the request carried by ctx as safe to send twice
// (RFC 9110 section 9.2.2): only such requests are retried after the back
// end may have seen them (a timeout, a 502 or 503).
func WithIdempotent(ctx context.Context, idempotent bool) context.Context {
	return context.WithValue(ctx, idempotentKey{}, idempotent)
}

func isIdempotent(ctx context.Context) bool {
	v, _ := ctx.Value(idempotentKey{}).(bool)
	return v
}

// RoundTrip implements http.RoundTripper.
func (p *Pool) RoundTrip(req *http.Request) (*http.Response, error) {
	gen, ok := p.breaker.allow()
	if !ok {
		p.breakerDenied.Add(1)
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, ErrBreakerOpen
	}
	p.budget.deposit()
	idem := isIdempotent(req.Context())
	var tried []*endpoint
	for attempt := 1; ; attempt++ {
		ep := p.pick(tried)
		tried = append(tried, ep)
		res, err := p.try(req, ep, attempt > 1, gen)
		if !p.retryable(req, res, err, idem, attempt) {
			return res, err
		}
		if !p.budget.withdraw() {
			p.budgetDenied.Add(1)
			return res, err
		}
		p.retries.Add(1)
		if res != nil {
			_ = res.Body.Close()
		}
	}
}

// retryable decides whether another attempt is safe and useful. A connect
// failure means nothing was sent, so any request may go again; a timeout,
// a broken exchange or a 502/503 answer may have been acted on, so only an
// idempotent request goes again. A request whose body cannot be replayed,
// or whose caller or deadline is gone, never does.
func (p *Pool) retryable(req *http.Request, res *http.Response, err error, idem bool, attempt int) bool {
	if attempt >= p.attempts || req.Context().Err() != nil {
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	if err != nil {
		if errors.Is(err, errUpgradeRefused) {
			return false
		}
		return Classify(err) == KindUnavailable || idem
	}
	return idem && (res.StatusCode == http.StatusBadGateway || res.StatusCode == http.StatusServiceUnavailable)
}

// try sends one attempt to ep. Its per-try timeout bounds the wait for the
// response headers; the body is bounded by the route's timeout alone.
func (p *Pool) try(req *http.Request, ep *endpoint, again bool, gen uint64) (*http.Response, error) {
	out := new(http.Request)
	*out = *req
	u := *req.URL
	u.Scheme, u.Host = ep.scheme, ep.host
	out.URL = &u
	if again && req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("replaying request body: %w", err)
		}
		out.Body = body
	}
	ctx, cancel := context.WithCancel(req.Context())
	var timedOut atomic.Bool
	var timer *time.Timer
	if p.perTry > 0 {
		timer = time.AfterFunc(p.perTry, func() { timedOut.Store(true); cancel() })
	}
	out = out.WithContext(ctx)
	ep.inflight.Add(1)
	res, err := ep.transport.RoundTrip(out)
	if timer != nil {
		timer.Stop()
	}
	if err == nil && timedOut.Load() {
		_ = res.Body.Close()
		res, err = nil, errPerTryTimeout
	}
	if err != nil {
		ep.inflight.Add(-1)
		cancel()
		if timedOut.Load() {
			err = errPerTryTimeout
		}
		p.outcome(req, ep, gen, 0, err)
		return nil, err
	}
	p.outcome(req, ep, gen, res.StatusCode, nil)
	res.Body = &trackedBody{ReadCloser: res.Body, done: func() { ep.inflight.Add(-1); cancel() }}
	return res, nil
}

// outcome feeds one attempt to the endpoint's ejection and the breaker. A
// caller that went away says nothing about the back end.
func (p *Pool) outcome(req *http.Request, ep *endpoint, gen uint64, status int, err error) {
	now := p.now()
	if err == nil && status < 500 {
		ep.succeeded(now)
		p.breaker.record(gen, true)
		return
	}
	if err != nil && req.Context().Err() == context.Canceled {
		return
	}
	why := fmt.Sprintf("HTTP %d", status)
	if err != nil {
		why = err.Error()
	}
	if d := ep.failed(now, why, p.ejection); d > 0 {
		p.log.Warn("upstream endpoint ejected", "endpoint", ep.host, "for", d.String(), "last_error", why)
	}
	before, _ := p.breaker.status()
	p.breaker.record(gen, false)
	if after, _ := p.breaker.status(); after == BreakerOpen && before != BreakerOpen {
		p.log.Warn("upstream circuit breaker opened", "endpoint", ep.host, "last_error", why)
	}
}

// trackedBody ends an attempt (in-flight count, its context) when the
// response body is closed, which httputil.ReverseProxy always does.
type trackedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// pick chooses the endpoint for the next attempt among those available and
// not tried yet; when every endpoint is ejected or unhealthy it chooses
// among all of them, so a pool never refuses traffic on its own say-so (a
// health check or an ejection can be wrong; the breaker is the one that
// refuses).
func (p *Pool) pick(tried []*endpoint) *endpoint {
	if len(p.eps) == 1 {
		return p.eps[0]
	}
	now := p.now()
	var buf [16]*endpoint
	cands := buf[:0]
	for _, e := range p.eps {
		if e.available(now) && !contains(tried, e) {
			cands = append(cands, e)
		}
	}
	if len(cands) == 0 {
		for _, e := range p.eps {
			if !contains(tried, e) {
				cands = append(cands, e)
			}
		}
	}
	if len(cands) == 0 {
		cands = append(cands, p.eps...)
	}
	if len(cands) == 1 {
		return cands[0]
	}
	if p.balance == BalanceLeastRequests {
		// Power of two choices (Mitzenmacher): two at random, the less
		// loaded wins; nearly as good as the global minimum, and no herd.
		i := rand.IntN(len(cands))
		j := rand.IntN(len(cands) - 1)
		if j >= i {
			j++
		}
		a, b := cands[i], cands[j]
		if b.inflight.Load() < a.inflight.Load() {
			return b
		}
		return a
	}
	return cands[(p.rr.Add(1)-1)%uint64(len(cands))]
}

func contains(list []*endpoint, e *endpoint) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

// PoolStatus is the pool as /readyz?verbose and the metrics show it.
type PoolStatus struct {
	Balance   string           `json:"balance"`
	Breaker   string           `json:"breaker"`
	Endpoints []EndpointStatus `json:"endpoints"`
	// BreakerOpens counts trips; BreakerRejected requests refused while
	// open; Retries attempts after the first; RetriesDenied retries the
	// budget refused.
	BreakerOpens    uint64 `json:"breaker_opens"`
	BreakerRejected uint64 `json:"breaker_rejected"`
	Retries         uint64 `json:"retries"`
	RetriesDenied   uint64 `json:"retries_denied"`
}

// Status is a snapshot of every endpoint and the breaker.
func (p *Pool) Status() PoolStatus {
	now := p.now()
	st := PoolStatus{Balance: p.balance, Retries: p.retries.Load(), RetriesDenied: p.budgetDenied.Load(), BreakerRejected: p.breakerDenied.Load()}
	st.Breaker, st.BreakerOpens = p.breaker.status()
	for _, e := range p.eps {
		st.Endpoints = append(st.Endpoints, e.status(now))
	}
	return st
}

// Ping sends HEAD to path on every endpoint over its own transport (TLS and
// client certificates included) and returns one error per endpoint that
// gave no HTTP answer; any status proves it reachable.
func (p *Pool) Ping(ctx context.Context, path string, timeout time.Duration) []error {
	errs := make([]error, len(p.eps))
	var wg sync.WaitGroup
	for i, e := range p.eps {
		wg.Go(func() { errs[i] = e.ping(ctx, path, timeout) })
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

func (e *endpoint) ping(ctx context.Context, path string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := url.URL{Scheme: e.scheme, Host: e.host, Path: path}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return fmt.Errorf("pinging upstream %s: %w", e.host, err)
	}
	req.Header.Set("User-Agent", "portcullis")
	res, err := e.transport.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("pinging upstream %s: %w", e.host, err)
	}
	_ = res.Body.Close()
	return nil
}
