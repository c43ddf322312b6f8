// Package upstream forwards requests to back ends through a hardened
// httputil.ReverseProxy and maps transport failures to gateway errors. A
// route's back end is a pool of endpoints (Pool) with load balancing,
// active health checks, passive outlier ejection, a circuit breaker and
// retries bounded by a budget (docs/operations.md, Running in production).
package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
	"golang.org/x/net/http/httpguts"
)

// Config is one route's back end.
type Config struct {
	// URL is the back end's base URL (http or https). Exactly one of URL
	// and URLs is set.
	URL string `yaml:"url"`
	// URLs are several endpoints serving the same back end; they share
	// scheme and path and differ in host:port.
	URLs []string `yaml:"urls"`
	// Balance picks an endpoint per attempt: round_robin (default) or
	// least_requests (the fewer in-flight requests of two picked at random).
	Balance string `yaml:"balance"`
	// Timeout bounds the whole upstream exchange (headers and body),
	// retries included.
	Timeout time.Duration `yaml:"timeout"`
	// CAFile is a PEM bundle trusted for https upstreams instead of the system pool.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate for mTLS to the back end.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// MaxIdleConns is the idle keep-alive pool per endpoint.
	MaxIdleConns int `yaml:"max_idle_conns"`
	// ForwardHeaders lets client headers through that the gateway strips by
	// default because back ends read them as the URL, method, client address
	// or user (IsRoutingHeader), for the rare back end that needs one.
	ForwardHeaders []string `yaml:"forward_headers"`

	// RemoveResponseHeaders are removed from every answer beside the
	// fingerprinting ones (mask.FingerprintHeaders); KeepResponseHeaders
	// lets one of those through.
	RemoveResponseHeaders []string `yaml:"remove_response_headers"`
	KeepResponseHeaders   []string `yaml:"keep_response_headers"`

	// Health, when set, probes every endpoint in the background.
	Health *HealthConfig `yaml:"health"`
	// Ejection takes an endpoint out of rotation after failures in a row.
	Ejection EjectionConfig `yaml:"ejection"`
	// Breaker answers at once while the back end keeps failing.
	Breaker BreakerConfig `yaml:"breaker"`
	// Retry resends failed attempts where that is safe.
	Retry RetryConfig `yaml:"retry"`
}

// HealthConfig is the active health check: GET Path on every endpoint each
// Interval; HealthyAfter passes in a row bring an endpoint back,
// UnhealthyAfter failures in a row take it out. A 2xx answer passes.
type HealthConfig struct {
	Path           string        `yaml:"path"`
	Interval       time.Duration `yaml:"interval"`
	Timeout        time.Duration `yaml:"timeout"`
	HealthyAfter   int           `yaml:"healthy_after"`
	UnhealthyAfter int           `yaml:"unhealthy_after"`
}

// EjectionConfig is passive outlier detection: ConsecutiveFailures failed
// attempts in a row (connect errors, timeouts, 5xx) eject an endpoint for
// BaseTime, doubling with each ejection in a row up to MaxTime. Zero values
// take the defaults; ConsecutiveFailures < 0 turns ejection off.
type EjectionConfig struct {
	ConsecutiveFailures int           `yaml:"consecutive_failures"`
	BaseTime            time.Duration `yaml:"base_time"`
	MaxTime             time.Duration `yaml:"max_time"`
}

// BreakerConfig is the circuit breaker over the whole pool: once Window
// holds at least MinRequests attempts of which FailureRatio or more failed,
// the breaker opens for OpenFor and every request is answered 503 at once;
// then HalfOpenRequests trial requests decide between closing and opening
// again. Zero values take the defaults; MinRequests < 0 turns it off.
type BreakerConfig struct {
	Window           time.Duration `yaml:"window"`
	MinRequests      int           `yaml:"min_requests"`
	FailureRatio     float64       `yaml:"failure_ratio"`
	OpenFor          time.Duration `yaml:"open_for"`
	HalfOpenRequests int           `yaml:"half_open_requests"`
}

// RetryConfig bounds retries. Attempts counts the first try (2: one retry;
// 1: none). PerTryTimeout bounds each attempt until response headers
// (default: the route timeout). Budget is the most retries may add, as a
// ratio of requests (default 0.2); a negative Budget means no retries.
type RetryConfig struct {
	Attempts      int           `yaml:"attempts"`
	PerTryTimeout time.Duration `yaml:"per_try_timeout"`
	Budget        float64       `yaml:"budget"`
}

// Defaults of the resilience settings (docs/config.md, upstream).
const (
	DefaultEjectFailures   = 5
	DefaultEjectBase       = 5 * time.Second
	DefaultEjectMax        = time.Minute
	DefaultBreakerWindow   = 10 * time.Second
	DefaultBreakerMin      = 20
	DefaultBreakerRatio    = 0.5
	DefaultBreakerOpenFor  = 5 * time.Second
	DefaultBreakerHalfOpen = 3
	DefaultRetryAttempts   = 2
	DefaultRetryBudget     = 0.2
	DefaultHealthInterval  = 5 * time.Second
	DefaultHealthTimeout   = time.Second
	DefaultHealthyAfter    = 2
	DefaultUnhealthyAfter  = 3
)

// Endpoints is the pool's endpoint URLs: URLs, or URL alone.
func (c Config) Endpoints() []string {
	if len(c.URLs) > 0 {
		return c.URLs
	}
	if c.URL != "" {
		return []string{c.URL}
	}
	return nil
}

// Validate reports every problem in c without I/O, each at its key path
// relative to c. The config loader checks that files exist.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	switch {
	case c.URL != "" && len(c.URLs) > 0:
		ps.Addf(keypath.Key("urls"), "set url or urls, not both")
	case len(c.URLs) > 0:
		ps.AddAll(keypath.Key("urls"), checkURLs(c.URLs))
	default:
		if err := checkURL(c.URL); err != nil {
			ps.Addf(keypath.Key("url"), "%v", err)
		}
	}
	switch c.Balance {
	case "", BalanceRoundRobin, BalanceLeastRequests:
	default:
		ps.Addf(keypath.Key("balance"), "must be %s or %s, got %q", BalanceRoundRobin, BalanceLeastRequests, c.Balance)
	}
	if c.Timeout <= 0 {
		ps.Addf(keypath.Key("timeout"), "must be > 0")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		ps.Addf(keypath.Key("cert_file"), "cert_file and key_file must be set together")
	}
	if c.MaxIdleConns < 0 {
		ps.Addf(keypath.Key("max_idle_conns"), "must be >= 0")
	}
	ps.AddAll(keypath.Key("forward_headers"), checkForwardHeaders(c.ForwardHeaders))
	for _, l := range []struct {
		key   string
		names []string
	}{{"remove_response_headers", c.RemoveResponseHeaders}, {"keep_response_headers", c.KeepResponseHeaders}} {
		for i, n := range l.names {
			if !httpguts.ValidHeaderFieldName(n) {
				ps.Addf(keypath.Key(l.key).Index(i), "%q is not a header name", n)
			}
		}
	}
	if c.Health != nil {
		ps.AddAll(keypath.Key("health"), c.Health.validate())
	}
	ps.AddAll(keypath.Key("ejection"), c.Ejection.validate())
	ps.AddAll(keypath.Key("breaker"), c.Breaker.validate())
	ps.AddAll(keypath.Key("retry"), c.Retry.validate(c.Timeout))
	return ps
}

// checkURLs checks each URL and that they differ only in host:port: the
// request path is joined once, before an endpoint is picked. Paths are
// relative to the urls list.
func checkURLs(urls []string) keypath.Problems {
	var ps keypath.Problems
	var first *url.URL
	seen := map[string]bool{}
	for i, raw := range urls {
		at := keypath.Index(i)
		if err := checkURL(raw); err != nil {
			ps.Addf(at, "%v", err)
			continue
		}
		u, _ := url.Parse(raw)
		if seen[u.Host] {
			ps.Addf(at, "%s is listed twice", u.Host)
		}
		seen[u.Host] = true
		if first == nil {
			first = u
			continue
		}
		if u.Scheme != first.Scheme || u.EscapedPath() != first.EscapedPath() || u.RawQuery != first.RawQuery {
			ps.Addf(at, "must have the scheme and path of the first URL (%s://host%s), got %q", first.Scheme, first.EscapedPath(), raw)
		}
	}
	return ps
}

func (h HealthConfig) validate() keypath.Problems {
	var ps keypath.Problems
	if h.Path == "" || !strings.HasPrefix(h.Path, "/") {
		ps.Addf(keypath.Key("path"), "must be an absolute path, got %q", h.Path)
	} else if u, err := url.Parse(h.Path); err != nil || u.Host != "" || u.Fragment != "" {
		ps.Addf(keypath.Key("path"), "must be a path with an optional query, got %q", h.Path)
	}
	if h.Interval < 0 {
		ps.Addf(keypath.Key("interval"), "must be >= 0")
	}
	if h.Timeout < 0 {
		ps.Addf(keypath.Key("timeout"), "must be >= 0")
	}
	if h.Interval > 0 && h.Timeout > h.Interval {
		ps.Addf(keypath.Key("timeout"), "must not exceed interval")
	}
	if h.HealthyAfter < 0 {
		ps.Addf(keypath.Key("healthy_after"), "must be >= 0")
	}
	if h.UnhealthyAfter < 0 {
		ps.Addf(keypath.Key("unhealthy_after"), "must be >= 0")
	}
	return ps
}

func (e EjectionConfig) validate() keypath.Problems {
	var ps keypath.Problems
	if e.BaseTime < 0 {
		ps.Addf(keypath.Key("base_time"), "must be >= 0")
	}
	if e.MaxTime < 0 {
		ps.Addf(keypath.Key("max_time"), "must be >= 0")
	}
	if e.BaseTime > 0 && e.MaxTime > 0 && e.MaxTime < e.BaseTime {
		ps.Addf(keypath.Key("max_time"), "must be >= base_time")
	}
	return ps
}

func (b BreakerConfig) validate() keypath.Problems {
	var ps keypath.Problems
	if b.Window < 0 {
		ps.Addf(keypath.Key("window"), "must be >= 0")
	}
	if b.FailureRatio < 0 || b.FailureRatio > 1 {
		ps.Addf(keypath.Key("failure_ratio"), "must be between 0 and 1")
	}
	if b.OpenFor < 0 {
		ps.Addf(keypath.Key("open_for"), "must be >= 0")
	}
	if b.HalfOpenRequests < 0 {
		ps.Addf(keypath.Key("half_open_requests"), "must be >= 0")
	}
	return ps
}

func (r RetryConfig) validate(timeout time.Duration) keypath.Problems {
	var ps keypath.Problems
	if r.Attempts < 0 || r.Attempts > maxAttempts {
		ps.Addf(keypath.Key("attempts"), "must be between 1 and %d (0 means the default %d)", maxAttempts, DefaultRetryAttempts)
	}
	if r.PerTryTimeout < 0 {
		ps.Addf(keypath.Key("per_try_timeout"), "must be >= 0")
	}
	if timeout > 0 && r.PerTryTimeout > timeout {
		ps.Addf(keypath.Key("per_try_timeout"), "must not exceed the route's timeout (each try runs inside it)")
	}
	if r.Budget > 1 {
		ps.Addf(keypath.Key("budget"), "must be at most 1 (a ratio of requests)")
	}
	return ps
}

// maxAttempts bounds Attempts: more tries only multiply an outage.
const maxAttempts = 5

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("is required")
	}
	if !strings.Contains(raw, "://") && !strings.HasPrefix(raw, "/") {
		// url.Parse reads "127.0.0.1:8902/x" as scheme "127.0.0.1" or fails
		// on the colon: name what is missing instead.
		return fmt.Errorf("must be an absolute http or https URL, got %q: the scheme is missing (did you mean \"http://%s\"?)", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("must be an absolute http or https URL, got %q: %v", raw, errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("must be an absolute http or https URL, got %q", raw)
	}
	if u.User != nil {
		// Credentials in the URL would end up in logs and error messages.
		return errors.New("must not contain credentials")
	}
	if u.Fragment != "" {
		return errors.New("must not contain a fragment")
	}
	return nil
}
