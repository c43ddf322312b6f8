package graphqlhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-gw/portcullis/analysis/gqlrequest"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/gateway/errcode"
	"github.com/portcullis-gw/portcullis/gateway/pipeline"
	"github.com/portcullis-gw/portcullis/schema"
	"github.com/portcullis-gw/portcullis/upstream"
	"github.com/portcullis-gw/portcullis/upstream/federation"
)

// fedRoute is what an execution: federated route holds instead of a
// proxy: the subgraph clients (kept across the route's schema versions)
// and the engine of the current version, closed with the route.
type fedRoute struct {
	cfg      *config.GraphQLRoute
	log      *slog.Logger
	counters pipeline.Counters
	mu       sync.Mutex
	clients  map[string]*http.Client // by subgraph name + "\x00" + URL
	engine   *federation.Engine
}

func newFedRoute(c *config.GraphQLRoute, sh *pipeline.Shared) *fedRoute {
	return &fedRoute{cfg: c, log: sh.Log, counters: sh.Counters, clients: map[string]*http.Client{}}
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

// newEngine builds the engine for one version of the route's schema; its
// errors name the config key at fault.
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
		Observer: newObserver(f.counters, f.cfg.Name), Logger: f.log.With("route", f.cfg.Name)})
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

// execute replaces forward for a federated route: each checked entry (the
// filtered document in filter mode, with only the variables it keeps) is
// planned and run against the subgraphs with the gateway's identity
// headers and the request ID, never the client's headers. The merged
// answers then go through the same answer plan a forwarded answer does.
func (rt *Route) execute(q *request) {
	for i := range q.params {
		rt.persisted.remember(q.params[i])
	}
	rt.passed(q)
	plan := rt.planAnswer(q)
	q.ex.Allowed()
	if q.filter != nil && q.filter.allEmpty() {
		writeAnswer(q.w, q.r, plan.withoutUpstream())
		return
	}
	header := http.Header{echo.HeaderXRequestID: {q.ex.ID}}
	rt.shared.Forward.Apply(header, q.id, rt.cfg.ForwardAuthorization)
	if rt.cfg.ForwardAuthorization && q.r.Header.Get("Authorization") != "" {
		header["Authorization"] = q.r.Header.Values("Authorization")
	}
	if q.ex.Facts.Flagged {
		q.noteFields()
	}
	body, err := rt.runEntries(q, header)
	if err != nil {
		rt.logger().Error("federated execution failed", "request_id", q.ex.ID, "error", err.Error())
		q.ex.Failed(errcode.FederatedFailed)
		Render(q.w, q.r, pipeline.Refuse(errcode.FederatedFailed, "the gateway could not execute this operation").Paying(pipeline.PayNothing))
		return
	}
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Request: q.r,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body))}
	if plan != nil {
		if err := plan.apply(resp); err != nil {
			rt.logger().Error("federated answer could not be completed", "request_id", q.ex.ID, "error", err.Error())
			q.ex.Failed(errcode.FederatedFailed)
			Render(q.w, q.r, pipeline.Refuse(errcode.FederatedFailed, "the gateway could not execute this operation").Paying(pipeline.PayNothing))
			return
		}
		body, _ = io.ReadAll(resp.Body)
	}
	writeAnswer(q.w, q.r, body)
}

// runEntries executes each entry that filter mode did not empty and
// returns their answers as an upstream would: one object, or an array in
// request order for a batch (emptied entries left out, as forwarded).
func (rt *Route) runEntries(q *request, header http.Header) ([]byte, error) {
	e := q.sch.engine
	var answers []json.RawMessage
	for i := range q.params {
		req := federation.Request{Query: q.params[i].Query, OperationName: q.reqs[i].OperationName, Header: header}
		vars := q.reqs[i].Variables
		if q.filter != nil {
			if d := q.filter.decisions[i]; d != nil {
				if d.Empty {
					continue
				}
				req.Query = d.Document
				vars = vars.Only(func(name string) bool { _, kept := d.Variables[name]; return kept })
			}
		}
		if vars.Kind() == gqlrequest.Object {
			req.Variables = gqlrequest.AppendValue(nil, vars)
		}
		// The operation analysis selected (a document may hold several).
		if req.OperationName == "" {
			req.OperationName = q.reports[i].OperationName
		}
		var buf bytes.Buffer
		if err := e.Execute(q.r.Context(), req, &buf); err != nil {
			return nil, err
		}
		answers = append(answers, buf.Bytes())
	}
	if !q.batch && len(answers) == 1 {
		return answers[0], nil
	}
	return json.Marshal(answers)
}

// observer counts a federated route's plan-cache lookups and subgraph
// fetches into the gateway's metrics.
type observer struct {
	c         pipeline.Counters
	route     string
	hit, miss prometheus.Counter
}

func newObserver(c pipeline.Counters, route string) federation.Observer {
	o := &observer{c: c, route: route}
	if c.PlanCache != nil {
		o.hit, o.miss = c.PlanCache.WithLabelValues(route, "hit"), c.PlanCache.WithLabelValues(route, "miss")
	}
	return o
}

func (o *observer) PlanCache(hit bool) {
	switch {
	case o.hit == nil:
	case hit:
		o.hit.Inc()
	default:
		o.miss.Inc()
	}
}

func (o *observer) Fetch(subgraph string, took time.Duration, failed bool) {
	if o.c.SubgraphFetches == nil {
		return
	}
	o.c.SubgraphFetches.WithLabelValues(o.route, subgraph).Inc()
	o.c.SubgraphDuration.WithLabelValues(o.route, subgraph).Observe(took.Seconds())
	if failed {
		o.c.SubgraphErrors.WithLabelValues(o.route, subgraph).Inc()
	}
}
