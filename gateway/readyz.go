package gateway

import (
	"net/http"
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-gw/portcullis/upstream"
)

// storeCheck names the rate-limit store in a 503 from /readyz.
const storeCheck = "rate_limit store (rate_limit.redis)"

// waitingFor lists what keeps the gateway from serving: start-up checks not
// passed yet, and a fail_closed rate-limit store that is unreachable now
// (every request would be refused 503 RATE_LIMIT_UNAVAILABLE, so a load
// balancer must send traffic to another replica). Upstream health is not
// among them (docs/operations.md, Running in production).
func (g *Gateway) waitingFor() []string {
	pending := g.ready.pending()
	if g.draining.Load() {
		pending = append(pending, shuttingDown)
	}
	if tbl := g.routes.Load(); tbl != nil && tbl.limiter() != nil && !tbl.limiter().Ready() {
		pending = append(pending, storeCheck)
	}
	return pending
}

// serveReadyz answers 200 when the gateway can serve and 503 naming what is
// missing; ?verbose adds every upstream endpoint's state beside it.
func (g *Gateway) serveReadyz(w http.ResponseWriter, r *http.Request) {
	pending := g.waitingFor()
	status, body := http.StatusOK, map[string]any{"status": "ready"}
	if len(pending) > 0 {
		status, body = http.StatusServiceUnavailable, map[string]any{"status": "not ready", "waiting_for": pending}
	}
	if r.URL.Query().Has("verbose") {
		body["upstreams"] = g.UpstreamStatus()
		if tbl := g.routes.Load(); tbl != nil && tbl.limiter() != nil {
			lim := tbl.limiter()
			body["rate_limit_store"] = map[string]any{"up": lim.StoreUp(), "ready": lim.Ready()}
		}
	}
	writeJSON(w, status, body)
}

// RouteUpstream is one route's upstream pool as /readyz?verbose shows it.
type RouteUpstream struct {
	Route string `json:"route"`
	upstream.PoolStatus
}

// UpstreamStatus reports every route's pool, sorted by route name.
func (g *Gateway) UpstreamStatus() []RouteUpstream {
	tbl := g.routes.Load()
	if tbl == nil {
		return nil
	}
	out := []RouteUpstream{}
	for _, r := range tbl.graphql {
		if p := r.Pool(); p != nil { // nil in federated mode
			out = append(out, RouteUpstream{Route: r.Name(), PoolStatus: p.Status()})
		}
	}
	for _, r := range tbl.rest {
		out = append(out, RouteUpstream{Route: r.Name(), PoolStatus: r.Pool().Status()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Route < out[j].Route })
	return out
}

// upstreamCollector turns the pools' status into metrics on each scrape, so
// the upstream package needs no metrics library.
type upstreamCollector struct{ g *Gateway }

var (
	descEndpointUp = prometheus.NewDesc("portcullis_upstream_endpoint_up",
		"1 when the endpoint takes traffic; 0 while ejected or failing its health check.", []string{"route", "endpoint"}, nil)
	descEndpointState = prometheus.NewDesc("portcullis_upstream_endpoint_state",
		"1 for the endpoint's current state (healthy, unhealthy, ejected).", []string{"route", "endpoint", "state"}, nil)
	descEndpointInFlight = prometheus.NewDesc("portcullis_upstream_endpoint_in_flight",
		"Attempts in flight to the endpoint.", []string{"route", "endpoint"}, nil)
	descEndpointEjections = prometheus.NewDesc("portcullis_upstream_endpoint_ejections_total",
		"Times the endpoint was ejected after failures in a row.", []string{"route", "endpoint"}, nil)
	descEndpointFailures = prometheus.NewDesc("portcullis_upstream_endpoint_failures_total",
		"Failed attempts to the endpoint (connect errors, timeouts, 5xx).", []string{"route", "endpoint"}, nil)
	descBreaker = prometheus.NewDesc("portcullis_upstream_breaker_state",
		"1 for the route's circuit breaker state (closed, open, half_open, off).", []string{"route", "state"}, nil)
	descBreakerRejected = prometheus.NewDesc("portcullis_upstream_breaker_rejected_total",
		"Requests answered 503 by the open breaker without an upstream call.", []string{"route"}, nil)
	descRetries = prometheus.NewDesc("portcullis_upstream_retries_total",
		"Upstream attempts after the first.", []string{"route"}, nil)
	descRetriesDenied = prometheus.NewDesc("portcullis_upstream_retries_denied_total",
		"Retries the retry budget refused.", []string{"route"}, nil)
)

func (upstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descEndpointUp, descEndpointState, descEndpointInFlight, descEndpointEjections,
		descEndpointFailures, descBreaker, descBreakerRejected, descRetries, descRetriesDenied} {
		ch <- d
	}
}

func (uc upstreamCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	seen := map[string]bool{}
	for _, p := range uc.g.UpstreamStatus() {
		if seen[p.Route] {
			continue // route names are unique; never emit a duplicate series
		}
		seen[p.Route] = true
		for _, s := range []string{upstream.BreakerClosed, upstream.BreakerOpen, upstream.BreakerHalfOpen, upstream.BreakerOff} {
			gauge(descBreaker, b2f(p.Breaker == s), p.Route, s)
		}
		counter(descBreakerRejected, p.BreakerRejected, p.Route)
		counter(descRetries, p.Retries, p.Route)
		counter(descRetriesDenied, p.RetriesDenied, p.Route)
		for _, e := range p.Endpoints {
			gauge(descEndpointUp, b2f(e.State == upstream.StateHealthy), p.Route, e.Address)
			for _, s := range []string{upstream.StateHealthy, upstream.StateUnhealthy, upstream.StateEjected} {
				gauge(descEndpointState, b2f(e.State == s), p.Route, e.Address, s)
			}
			gauge(descEndpointInFlight, float64(e.InFlight), p.Route, e.Address)
			counter(descEndpointEjections, e.Ejections, p.Route, e.Address)
			counter(descEndpointFailures, e.Failures, p.Route, e.Address)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
