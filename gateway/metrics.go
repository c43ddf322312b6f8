package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/portcullis-gw/portcullis/gateway/pipeline"
)

// metrics is the gateway's own registry: a private one, so two gateways in
// one process (tests, reloads) never collide on the global registerer.
type metrics struct {
	reg            *prometheus.Registry
	requests       *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	upstreamErrors *prometheus.CounterVec
	panics         prometheus.Counter
	// responseViolations counts upstream answers that break their OpenAPI
	// document (validate_responses).
	responseViolations *prometheus.CounterVec
	// unknownOperations and maskedErrors are the governance counters
	// (docs/governance.md).
	unknownOperations *prometheus.CounterVec
	maskedErrors      *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_requests_total",
			Help: "Requests by route, status and decision (allow, deny, error).",
		}, []string{"route", "status", "decision"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portcullis_request_duration_seconds",
			Help:    "Time from accepting a request to finishing its response, by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_upstream_errors_total",
			Help: "Upstream failures by route and kind (UPSTREAM_ERROR, UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT).",
		}, []string{"route", "code"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_panics_recovered_total",
			Help: "Panics recovered while serving a request.",
		}),
	}
	m.responseViolations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_response_violations_total",
		Help: "Upstream answers that break the route's OpenAPI document, by route and operation.",
	}, []string{"route", "operation"})
	m.unknownOperations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_unknown_operations_total",
		Help: "Operations that persisted_operations audit mode let through although no manifest lists them, by route and client.",
	}, []string{"route", "client"})
	m.maskedErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portcullis_upstream_errors_masked_total",
		Help: "Upstream GraphQL errors whose message or members were removed before the answer went back, by route.",
	}, []string{"route"})
	m.reg.MustRegister(m.unknownOperations, m.maskedErrors, m.responseViolations, m.requests, m.duration, m.upstreamErrors, m.panics,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// counters are the metrics the front doors count into.
func (m *metrics) counters() pipeline.Counters {
	return pipeline.Counters{UpstreamErrors: m.upstreamErrors, ResponseViolations: m.responseViolations,
		UnknownOperations: m.unknownOperations, MaskedErrors: m.maskedErrors}
}

var (
	descCacheHits = prometheus.NewDesc("portcullis_analysis_cache_hits_total",
		"Operations answered from the analysis cache, by GraphQL route; resets when a reload rebuilds the route.", []string{"route"}, nil)
	descCacheMisses = prometheus.NewDesc("portcullis_analysis_cache_misses_total",
		"Operations parsed, validated and analysed afresh, by GraphQL route; resets when a reload rebuilds the route.", []string{"route"}, nil)
	descCacheEntries = prometheus.NewDesc("portcullis_analysis_cache_entries",
		"Documents held in the analysis cache, by GraphQL route.", []string{"route"}, nil)
	descCacheBytes = prometheus.NewDesc("portcullis_analysis_cache_bytes",
		"Estimated memory held by the analysis cache, by GraphQL route.", []string{"route"}, nil)
)

// analysisCollector exports each GraphQL route's analysis cache figures;
// unchecked, because a reload swaps the analyzers.
type analysisCollector struct{ g *Gateway }

func (analysisCollector) Describe(chan<- *prometheus.Desc) {}

func (ac analysisCollector) Collect(ch chan<- prometheus.Metric) {
	tbl := ac.g.routes.Load()
	if tbl == nil {
		return
	}
	for _, r := range tbl.graphql {
		s, ok := r.CacheStats()
		if !ok {
			continue
		}
		name := r.Name()
		ch <- prometheus.MustNewConstMetric(descCacheHits, prometheus.CounterValue, float64(s.Hits), name)
		ch <- prometheus.MustNewConstMetric(descCacheMisses, prometheus.CounterValue, float64(s.Misses), name)
		ch <- prometheus.MustNewConstMetric(descCacheEntries, prometheus.GaugeValue, float64(s.Entries), name)
		ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(s.Bytes), name)
	}
}
