package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkMonitoring is the GraphQL pass-through with each monitoring
// feature on, against it off, in one run: tracing at ratio 1.0 exported
// over OTLP/HTTP, and an HTTP audit sink receiving every request. The
// collector reads and drops what it gets.
func BenchmarkMonitoring(b *testing.B) {
	var got atomic.Int64
	col := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		got.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(col.Close)
	for _, c := range []struct{ name, extra string }{
		{"off", ""},
		{"tracing", fmt.Sprintf("telemetry:\n  tracing: {exporter: otlp, endpoint: %q, sample_ratio: 1.0}\n", col.URL)},
		{"audit-http", fmt.Sprintf("audit:\n  include_allowed: true\n  sinks: [{type: http, url: %q}]\n", col.URL+"/ingest")},
	} {
		b.Run(c.name, func(b *testing.B) {
			gw, _ := benchGatewayWith(b, c.extra)
			body := []byte(benchQuery)
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			benchServe(b, gw, req, body, http.StatusOK, benchGraphQLReply)
		})
	}
}
