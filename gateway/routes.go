package gateway

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/graphqlhttp"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/gateway/resthttp"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// routeTable is immutable once built; Reload swaps a whole new one in.
type routeTable struct {
	shared *pipeline.Shared
	// ownsLimiter is false for a limiter carried over from, or on to,
	// another table: closing this table must not close it.
	ownsLimiter bool
	rateCfg     ratelimit.Config
	graphql     map[string]*graphqlhttp.Route
	// rest is sorted by prefix length, longest first, so the first match is
	// the longest prefix.
	rest []*resthttp.Route
}

// buildRoutes compiles everything a config serves with. keep, when set, is
// a limiter to carry over instead of building a new one.
func (g *Gateway) buildRoutes(ctx context.Context, cfg *config.Config, requireSchemas bool, keep *ratelimit.Limiter) (*routeTable, error) {
	auth, err := authn.New(ctx, cfg.Identity, authn.WithLogger(g.log))
	if err != nil {
		return nil, fmt.Errorf("building identity: %w", err)
	}
	limiter := keep
	if limiter == nil {
		if limiter, err = ratelimit.New(cfg.RateLimit, ratelimit.Options{Logger: g.log}); err != nil {
			auth.Close()
			return nil, fmt.Errorf("building rate limiter: %w", err)
		}
	}
	sh := &pipeline.Shared{Auth: auth, Limiter: limiter, Forward: pipeline.NewForwardHeaders(cfg.Identity.Forward), Log: g.log, Counters: g.metrics.counters(), Tracer: g.mon.tracer}
	rt := &routeTable{shared: sh, ownsLimiter: keep == nil, rateCfg: cfg.RateLimit, graphql: map[string]*graphqlhttp.Route{}}
	var errs []error
	for i := range cfg.GraphQL {
		r, err := graphqlhttp.New(ctx, &cfg.GraphQL[i], cfg, sh, requireSchemas)
		if err != nil {
			errs = append(errs, fmt.Errorf("graphql[%d] (%s): %w", i, cfg.GraphQL[i].Name, err))
			continue
		}
		rt.graphql[r.Path()] = r
	}
	for i := range cfg.REST {
		r, err := resthttp.New(&cfg.REST[i], cfg, sh)
		if err != nil {
			errs = append(errs, fmt.Errorf("rest[%d] (%s): %w", i, cfg.REST[i].Name, err))
			continue
		}
		rt.rest = append(rt.rest, r)
	}
	// Every GraphQL route built: only then can a coordinate be on none.
	if len(rt.graphql) == len(cfg.GraphQL) {
		if err := rt.checkCoordinateLimits(cfg); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		rt.close()
		return nil, errors.Join(errs...)
	}
	sort.SliceStable(rt.rest, func(i, j int) bool { return len(rt.rest[i].Prefix()) > len(rt.rest[j].Prefix()) })
	return rt, nil
}

// limiter is the table's rate limiter.
func (rt *routeTable) limiter() *ratelimit.Limiter { return rt.shared.Limiter }

// close releases what the routes hold (idle upstream connections).
func (rt *routeTable) close() {
	if rt == nil {
		return
	}
	if rt.shared.Auth != nil {
		rt.shared.Auth.Close()
	}
	if rt.ownsLimiter {
		rt.shared.Limiter.Close()
	}
	for _, r := range rt.graphql {
		r.Close()
	}
	for _, r := range rt.rest {
		r.Close()
	}
}

// matchREST finds the REST route with the longest prefix that path is, or
// starts with followed by a slash.
func (rt *routeTable) matchREST(path string) *resthttp.Route {
	for _, r := range rt.rest {
		if r.Matches(path) {
			return r
		}
	}
	return nil
}

// dispatch is the route stage and the only handler: it refuses unsafe
// paths, then hands the request to the GraphQL route of its exact path or
// the REST route of its longest prefix. Anything else is 404 and reaches no
// upstream (positive security model).
func (g *Gateway) dispatch(c echo.Context) error {
	r := c.Request()
	ex := pipeline.Of(r)
	tbl := g.routes.Load()
	// Unsafe paths are refused, never normalised into another route; the
	// rule is the REST matcher's, so every route shares one definition.
	if reason := rest.CheckPath(r.URL.EscapedPath()); reason != "" {
		tbl.shared.Audit(ex, "unsafe_path", "why", reason)
		render(c, pipeline.Refuse(errcode.UnsafePath, "path refused: "+reason))
		return nil
	}
	if gr, ok := tbl.graphql[r.URL.Path]; ok {
		ex.Route, ex.Protocol = gr.Name(), pipeline.GraphQL
		gr.Serve(c.Response(), r, ex)
		return nil
	}
	if rr := tbl.matchREST(r.URL.Path); rr != nil {
		ex.Route, ex.Protocol = rr.Name(), pipeline.REST
		rr.Serve(c.Response(), r, ex)
		return nil
	}
	tbl.shared.Audit(ex, "no_route")
	render(c, pipeline.Refuse(errcode.NotFound, "no route for this path"))
	return nil
}
