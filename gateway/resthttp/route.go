// Package resthttp is the REST front door: a Route per configured prefix,
// guarded by its OpenAPI document and compiled at load, whose Serve runs
// the door's stages in request order (stages.go), forwards exactly what was
// checked and applies the answer plan (response validation) to what comes
// back. Its refusals are RFC 9457 problem documents written by Render.
package resthttp

import (
	"context"
	"fmt"
	"strings"

	"github.com/portcullis-gw/portcullis/analysis/rest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/schema/openapi"
	"github.com/portcullis-gw/portcullis/upstream"
)

// Route is one REST prefix guarded by its OpenAPI document, compiled at load.
type Route struct {
	cfg    *config.RESTRoute
	shared *pipeline.Shared
	prefix string
	proxy  *upstream.Proxy
	// upstream names the upstream in client spans.
	upstream pipeline.Upstream
	maxBody  int64
	api      *rest.Route
	policies *authz.RESTAuthorizer
	// policyOps are the operationIds with a policy: only their bodies are
	// decoded for CEL.
	policyOps     map[string]bool
	policyHeaders bool
	// validate is validate_responses: off, report or enforce.
	validate string
	gov      governance
}

// New compiles one REST route.
func New(c *config.RESTRoute, cfg *config.Config, sh *pipeline.Shared) (*Route, error) {
	doc, err := openapi.Load(c.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("loading OpenAPI document: %w", err)
	}
	api, err := rest.New(doc, rest.Options{AllowUnknownQuery: c.AllowUnknownQuery, DefaultCost: c.DefaultCost, AllowCaseCollidingKeys: c.AllowCaseCollidingKeys})
	if err != nil {
		return nil, fmt.Errorf("compiling OpenAPI document: %w", err)
	}
	known := map[string]bool{}
	for _, op := range doc.Operations() {
		known[op.ID] = true
	}
	var unknown []string
	for id := range c.OperationPolicies {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("operation_policies: no operationId %s in %s", strings.Join(unknown, ", "), c.OpenAPI)
	}
	pol, err := authz.CompileREST(cfg.Policies, c.OperationPolicies)
	if err != nil {
		return nil, fmt.Errorf("compiling operation policies: %w", err)
	}
	p, err := pipeline.NewProxy(c.Upstream, upstream.PoolOptions{Logger: sh.Log.With("route", c.Name)})
	if err != nil {
		return nil, err
	}
	rt := &Route{
		cfg:       c,
		shared:    sh,
		prefix:    strings.TrimSuffix(c.Prefix, "/"),
		proxy:     p,
		upstream:  pipeline.UpstreamOf(c.Upstream.URL),
		maxBody:   cfg.Server.MaxBodyBytes,
		api:       api,
		policies:  pol,
		policyOps: map[string]bool{},
		// Only the policies these operations use matter here.
		policyHeaders: pol.Inputs().Has(authz.InputRequestHeaders),
		validate:      c.ValidateResponses,
	}
	for id := range c.OperationPolicies {
		rt.policyOps[id] = true
	}
	if err := rt.newGovernance(known); err != nil {
		p.CloseIdleConnections()
		return nil, err
	}
	return rt, nil
}

// Name is the route's configured name.
func (rt *Route) Name() string { return rt.cfg.Name }

// Prefix is the path prefix the route serves, without a trailing slash.
func (rt *Route) Prefix() string { return rt.prefix }

// Ping reaches every upstream endpoint once over the route's own transport
// and returns one error per endpoint that gave no HTTP answer (check
// --online).
func (rt *Route) Ping(ctx context.Context) []error { return rt.proxy.Ping(ctx) }

// Pool is the route's upstream pool, for /readyz?verbose and metrics.
func (rt *Route) Pool() *upstream.Pool { return rt.proxy.Pool() }

// Close stops the pool's health checks and drops the route's idle upstream
// connections.
func (rt *Route) Close() {
	rt.proxy.CloseIdleConnections()
	if rt.gov.external != nil {
		rt.gov.external.Close()
	}
}

// Matches reports whether path is the route's prefix or starts with it
// followed by a slash.
func (rt *Route) Matches(path string) bool {
	p := rt.prefix
	return p == "/" || path == p || strings.HasPrefix(path, p) && path[len(p)] == '/'
}
