// Package gateway is Portcullis's HTTP side: the echo server, the middleware
// chain, the route table, the GraphQL-over-HTTP and REST front doors, their
// error writers, the admin endpoints and the lifecycle.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"reflect"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
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

	rt, err := g.buildRoutes(context.Background(), cfg, g.requireSchemas, nil)
	if err != nil {
		return nil, err
	}
	g.routes.Store(rt)
	g.metrics.reg.MustRegister(limiterCollector{g}, analysisCollector{g}, upstreamCollector{g})
	g.ready.init(rt.readinessChecks())

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = g.echoError
	e.Use(g.observe, g.recoverPanics)
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
		keep = cur.limiter
	}
	rt, err := g.buildRoutes(context.Background(), cfg, true, keep)
	if err != nil {
		return err
	}
	old := g.routes.Swap(rt)
	g.ready.replace(rt.readinessChecks())
	if keep != nil {
		// Now the new table's. The old table keeps the pointer: requests
		// still in flight on it read it; only its close must skip it.
		old.limiterHandedOver.Store(true)
	}
	// Requests already in flight still use the old table: release it only
	// after they have had the shutdown grace to finish.
	time.AfterFunc(g.cfg.Server.ShutdownGrace, old.close)
	g.log.Info("config reloaded", "graphql_routes", len(rt.graphql), "rest_routes", len(rt.rest))
	return nil
}

// observe is the outermost middleware: request ID, client IP, then after the
// handler one access log line and the request metrics.
func (g *Gateway) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		st := &reqState{start: time.Now()}
		st.clientAddr, st.clientIP = clientAddr(r, g.trusted)
		if id := r.Header.Get(echo.HeaderXRequestID); id != "" && g.peerTrusted(r) && validRequestID(id) {
			st.id = id
		} else {
			st.id = g.idPrefix + strconv.FormatUint(g.idCounter.Add(1), 36)
		}
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			st.peerSubject = r.TLS.PeerCertificates[0].Subject.String()
		}
		r = withState(r, st)
		c.SetRequest(r)
		c.Response().Header().Set(echo.HeaderXRequestID, st.id)

		err := next(c)
		if err != nil {
			g.echoError(err, c)
		}

		status := c.Response().Status
		if st.decision == "" {
			st.decision = "allow"
			if status >= 500 {
				st.decision = "error"
			}
		}
		route := st.route
		if route == "" {
			route = "(none)"
		}
		d := time.Since(st.start)
		g.metrics.requests.WithLabelValues(route, strconv.Itoa(status), st.decision).Inc()
		g.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
		g.access.write(&accessEntry{
			when: st.start, id: st.id, method: r.Method, path: r.URL.Path, route: route,
			clientIP: st.clientIP, decision: st.decision, code: st.code, subject: st.subject,
			status: status, duration: d,
		})
		return nil
	}
}

// peerTrusted reports whether the connection comes from a trusted proxy,
// whose X-Request-Id and X-Forwarded-For may be believed.
func (g *Gateway) peerTrusted(r *http.Request) bool {
	peer := ratelimit.ClientIP(r.RemoteAddr, nil, nil)
	return peer.IsValid() && slices.ContainsFunc(g.trusted, func(p netip.Prefix) bool { return p.Contains(peer) })
}

// recoverPanics turns a panic into a 500 in the route's protocol shape; the
// stack goes to the log, never to the client, and the process keeps serving.
func (g *Gateway) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				// The proxy aborts a response it cannot finish; net/http
				// expects to see this panic to drop the connection.
				panic(v)
			}
			st := stateOf(c)
			st.decision, st.code = "error", CodeInternal
			g.metrics.panics.Inc()
			g.log.Error("panic while serving request", "request_id", st.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Response().Committed {
				g.writeError(c, http.StatusInternalServerError, CodeInternal, "internal server error")
			}
			err = nil
		}()
		return next(c)
	}
}

// writeError answers in the request's protocol shape: GraphQL errors on a
// GraphQL route, a problem document everywhere else.
func (g *Gateway) writeError(c echo.Context, status int, code, msg string) {
	g.writeErrorExt(c, status, code, msg, nil)
}

// writeErrorExt is writeError with extensions: GraphQL extensions beside the
// code, or extension members of the problem document.
func (g *Gateway) writeErrorExt(c echo.Context, status int, code, msg string, ext map[string]any) {
	st := stateOf(c)
	if st.decision == "" || st.decision == "allow" {
		if status >= 500 {
			st.decision = "error"
		} else {
			st.decision = "deny"
		}
		st.code = code
	}
	if st.protocol == protoGraphQL {
		e := gqlErr(code, msg)
		for k, v := range ext {
			e.Extensions[k] = v
		}
		writeGraphQLErrors(c.Response(), c.Request(), status, e)
		return
	}
	p := newProblem(status, code, msg)
	p.Extensions = ext
	writeProblem(c.Response(), p)
}

// echoError handles errors echo itself raises (unknown method, router miss).
func (g *Gateway) echoError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			g.writeError(c, http.StatusNotFound, CodeNotFound, "no route for this path")
			return
		case http.StatusMethodNotAllowed:
			g.writeError(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed")
			return
		}
	}
	g.log.Error("unhandled error", "request_id", stateOf(c).id, "error", err)
	g.writeError(c, http.StatusInternalServerError, CodeInternal, "internal server error")
}

// newServer builds an http.Server with the config's timeouts, so slow-loris
// clients cannot hold connections open.
func (g *Gateway) newServer(h http.Handler) *http.Server {
	s := g.cfg.Server
	return &http.Server{
		Handler:           g.closeWhenDraining(h),
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
	}
}

// Run listens on the configured addresses and serves until ctx is done.
func (g *Gateway) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", g.cfg.Server.Listen, err)
	}
	var adminLn net.Listener
	if g.cfg.Server.AdminListen != "" {
		adminLn, err = net.Listen("tcp", g.cfg.Server.AdminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening on %s: %w", g.cfg.Server.AdminListen, err)
		}
	}
	return g.Serve(ctx, ln, adminLn)
}

// Serve serves on the given listeners (adminLn may be nil) until ctx is
// done, then stops accepting and drains in-flight requests within
// shutdown_grace. It returns nil after a clean drain.
func (g *Gateway) Serve(ctx context.Context, ln, adminLn net.Listener) error {
	srv := g.newServer(g.echo)
	if t := g.cfg.Server.TLS; t != nil {
		tlsCfg, err := g.serverTLS(ctx, t)
		if err != nil {
			ln.Close()
			if adminLn != nil {
				adminLn.Close()
			}
			return err
		}
		srv.TLSConfig = tlsCfg
	}
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	// Decided before serving: ServeTLS itself writes srv.TLSConfig.
	useTLS := srv.TLSConfig != nil
	go func() {
		var err error
		if useTLS {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	attrs := []any{"addr", ln.Addr().String(), "tls", useTLS}
	if adminLn != nil {
		admin := g.newServer(g.AdminHandler())
		servers = append(servers, admin)
		go func() { errc <- admin.Serve(adminLn) }()
		attrs = append(attrs, "admin_addr", adminLn.Addr().String())
	}
	g.ready.start(ctx, g.log)
	g.log.Info("listening", attrs...)

	select {
	case err := <-errc:
		for _, s := range servers {
			s.Close()
		}
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	g.log.Info("shutting down", "grace", g.cfg.Server.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), g.cfg.Server.ShutdownGrace)
	defer cancel()
	g.drain(sctx)
	var firstErr error
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("draining in-flight requests: %w", err)
			s.Close()
		}
	}
	g.routes.Load().close()
	return firstErr
}

// Close releases what New acquired without serving (the check command).
func (g *Gateway) Close() { g.routes.Load().close() }

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
		sch := r.schema.Load()
		if sch == nil {
			continue
		}
		out = append(out, RouteCoverage{Route: r.cfg.Name, Entries: authz.Coverage(sch.graph, sch.authorizer)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}
