package main

import (
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

// Targets measuring what monitoring costs, each against the plain
// gateway carrying the same request.
const (
	tracingTarget = "portcullis graphql (tracing on, ratio 1.0)"
	auditTarget   = "portcullis graphql (audit: http sink, every request)"
)

// collector stands in for an OTLP/HTTP receiver and a SIEM's HTTP
// endpoint: it reads each export whole and acknowledges it, as a real one
// does, and counts what arrived so the run can prove the rows measured
// real exports.
type collector struct {
	spanBytes, auditBytes atomic.Int64
}

func (c *collector) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		c.spanBytes.Add(n)
		// An empty ExportTraceServiceResponse is zero bytes of protobuf.
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /ingest", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		c.auditBytes.Add(n)
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

// monitoringYAML is the extra config of each monitoring gateway.
func monitoringYAML(collectorURL string) (tracing, audit string) {
	tracing = fmt.Sprintf("telemetry:\n  tracing: {exporter: otlp, endpoint: %q, sample_ratio: 1.0}\n", collectorURL)
	audit = fmt.Sprintf("audit:\n  include_allowed: true\n  sinks:\n    - {type: http, url: %q}\n", collectorURL+"/ingest")
	return tracing, audit
}

// checkCollector fails the run when a monitoring row exported nothing: it
// would have measured a gateway without the feature.
func (c *collector) check() error {
	if c.spanBytes.Load() == 0 {
		return fmt.Errorf("the tracing gateway exported no spans")
	}
	if c.auditBytes.Load() == 0 {
		return fmt.Errorf("the audit gateway delivered no events")
	}
	return nil
}
