package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/upstream"
	"github.com/portcullis-gw/portcullis/upstream/federation"
)

// CodePlanFailed answers an operation that passed every check but that the
// federated planner could not plan or run (the cause is in the log).
const CodePlanFailed = "FEDERATED_EXECUTION_FAILED"

// fedRoute is what a federated GraphQL route holds beside its schema: the
// subgraph clients (kept across schema versions of the route) and where
// its engine reports.
type fedRoute struct {
	cfg     *config.GraphQLRoute
	log     *slog.Logger
	metrics *fedMetrics
	mu      sync.Mutex
	clients map[string]*http.Client // by subgraph name + "\x00" + URL
	engine  *federation.Engine      // the latest, closed with the route
}

func (g *Gateway) newFedRoute(c *config.GraphQLRoute) *fedRoute {
	return &fedRoute{cfg: c, log: g.log, metrics: g.metrics.fed, clients: map[string]*http.Client{}}
}

// client returns the HTTP client for one subgraph: the route's timeout and
// the subgraph's own transport settings, if any.
func (f *fedRoute) client(name, url string) (*http.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := name + "\x00" + url
	if c, ok := f.clients[key]; ok {
		return c, nil
	}
	uc := upstream.Config{URL: url, Timeout: f.cfg.Timeout}
	if s := f.cfg.SubgraphUpstreams[name]; s != nil {
		uc.CAFile, uc.CertFile, uc.KeyFile = s.CAFile, s.CertFile, s.KeyFile
		if s.Timeout > 0 {
			uc.Timeout = s.Timeout
		}
	}
	c, err := upstream.NewClient(uc)
	if err != nil {
		return nil, fmt.Errorf("subgraph_upstreams.%s: %w", name, err)
	}
	f.clients[key] = c
	return c, nil
}

// newEngine builds the engine for one version of the route's schema.
func (f *fedRoute) newEngine(graph *schema.Graph) (*federation.Engine, error) {
	if graph.Kind() != schema.KindSupergraph {
		return nil, errors.New("schema: execution: federated needs federation subgraphs or a supergraph, not a plain schema")
	}
	urls, err := f.cfg.Schema.RoutingURLs(graph)
	if err != nil {
		return nil, fmt.Errorf("schema.%w", err)
	}
	for name := range f.cfg.SubgraphUpstreams {
		if _, ok := urls[name]; !ok {
			return nil, fmt.Errorf("subgraph_upstreams.%s: no subgraph %q in the schema", name, name)
		}
	}
	subs := map[string]federation.Subgraph{}
	for name, url := range urls {
		c, err := f.client(name, url)
		if err != nil {
			return nil, err
		}
		subs[name] = federation.Subgraph{URL: url, Client: c}
	}
	e, err := federation.New(federation.Options{Graph: graph, Subgraphs: subs, PlanCacheBytes: f.cfg.PlanCacheBytes,
		Observer: f.metrics.observer(f.cfg.Name), Logger: f.log.With("route", f.cfg.Name)})
	if err != nil {
		return nil, fmt.Errorf("execution: federated: %w", err)
	}
	f.mu.Lock()
	f.engine = e
	f.mu.Unlock()
	return e, nil
}

func (f *fedRoute) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.engine != nil {
		f.engine.Close()
	}
	for _, c := range f.clients {
		c.CloseIdleConnections()
	}
}

// closeUpstream releases a GraphQL route's proxy or subgraph clients.
func (rt *graphqlRoute) closeUpstream() {
	if rt.proxy != nil {
		rt.proxy.CloseIdleConnections()
	}
	if rt.fed != nil {
		rt.fed.close()
	}
}

// fedEntry is one entry of a request as the engine gets it.
type fedEntry struct {
	req      federation.Request
	emptied  bool
	decision int // index into plan.decisions, -1 without one
}

// fedEntries builds what the engine runs for each entry: the checked
// document (the filtered one in filter mode) and only the variables it
// uses, as the client sent them.
func fedEntries(params []gqlParams, reqs []gqlrequest.Request, plan *gqlPlan, header http.Header) []fedEntry {
	out := make([]fedEntry, len(params))
	for i := range params {
		e := fedEntry{decision: -1, req: federation.Request{Query: params[i].Query, OperationName: reqs[i].OperationName, Header: header}}
		vars := reqs[i].Variables
		if plan != nil && plan.decisions[i] != nil {
			d := plan.decisions[i]
			e.decision, e.emptied = i, d.Empty
			e.req.Query = d.Document
			vars = vars.Only(func(name string) bool { _, kept := d.Variables[name]; return kept })
		}
		if vars.Kind() == gqlrequest.Object {
			e.req.Variables = gqlrequest.AppendValue(nil, vars)
		}
		out[i] = e
	}
	return out
}

// executeFederated runs each checked entry through the route's engine and
// answers with the merged result: filtered fields put back as null with
// their errors, the refund of an over-estimate, the cost extension. It
// replaces the forward to one upstream; every check ran before it.
func (g *Gateway) executeFederated(c echo.Context, st *reqState, sch *gqlSchema, params []gqlParams, reqs []gqlrequest.Request,
	plan *gqlPlan, batch bool, after *gqlAfter, header http.Header) {
	r := c.Request()
	answers := make([]json.RawMessage, len(params))
	for i, e := range fedEntries(params, reqs, plan, header) {
		body, err := g.runEntry(r, sch.engine, e, plan)
		if err != nil {
			g.log.Error("federated execution failed", "request_id", st.id, "error", err.Error())
			st.decision, st.code = "error", CodePlanFailed
			writeGraphQLErrors(c.Response(), r, http.StatusInternalServerError,
				gqlErr(CodePlanFailed, "the gateway could not execute this operation"))
			return
		}
		answers[i] = body
	}
	body := []byte(answers[0])
	if batch {
		body, _ = json.Marshal(answers)
	}
	refunded := 0
	if after.refund {
		refunded = after.doRefund(r.Context(), body)
	}
	if after.costExt && !batch {
		remaining := min(after.decision.Remaining+refunded, after.decision.Limit)
		body = withCostExtension(body, after.charged-refunded, remaining, after.decision.Limit)
	}
	st.decision = "allow"
	h := c.Response().Header()
	h.Set("Content-Type", graphqlMediaType(r)+"; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Response().WriteHeader(http.StatusOK)
	_, _ = c.Response().Write(body)
}

// runEntry executes one entry (or answers an emptied one) and merges the
// fields filter mode removed.
func (g *Gateway) runEntry(r *http.Request, e *federation.Engine, entry fedEntry, plan *gqlPlan) ([]byte, error) {
	if entry.emptied {
		return plan.az.MergeFiltered(plan.decisions[entry.decision], nil)
	}
	var buf bytes.Buffer
	if err := e.Execute(r.Context(), entry.req, &buf); err != nil {
		return nil, err
	}
	if entry.decision < 0 {
		return buf.Bytes(), nil
	}
	return plan.az.MergeFiltered(plan.decisions[entry.decision], buf.Bytes())
}

// fedMetrics are the federated routes' figures: plan cache lookups and,
// per subgraph, fetches, their duration and failures.
type fedMetrics struct {
	planCache *prometheus.CounterVec
	fetches   *prometheus.CounterVec
	errors    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
}

func newFedMetrics(reg *prometheus.Registry) *fedMetrics {
	m := &fedMetrics{
		planCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_plan_cache_lookups_total",
			Help: "Federated query-plan cache lookups by GraphQL route and result (hit, miss).",
		}, []string{"route", "result"}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_subgraph_fetches_total",
			Help: "Subgraph calls made by federated execution, by route and subgraph.",
		}, []string{"route", "subgraph"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_subgraph_errors_total",
			Help: "Subgraph calls that failed (transport error, timeout, HTTP status >= 300), by route and subgraph.",
		}, []string{"route", "subgraph"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_subgraph_fetch_duration_seconds",
			Help:    "Duration of subgraph calls made by federated execution, by route and subgraph.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "subgraph"}),
	}
	reg.MustRegister(m.planCache, m.fetches, m.errors, m.duration)
	return m
}

func (m *fedMetrics) observer(route string) federation.Observer {
	return &fedObserver{m: m, route: route, hit: m.planCache.WithLabelValues(route, "hit"),
		miss: m.planCache.WithLabelValues(route, "miss")}
}

type fedObserver struct {
	m         *fedMetrics
	route     string
	hit, miss prometheus.Counter
}

func (o *fedObserver) PlanCache(hit bool) {
	if hit {
		o.hit.Inc()
		return
	}
	o.miss.Inc()
}

func (o *fedObserver) Fetch(subgraph string, took time.Duration, failed bool) {
	o.m.fetches.WithLabelValues(o.route, subgraph).Inc()
	o.m.duration.WithLabelValues(o.route, subgraph).Observe(took.Seconds())
	if failed {
		o.m.errors.WithLabelValues(o.route, subgraph).Inc()
	}
}
