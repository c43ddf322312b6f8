// Package gateway is Portcullis's HTTP side: the echo server and its
// middleware (accept.go), the route table and dispatch (routes.go), the
// admin endpoints, TLS and the lifecycle (server.go). The front doors are
// beside it, one folder per protocol: gateway/graphqlhttp and
// gateway/resthttp, sharing gateway/pipeline; docs/architecture.md maps them.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// Gateway is one running Portcullis: fixed listeners and server settings, and
// a route table that Reload swaps atomically.
type Gateway struct {
	cfg     *config.Config
	log     *slog.Logger
	access  *accessLog
	metrics *metrics
	echo    *echo.Echo
	trusted []netip.Prefix
	extra   []echo.MiddlewareFunc

	routes atomic.Pointer[routeTable]
	ready  readiness
	// requireSchemas makes a schema that cannot be fetched now an error
	// (check, reload) instead of a route that waits for it (serve).
	requireSchemas bool

	idPrefix  string
	idCounter atomic.Uint64
	// draining is set on SIGTERM (drain.go).
	draining atomic.Bool

	// mon reports decisions: spans, audit events, the live view.
	mon     *monitor
	version string
	noMon   bool
}

// Option adjusts a Gateway at construction.
type Option func(*Gateway)

// WithLogger sets the operational logger (default: JSON to stderr).
func WithLogger(l *slog.Logger) Option { return func(g *Gateway) { g.log = l } }

// WithAccessLog sets where access log lines go (default: JSON to stdout).
func WithAccessLog(w io.Writer) Option {
	return func(g *Gateway) { g.access = newAccessLog(w) }
}

// WithMiddleware adds middleware inside panic recovery and the access log,
// in front of the route dispatch: for embedding and for tests.
func WithMiddleware(m echo.MiddlewareFunc) Option {
	return func(g *Gateway) { g.extra = append(g.extra, m) }
}

// WithVersion names the gateway's version in spans, audit events and the
// live view.
func WithVersion(v string) Option { return func(g *Gateway) { g.version = v } }

// WithoutMonitoring builds no tracer, audit sinks or live view (the check
// command, which serves nothing).
func WithoutMonitoring() Option { return func(g *Gateway) { g.noMon = true } }

// WithRequireSchemas makes New fail when a subgraph served over HTTP cannot
// be fetched, instead of starting not ready (for `portcullis check`).
func WithRequireSchemas() Option { return func(g *Gateway) { g.requireSchemas = true } }

// New builds a gateway from a validated config: route table, upstream
// proxies, middleware. It does no listening.
func New(cfg *config.Config, opts ...Option) (*Gateway, error) {
	g := &Gateway{cfg: cfg, metrics: newMetrics()}
	for _, o := range opts {
		o(g)
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.access == nil {
		g.access = newAccessLog(os.Stdout)
	}
	for _, s := range cfg.Server.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("parsing trusted proxy %q: %w", s, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		g.trusted = append(g.trusted, p)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	g.idPrefix = hex.EncodeToString(b[:]) + "-"
	if g.version == "" {
		g.version = "dev"
	}
	mon, err := newMonitor(cfg, g, g.noMon)
	if err != nil {
		return nil, err
	}
	g.mon = mon

	rt, err := g.buildRoutes(context.Background(), cfg, g.requireSchemas, nil)
	if err != nil {
		_ = mon.close(context.Background())
		return nil, err
	}
	g.routes.Store(rt)
	g.metrics.reg.MustRegister(limiterCollector{g}, analysisCollector{g}, upstreamCollector{g})
	g.ready.init(rt.readinessChecks())

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = g.echoError
	e.Use(g.accept, g.recoverPanics)
	e.Use(g.extra...)
	e.Any("/*", g.dispatch)
	e.RouteNotFound("/*", g.dispatch)
	g.echo = e
	return g, nil
}

// Handler is the public listener's handler.
func (g *Gateway) Handler() http.Handler { return g.echo }

// Reload swaps in the routes of a new config. Server settings (listeners,
// timeouts, TLS) are fixed for the process and are not reloaded.
func (g *Gateway) Reload(cfg *config.Config) error {
	// A reload must not swap in routes that cannot serve yet. An unchanged
	// rate_limit section keeps its limiter, so budgets survive the reload.
	cur := g.routes.Load()
	var keep *ratelimit.Limiter
	if reflect.DeepEqual(cur.rateCfg, cfg.RateLimit) {
		keep = cur.limiter()
	}
	rt, err := g.buildRoutes(context.Background(), cfg, true, keep)
	g.mon.reloaded(cfg, err)
	if err == nil && !reflect.DeepEqual([]any{g.cfg.Telemetry, g.cfg.Audit, g.cfg.LiveView}, []any{cfg.Telemetry, cfg.Audit, cfg.LiveView}) {
		// The sinks and the exporter hold queues and connections; they are
		// built once (docs/monitoring.md).
		g.log.Warn("telemetry, audit and live_view changes take effect at the next start, not on reload")
	}
	if err != nil {
		return err
	}
	old := g.routes.Swap(rt)
	g.ready.replace(rt.readinessChecks())
	if keep != nil {
		old.ownsLimiter = false // now the new table's
	}
	// Requests already in flight still use the old table: release it only
	// after they have had the shutdown grace to finish.
	time.AfterFunc(g.cfg.Server.ShutdownGrace, old.close)
	g.log.Info("config reloaded", "graphql_routes", len(rt.graphql), "rest_routes", len(rt.rest))
	return nil
}

// Close releases what New acquired without serving (the check command).
func (g *Gateway) Close() {
	g.routes.Load().close()
	ctx, cancel := context.WithTimeout(context.Background(), g.cfg.Server.ShutdownGrace)
	defer cancel()
	_ = g.mon.close(ctx)
}

// RouteCoverage is one GraphQL route's authorization coverage.
type RouteCoverage struct {
	Route   string                `json:"route"`
	Entries []authz.CoverageEntry `json:"fields"`
}

// Coverage lists, per GraphQL route, every field reachable from the root
// types with its effective requirement.
func (g *Gateway) Coverage() []RouteCoverage {
	tbl := g.routes.Load()
	var out []RouteCoverage
	for _, r := range tbl.graphql {
		if entries, ok := r.Coverage(); ok {
			out = append(out, RouteCoverage{Route: r.Name(), Entries: entries})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}
