package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/portcullis-gw/portcullis/analysis"
	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/policy/authn"
	"github.com/portcullis-gw/portcullis/policy/authz"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/upstream"
)

// graphqlRoute is one GraphQL endpoint, compiled at load.
type graphqlRoute struct {
	cfg     *config.GraphQLRoute
	path    string
	proxy   *upstream.Proxy
	csrf    bool
	maxBody int64
	// limits are the route's limits per rate-limit tier (a tier's own
	// limits override the route's field by field), resolved at load.
	limits        map[string]analysis.Limits
	defaultLimits analysis.Limits
	introspection []string
	policies      authz.Policies
	policyHeaders bool
	persisted     *persisted
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
}

func (g *Gateway) newGraphQLRoute(ctx context.Context, c *config.GraphQLRoute, cfg *config.Config, requireSchemas bool) (*graphqlRoute, error) {
	p, err := g.newProxy(c.Name, c.Upstream, protoGraphQL)
	if err != nil {
		return nil, err
	}
	rt := &graphqlRoute{
		cfg:           c,
		path:          c.Path,
		proxy:         p,
		csrf:          c.CSRFPrevention == nil || *c.CSRFPrevention,
		maxBody:       cfg.Server.MaxBodyBytes,
		defaultLimits: c.Limits,
		limits:        map[string]analysis.Limits{},
		policies:      cfg.Policies,
		policyHeaders: policiesReadHeaders(cfg.Policies),
	}
	for name, tier := range cfg.RateLimit.Tiers {
		rt.limits[name] = overrideLimits(c.Limits, tier.Limits)
	}
	if c.Introspection != nil {
		rt.introspection = c.Introspection.AllowScopes
	}
	if rt.persisted, err = newPersisted(c.PersistedOperations); err != nil {
		p.CloseIdleConnections()
		return nil, err
	}
	rt.readOpts = readOptions(c.UnknownMembers, rt.persisted != nil)
	if err := rt.loadSchema(ctx); err != nil {
		if requireSchemas || !hasRemoteSubgraphs(c.Schema) {
			p.CloseIdleConnections()
			return nil, err
		}
		g.log.Warn("schema not loaded yet; the route answers 503 until it is", "route", c.Name, "error", err.Error())
	}
	return rt, nil
}

// loadSchema loads and composes the route's schema and compiles what hangs
// off it; it is a no-op once loaded.
func (rt *graphqlRoute) loadSchema(ctx context.Context) error {
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
	var opts []analysis.Option
	switch n := rt.cfg.AnalysisCacheSize; {
	case n > 0:
		opts = append(opts, analysis.WithCacheSize(n))
	case n < 0:
		opts = append(opts, analysis.WithCacheSize(0))
	}
	switch n := rt.cfg.AnalysisCacheBytes; {
	case n > 0:
		opts = append(opts, analysis.WithCacheBytes(n))
	case n < 0:
		opts = append(opts, analysis.WithCacheBytes(0))
	}
	rt.schema.Store(&gqlSchema{graph: graph, analyzer: analysis.NewAnalyzer(graph, rt.cfg.Cost, opts...), authorizer: az})
	return nil
}

func hasRemoteSubgraphs(c schema.Config) bool {
	for _, s := range c.Subgraphs {
		if s.URL != "" {
			return true
		}
	}
	return false
}

// overrideLimits applies a tier's non-zero limits over the route's.
func overrideLimits(route analysis.Limits, tier *analysis.Limits) analysis.Limits {
	if tier == nil {
		return route
	}
	out := route
	for _, f := range []struct {
		dst *int
		src int
	}{
		{&out.MaxDepth, tier.MaxDepth}, {&out.MaxHeight, tier.MaxHeight}, {&out.MaxAliases, tier.MaxAliases},
		{&out.MaxRootFields, tier.MaxRootFields}, {&out.MaxTokens, tier.MaxTokens}, {&out.MaxDirectives, tier.MaxDirectives},
		{&out.MaxCost, tier.MaxCost}, {&out.MaxBatch, tier.MaxBatch}, {&out.MaxSelections, tier.MaxSelections},
	} {
		if f.src > 0 {
			*f.dst = f.src
		}
	}
	return out
}

func (rt *graphqlRoute) limitsFor(tier string) analysis.Limits {
	if l, ok := rt.limits[tier]; ok {
		return l
	}
	return rt.defaultLimits
}

func (rt *graphqlRoute) access(id authn.Identity) analysis.Access {
	for _, s := range rt.introspection {
		if id.HasScope(s) {
			return analysis.Access{Introspection: true}
		}
	}
	return analysis.Access{}
}

// gqlParams is one GraphQL-over-HTTP request: decoded, analysed and
// re-encoded in the one shape analysis defines.
type gqlParams = analysis.Request

// gqlRefusal is a front-door refusal: the status and the errors to answer.
type gqlRefusal struct {
	status int
	allow  string
	errs   []GraphQLError
}

func refuse(status int, code, msg string) *gqlRefusal {
	return &gqlRefusal{status: status, errs: []GraphQLError{gqlErr(code, msg)}}
}

func (rt *graphqlRoute) serve(g *Gateway, c echo.Context, st *reqState, tbl *routeTable) {
	r := c.Request()
	w := c.Response()
	sch := rt.schema.Load()
	if sch == nil {
		g.writeError(c, http.StatusServiceUnavailable, CodeNotReady, "the gateway is still loading this route's schema")
		return
	}
	id, ok := g.identify(c, st, tbl)
	if !ok {
		return
	}
	subj := tbl.subjectOf(id, st.clientAddr)
	lim := rt.limitsFor(id.Tier)
	params, reqs, batch, ref := rt.decode(r, lim.MaxBatch)
	for i := 0; ref == nil && i < len(params); i++ {
		ref = rt.persisted.resolveEntry(&params[i], &reqs[i])
	}
	var reports []*analysis.Report
	if ref == nil {
		reports, ref = rt.check(r, sch, params, lim, rt.access(id))
	}
	var plan *gqlPlan
	if ref == nil {
		plan, ref = rt.authorize(g, st, sch, reports, batch, id, r)
	}
	if ref != nil {
		code := ref.errs[0].Extensions["code"].(string)
		st.deny(code)
		g.audit(st, "graphql_refused", "code", code)
		// An APQ miss is the protocol's normal first step, not a probe: it
		// pays min_cost, not the penalty.
		if code == CodePersistedNotFound && !g.chargeMinimum(r.Context(), tbl, w, subj) {
			g.writeError(c, http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded; retry after the time in Retry-After")
			return
		}
		if code != CodePersistedNotFound && g.refusePenalty(c, st, tbl, subj) {
			return
		}
		if ref.allow != "" {
			w.Header().Set("Allow", ref.allow)
		}
		writeGraphQLErrors(w, r, ref.status, ref.errs...)
		return
	}

	// A batch is charged the sum of its entries.
	var cost float64
	for _, rep := range reports {
		cost += rep.Cost
	}
	// Every request pays at least min_cost, however cheap its estimate.
	charged := max(int(math.Ceil(cost)), tbl.limiter.MinCost())
	release, decision, ok := g.charge(c, st, tbl, subj, charged)
	if !ok {
		return
	}
	defer release()
	// APQ registrations are kept only for operations that passed every check.
	for i := range params {
		rt.persisted.remember(params[i])
	}
	after := &gqlAfter{plan: plan, costExt: rt.cfg.CostExtensions, decision: decision, charged: charged, log: g.log, reqID: st.id}
	if rt.cfg.Refund && charged > 0 {
		after.refund, after.analyzer, after.reports, after.estimate, after.subj, after.tbl = true, sch.analyzer, reports, cost, subj, tbl
	}

	out := upstream.Outbound{ClientIP: st.clientIP, Header: http.Header{echo.HeaderXRequestID: {st.id}}}
	out.StripHeaders = tbl.fwd.apply(out.Header, id, rt.cfg.ForwardAuthorization)
	if plan != nil {
		if plan.allEmpty() {
			// Filter mode removed everything: no upstream call.
			st.decision = "allow"
			answer := plan.answerWithoutUpstream()
			if after.costExt && !plan.batch {
				answer = withCostExtension(answer, charged, decision.Remaining, decision.Limit)
			}
			writeFiltered(w, r, answer)
			return
		}
	}
	// Never the client's bytes: the canonical form of what was checked
	// (a GET goes as the equivalent POST, which every subgraph serves).
	body := rt.outboundBody(params, reqs, plan, batch)
	if r.Method == http.MethodGet {
		out.Method = http.MethodPost
	}
	// What goes upstream is always a JSON GraphQL request, whatever
	// (preflighted) content type the client declared.
	out.Header.Set("Content-Type", mediaJSON)
	if after.needed() {
		// The work on the answer needs it as plain JSON.
		out.StripHeaders = append(out.StripHeaders, "Accept-Encoding")
		st.gqlAfter = after
	}
	out.Body = body
	out.Idempotent = onlyQueries(reports)
	st.decision = "allow"
	rt.proxy.Forward(w, r, out)
}

// onlyQueries: a request of queries alone may be retried upstream; one
// mutation (or subscription) anywhere in a batch makes it unsafe to send twice.
func onlyQueries(reports []*analysis.Report) bool {
	for _, rep := range reports {
		if rep == nil || rep.OperationType != "query" {
			return false
		}
	}
	return len(reports) > 0
}

// decode reads a GraphQL-over-HTTP request: POST with a JSON body (an object,
// or an array when batching), or GET with query parameters.
func (rt *graphqlRoute) decode(r *http.Request, maxBatch int) (params []gqlParams, reqs []gqlrequest.Request, batch bool, ref *gqlRefusal) {
	switch r.Method {
	case http.MethodGet:
		params, reqs, ref := rt.parseGET(r)
		return params, reqs, false, ref
	case http.MethodPost:
	default:
		ref := refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GraphQL requests use GET or POST")
		ref.allow = "GET, POST"
		return nil, nil, false, ref
	}

	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case ct == mediaJSON || ct == mediaGraphQLResponse:
	case isSimpleContentType(ct):
		// A browser can send these cross-site without a preflight, so a
		// request carrying one must prove it is not a forged form post
		// (Apollo's CSRF prevention).
		if rt.csrf && r.Header.Get("X-Portcullis-CSRF") == "" && r.Header.Get("Apollo-Require-Preflight") == "" {
			return nil, nil, false, refuse(http.StatusBadRequest, CodeCSRF,
				"this request has a content type a browser form can send; use Content-Type: application/json or set the X-Portcullis-CSRF header")
		}
		if ct != "text/plain" && ct != "" {
			return nil, nil, false, refuse(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "GraphQL POST bodies are application/json")
		}
	default:
		return nil, nil, false, refuse(http.StatusUnsupportedMediaType, CodeUnsupportedMedia, "GraphQL POST bodies are application/json")
	}

	body, err := readBody(r, rt.maxBody)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, false, refuse(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large")
		}
		return nil, nil, false, refuse(http.StatusBadRequest, CodeBadRequest, "reading request body failed")
	}
	return rt.parseBody(body, maxBatch)
}

// isSimpleContentType reports content types a browser sends without a CORS
// preflight (the Fetch standard's CORS-safelisted request types).
func isSimpleContentType(ct string) bool {
	switch ct {
	case "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

// check analyses each operation of the request against the route's schema
// and limits (analysis does tokens, parse, validation and the rules, in
// that order, cheapest first).
func (rt *graphqlRoute) check(r *http.Request, sch *gqlSchema, params []gqlParams, lim analysis.Limits, access analysis.Access) ([]*analysis.Report, *gqlRefusal) {
	reports := make([]*analysis.Report, 0, len(params))
	for _, p := range params {
		if strings.TrimSpace(p.Query) == "" {
			return nil, refuse(http.StatusBadRequest, CodeBadRequest, "missing query")
		}
		rep := sch.analyzer.Analyze(p, lim, access)
		if !rep.OK() {
			ref := &gqlRefusal{status: rep.Status()}
			for _, e := range rep.Errors {
				ref.errs = append(ref.errs, fromAnalysis(e))
			}
			return nil, ref
		}
		if r.Method == http.MethodGet && rep.OperationType != "query" {
			// GET must be safe (GraphQL-over-HTTP): mutations only over POST.
			ref := refuse(http.StatusMethodNotAllowed, CodeMethodNotAllowed, rep.OperationType+" operations must use POST")
			ref.allow = "POST"
			return nil, ref
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

// fromAnalysis renders an analysis error in the GraphQL error shape.
func fromAnalysis(e analysis.Error) GraphQLError {
	ext := make(map[string]any, len(e.Extensions)+1)
	for k, v := range e.Extensions {
		ext[k] = v
	}
	ext["code"] = e.Code
	out := GraphQLError{Message: e.Message, Path: e.Path, Extensions: ext}
	for _, l := range e.Locations {
		out.Locations = append(out.Locations, Location{Line: l.Line, Column: l.Column})
	}
	return out
}

// readBody reads at most limit bytes; a longer body is an *http.MaxBytesError.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.ContentLength >= 0 {
		// net/http holds the body to its Content-Length, so exactly that
		// many bytes arrive: read them into a buffer of that size.
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, 4<<10))
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return buf.Bytes(), nil
}
