package ratelimit

import "github.com/prometheus/client_golang/prometheus"

type result int

const (
	resultAllowed result = iota
	resultLimited
	resultTooExpensive
	resultUnavailable
	resultConcurrency
	numResults
)

var resultNames = [numResults]string{"allowed", "limited", "too_expensive", "unavailable", "concurrency"}

type metrics struct {
	decisions   *prometheus.CounterVec
	storeErrors prometheus.Counter
	storeUp     prometheus.Gauge
}

func newMetrics() *metrics {
	return &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portcullis_ratelimit_decisions_total",
			Help: "Rate limit decisions by tier and result (allowed, limited, too_expensive, unavailable, concurrency).",
		}, []string{"tier", "result"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portcullis_ratelimit_store_errors_total",
			Help: "Failed calls to the shared rate limit store, including recovery probes.",
		}),
		storeUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "portcullis_ratelimit_store_up",
			Help: "1 when the rate limit store answers, 0 while on_store_error applies.",
		}),
	}
}

// decision resolves a counter once at build time so the request path does not
// hash label values.
func (m *metrics) decision(tier string, r result) prometheus.Counter {
	return m.decisions.WithLabelValues(tier, resultNames[r])
}

// Collectors are the Limiter's metrics, for the gateway to register.
func (l *Limiter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.metrics.decisions, l.metrics.storeErrors, l.metrics.storeUp}
}
