// Package graphqlhttp is the GraphQL-over-HTTP front door: a Route per
// configured endpoint, compiled at load, whose Serve runs the door's stages
// in request order (stages.go), forwards the canonical request and applies
// the answer plan to what comes back. Its refusals are written by Render,
// in the GraphQL error shape.
package graphqlhttp

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/policy/external"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/upstream"
	"github.com/portcullis-gw/portcullis/upstream/federation"
)

// Route is one GraphQL endpoint, compiled at load.
type Route struct {
	cfg    *config.GraphQLRoute
	shared *pipeline.Shared
	proxy  *upstream.Proxy // forward mode
	fed    *fedRoute       // federated mode
	// upstream names the upstream in client spans.
	upstream pipeline.Upstream
	csrf     bool
	maxBody  int64
	// limits are the route's limits per rate-limit tier, merged at load
	// (analysis.Merge: defaults, then the route's, then the tier's).
	limits        map[string]analysis.Limits
	defaultLimits analysis.Limits
	introspection []string
	policies      authz.Policies
	policyHeaders bool
	persisted     *persisted
	external      *external.Client
	readOpts      gqlrequest.Options
	// schema is nil until the route's schema is loaded and composed; a
	// subgraph fetched over HTTP may come later (readiness retries it).
	schema atomic.Pointer[gqlSchema]
}

// gqlSchema is everything compiled from one version of the route's schema.
type gqlSchema struct {
	graph      *schema.Graph
	analyzer   *analysis.Analyzer
	authorizer *authz.GraphQLAuthorizer
	// coords watches the coordinates of rate_limit.coordinates this
	// schema has; coordLimits maps each to its limiter index.
	coords      *analysis.Coordinates
	coordLimits []int
	engine      *federation.Engine // federated mode
}

// New compiles one GraphQL route. A schema that cannot be loaded yet is an
// error when requireSchemas is set or no subgraph is fetched over HTTP;
// otherwise the route answers GATEWAY_NOT_READY until readiness loads it.
func New(ctx context.Context, c *config.GraphQLRoute, cfg *config.Config, sh *pipeline.Shared, requireSchemas bool) (*Route, error) {
	rt := &Route{
		cfg:           c,
		shared:        sh,
		upstream:      pipeline.UpstreamOf(c.Upstream.URL),
		csrf:          c.CSRFPrevention == nil || *c.CSRFPrevention,
		maxBody:       cfg.Server.MaxBodyBytes,
		defaultLimits: analysis.Merge(c.Limits),
		limits:        map[string]analysis.Limits{},
		policies:      cfg.Policies,
		policyHeaders: pipeline.PoliciesReadHeaders(cfg.Policies),
	}
	for name, tier := range cfg.RateLimit.Tiers {
		if tier.Limits != nil {
			rt.limits[name] = analysis.Merge(c.Limits, *tier.Limits)
		}
	}
	var err error
	if c.Execution == config.ExecutionFederated {
		rt.fed = newFedRoute(c, sh)
	} else if rt.proxy, err = pipeline.NewProxy(c.Upstream, upstream.PoolOptions{Logger: sh.Log.With("route", c.Name)}); err != nil {
		return nil, err
	}
	if c.Introspection != nil {
		rt.introspection = c.Introspection.AllowScopes
	}
	if rt.persisted, err = newPersisted(c.PersistedOperations, sh.Log); err != nil {
		rt.Close()
		return nil, err
	}
	if e := c.Authorization.External; e != nil {
		if rt.external, err = external.New(*e, external.Options{}); err != nil {
			rt.external = nil
			rt.Close()
			return nil, err
		}
	}
	rt.readOpts = readOptions(c.UnknownMembers, rt.persisted != nil)
	if err := rt.LoadSchema(ctx); err != nil {
		if requireSchemas || !hasRemoteSubgraphs(c.Schema) {
			rt.Close()
			return nil, err
		}
		sh.Log.Warn("schema not loaded yet; the route answers 503 until it is", "route", c.Name, "error", err.Error())
	}
	return rt, nil
}

// Name is the route's configured name; Path the endpoint it serves.
func (rt *Route) Name() string { return rt.cfg.Name }

// Path is the exact request path the route serves.
func (rt *Route) Path() string { return rt.cfg.Path }

// Ping reaches every upstream endpoint once over the route's own transport
// and returns one error per endpoint that gave no HTTP answer (check
// --online); none in federated mode, where the subgraphs are asked for
// their SDL at load instead.
func (rt *Route) Ping(ctx context.Context) []error {
	if rt.proxy == nil {
		return nil
	}
	return rt.proxy.Ping(ctx)
}

// Pool is the route's upstream pool, for /readyz?verbose and metrics; nil
// in federated mode.
func (rt *Route) Pool() *upstream.Pool {
	if rt.proxy == nil {
		return nil
	}
	return rt.proxy.Pool()
}

// Close stops the pool's health checks, drops the route's idle upstream
// connections, writes its operation record and, in federated mode, stops
// its engine.
func (rt *Route) Close() {
	if rt.proxy != nil {
		rt.proxy.CloseIdleConnections()
	}
	if rt.fed != nil {
		rt.fed.close()
	}
	if err := rt.persisted.close(); err != nil {
		rt.logger().Warn("writing operation record failed", "route", rt.cfg.Name, "error", err.Error())
	}
	if rt.external != nil {
		rt.external.Close()
	}
}

// LoadSchema loads and composes the route's schema and compiles what hangs
// off it; it is a no-op once loaded.
func (rt *Route) LoadSchema(ctx context.Context) error {
	if rt.schema.Load() != nil {
		return nil
	}
	graph, err := schema.Load(ctx, rt.cfg.Schema)
	if err != nil {
		return fmt.Errorf("loading schema: %w", err)
	}
	az, err := authz.Compile(rt.policies, graph, rt.cfg.Authorization)
	if err != nil {
		return err
	}
	sch := &gqlSchema{graph: graph, analyzer: analysis.NewAnalyzer(graph, rt.cfg.Cost, cacheOptions(rt.cfg)...), authorizer: az}
	if rt.fed != nil {
		if sch.engine, err = rt.fed.newEngine(graph); err != nil {
			return err
		}
	}
	sch.coords, sch.coordLimits = rt.watchCoordinates(graph)
	rt.schema.Store(sch)
	return nil
}

// watchCoordinates compiles the GraphQL coordinate limits against the
// schema; a coordinate it lacks is for another route.
func (rt *Route) watchCoordinates(graph *schema.Graph) (*analysis.Coordinates, []int) {
	var names []string
	var limits []int
	for i, c := range rt.shared.Limiter.Coordinates() {
		if c.Coordinate == "" {
			continue
		}
		if _, unknown := analysis.WatchCoordinates(graph, []string{c.Coordinate}); len(unknown) > 0 {
			continue
		}
		names = append(names, c.Coordinate)
		limits = append(limits, i)
	}
	w, _ := analysis.WatchCoordinates(graph, names)
	return w, limits
}

// HasCoordinate reports whether the route's schema has a field coordinate.
func (rt *Route) HasCoordinate(coord string) (has, loaded bool) {
	sch := rt.schema.Load()
	if sch == nil {
		return false, false
	}
	_, unknown := analysis.WatchCoordinates(sch.graph, []string{coord})
	return len(unknown) == 0, true
}

// cacheOptions are the analysis cache bounds: positive sets, negative
// turns the bound off, zero keeps analysis's default.
func cacheOptions(c *config.GraphQLRoute) []analysis.Option {
	var opts []analysis.Option
	switch n := c.AnalysisCacheSize; {
	case n > 0:
		opts = append(opts, analysis.WithCacheSize(n))
	case n < 0:
		opts = append(opts, analysis.WithCacheSize(0))
	}
	switch n := c.AnalysisCacheBytes; {
	case n > 0:
		opts = append(opts, analysis.WithCacheBytes(n))
	case n < 0:
		opts = append(opts, analysis.WithCacheBytes(0))
	}
	return opts
}

func hasRemoteSubgraphs(c schema.Config) bool {
	for _, s := range c.Subgraphs {
		if s.URL != "" {
			return true
		}
	}
	return false
}

// Coverage is every field reachable from the root types with its effective
// requirement; ok is false until the schema is loaded.
func (rt *Route) Coverage() (entries []authz.CoverageEntry, ok bool) {
	sch := rt.schema.Load()
	if sch == nil {
		return nil, false
	}
	return authz.Coverage(sch.graph, sch.authorizer), true
}

// CacheStats are the analysis cache's figures; ok is false until the schema
// is loaded.
func (rt *Route) CacheStats() (s analysis.CacheStats, ok bool) {
	sch := rt.schema.Load()
	if sch == nil {
		return s, false
	}
	return sch.analyzer.Stats(), true
}

func (rt *Route) limitsFor(tier string) analysis.Limits {
	if l, ok := rt.limits[tier]; ok {
		return l
	}
	return rt.defaultLimits
}

func (rt *Route) access(id authn.Identity) analysis.Access {
	for _, s := range rt.introspection {
		if id.HasScope(s) {
			return analysis.Access{Introspection: true}
		}
	}
	return analysis.Access{}
}

// logger is the route's operational log.
func (rt *Route) logger() *slog.Logger { return rt.shared.Log }
