package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/ratelimit"
)

// routeTable is immutable once built; Reload swaps a whole new one in.
type routeTable struct {
	auth    *authn.Authenticator
	limiter *ratelimit.Limiter
	rateCfg ratelimit.Config
	// limiterHandedOver is set when a reload carried the limiter over to
	// the next table, so closing this one leaves it running.
	limiterHandedOver atomic.Bool
	fwd               forwardHeaders
	graphql           map[string]*graphqlRoute
	// rest is sorted by prefix length, longest first, so the first match is
	// the longest prefix.
	rest []*restRoute
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
		if limiter, err = newLimiter(cfg, g); err != nil {
			auth.Close()
			return nil, fmt.Errorf("building rate limiter: %w", err)
		}
	}
	rt := &routeTable{auth: auth, limiter: limiter, rateCfg: cfg.RateLimit, fwd: newForwardHeaders(cfg.Identity.Forward), graphql: map[string]*graphqlRoute{}}
	var errs []error
	for i := range cfg.GraphQL {
		r, err := g.newGraphQLRoute(ctx, &cfg.GraphQL[i], cfg, requireSchemas)
		if err != nil {
			errs = append(errs, fmt.Errorf("graphql[%d] (%s): %w", i, cfg.GraphQL[i].Name, err))
			continue
		}
		rt.graphql[r.path] = r
	}
	for i := range cfg.REST {
		r, err := g.newRESTRoute(&cfg.REST[i], cfg)
		if err != nil {
			errs = append(errs, fmt.Errorf("rest[%d] (%s): %w", i, cfg.REST[i].Name, err))
			continue
		}
		rt.rest = append(rt.rest, r)
	}
	if len(errs) > 0 {
		if keep != nil {
			rt.limiter = nil // still the running table's
		}
		rt.close()
		return nil, errors.Join(errs...)
	}
	sort.SliceStable(rt.rest, func(i, j int) bool { return len(rt.rest[i].prefix) > len(rt.rest[j].prefix) })
	return rt, nil
}

// close releases what the routes hold (idle upstream connections).
func (rt *routeTable) close() {
	if rt == nil {
		return
	}
	if rt.auth != nil {
		rt.auth.Close()
	}
	if rt.limiter != nil && !rt.limiterHandedOver.Load() {
		rt.limiter.Close()
	}
	for _, r := range rt.graphql {
		r.proxy.CloseIdleConnections()
	}
	for _, r := range rt.rest {
		r.proxy.CloseIdleConnections()
	}
}

// matchREST finds the REST route with the longest prefix that path is, or
// starts with followed by a slash.
func (rt *routeTable) matchREST(path string) *restRoute {
	for _, r := range rt.rest {
		if r.prefix == "/" || path == r.prefix || strings.HasPrefix(path, r.prefix) && path[len(r.prefix)] == '/' {
			return r
		}
	}
	return nil
}

// dispatch is the only handler: it refuses unsafe paths, then picks the
// GraphQL route by exact path or the REST route by longest prefix. Anything
// else is 404 and reaches no upstream (positive security model).
func (g *Gateway) dispatch(c echo.Context) error {
	st := stateOf(c)
	r := c.Request()
	if reason := unsafePath(r); reason != "" {
		g.audit(st, "unsafe_path", "why", reason)
		g.writeError(c, http.StatusBadRequest, CodeUnsafePath, "path refused: "+reason)
		return nil
	}
	rt := g.routes.Load()
	if gr, ok := rt.graphql[r.URL.Path]; ok {
		st.route, st.protocol = gr.cfg.Name, protoGraphQL
		gr.serve(g, c, st, rt)
		return nil
	}
	if rr := rt.matchREST(r.URL.Path); rr != nil {
		st.route, st.protocol = rr.cfg.Name, protoREST
		rr.serve(g, c, st, rt)
		return nil
	}
	g.audit(st, "no_route")
	g.writeError(c, http.StatusNotFound, CodeNotFound, "no route for this path")
	return nil
}

// unsafePath returns why a request path could mean something other than
// what a plain match sees, or "" when it is safe. Such paths are refused,
// never normalised into another route; the
// rule is the REST matcher's, so every route shares one definition.
func unsafePath(r *http.Request) string {
	return rest.CheckPath(r.URL.EscapedPath())
}
