package pipeline

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portcullis-gw/portcullis/upstream"
)

// Counters are the gateway metrics the front doors count into.
type Counters struct {
	// UpstreamErrors is by route and code.
	UpstreamErrors *prometheus.CounterVec
	// ResponseViolations is by route and operation (validate_responses).
	ResponseViolations *prometheus.CounterVec
	// Federated execution: plan cache lookups by route and result (hit,
	// miss); subgraph fetches, failures and duration by route and
	// subgraph.
	PlanCache        *prometheus.CounterVec
	SubgraphFetches  *prometheus.CounterVec
	SubgraphErrors   *prometheus.CounterVec
	SubgraphDuration *prometheus.HistogramVec
	// UnknownOperations is by route and client: operations audit mode let
	// through although no manifest lists them.
	UnknownOperations *prometheus.CounterVec
	// MaskedErrors is by route: upstream errors whose members or message
	// were removed before the answer went back.
	MaskedErrors *prometheus.CounterVec
}

// UpstreamFailed is the forward stage's refusal: the failure is counted,
// logged with its cause, recorded, and answered with a public message
// that never names the upstream's address.
func (s *Shared) UpstreamFailed(ex *Exchange, f *upstream.Failure) *Refusal {
	code := f.Kind.Code()
	if s.Counters.UpstreamErrors != nil {
		s.Counters.UpstreamErrors.WithLabelValues(ex.Route, code).Inc()
	}
	s.Log.Warn("upstream failed", "route", ex.Route, "code", code, "error", f.Err)
	ex.Failed(code)
	return &Refusal{Status: f.Kind.Status(), Code: code, Message: f.Kind.Message(), Charge: PayNothing}
}

// NewProxy builds a route's upstream proxy; the doors answer its failures
// themselves (upstream.Proxy.Send), so it carries no hooks.
func NewProxy(c upstream.Config, opts upstream.PoolOptions) (*upstream.Proxy, error) {
	p, err := upstream.NewWithOptions(c, opts)
	if err != nil {
		return nil, fmt.Errorf("building upstream proxy: %w", err)
	}
	return p, nil
}
