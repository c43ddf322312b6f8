package telemetry_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/portcullis-gw/portcullis/gateway/telemetry"
	"github.com/portcullis-gw/portcullis/gateway/telemetry/oteltest"
)

const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

func newTracer(t *testing.T, endpoint string, ratio float64, mod func(*telemetry.Config)) *telemetry.Tracer {
	t.Helper()
	cfg := telemetry.Config{Tracing: telemetry.Tracing{Exporter: "otlp", Endpoint: endpoint, SampleRatio: &ratio,
		Headers: map[string]string{"x-api-key": "collector-key"}}}
	if mod != nil {
		mod(&cfg)
	}
	cfg = cfg.WithDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	tr, err := telemetry.New(context.Background(), cfg, telemetry.Options{Version: "1.2.3",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tr.Shutdown(ctx)
	})
	return tr
}

// serveOne runs one traced request the way the gateway does: server span,
// a stage, a client span whose traceparent reaches the upstream.
func serveOne(t *testing.T, tr *telemetry.Tracer, traceparent string) (upstreamTraceparent string) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamTraceparent = r.Header.Get("Traceparent")
	}))
	defer up.Close()
	r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	r.Header.Set("User-Agent", "test-agent")
	if traceparent != "" {
		r.Header.Set("Traceparent", traceparent)
	}
	ctx, span := tr.StartServer(r.Context(), r, "203.0.113.1", "req-9")
	_, stage := tr.Start(ctx, "portcullis.identity")
	stage.End()
	_, az := tr.Start(ctx, "portcullis.authorization")
	telemetry.Refused(az, "FORBIDDEN_FIELD")
	az.End()
	out, _ := http.NewRequestWithContext(ctx, http.MethodPost, up.URL, nil)
	_, client := tr.StartClient(ctx, http.MethodPost, "127.0.0.1", 1, out.Header)
	resp, err := http.DefaultClient.Do(out)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tr.EndClient(client, resp.StatusCode, "")
	tr.EndServer(span, http.MethodPost, telemetry.Outcome{Route: "shop", RouteTemplate: "/graphql", Status: 403,
		Decision: "deny", Code: "FORBIDDEN_FIELD", OperationType: "query", OperationName: "Orders"})
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return upstreamTraceparent
}

func TestSpanTree(t *testing.T) {
	for _, c := range []struct {
		name string
		recv func(testing.TB) *oteltest.Receiver
	}{{"otlp-http", oteltest.NewHTTP}, {"otlp-grpc", oteltest.NewGRPC}} {
		t.Run(c.name, func(t *testing.T) {
			recv := c.recv(t)
			tr := newTracer(t, recv.Endpoint, 1, nil)
			upTP := serveOne(t, tr, "00-"+callerTrace+"-"+callerSpan+"-01")
			spans := recv.Trace(t, callerTrace, 4)
			byName := map[string]oteltest.Span{}
			for _, s := range spans {
				byName[s.Name] = s
			}
			server, ok := byName["POST /graphql"]
			if !ok || server.Kind != tracepb.Span_SPAN_KIND_SERVER {
				t.Fatalf("no server span named after the route in %+v", spans)
			}
			if server.ParentID != callerSpan {
				t.Errorf("server span's parent = %q, want the caller's %s", server.ParentID, callerSpan)
			}
			for k, want := range map[string]any{
				"http.request.method": "POST", "http.route": "/graphql", "url.path": "/graphql",
				"http.response.status_code": int64(403), "client.address": "203.0.113.1",
				"graphql.operation.type": "query", "graphql.operation.name": "Orders",
				"portcullis.decision": "deny", "portcullis.code": "FORBIDDEN_FIELD", "portcullis.route": "shop",
			} {
				if server.Attrs[k] != want {
					t.Errorf("server span %s = %v, want %v", k, server.Attrs[k], want)
				}
			}
			if server.Service != "portcullis" {
				t.Errorf("service.name = %q", server.Service)
			}
			for _, name := range []string{"portcullis.identity", "portcullis.authorization", "POST"} {
				if s, ok := byName[name]; !ok || s.ParentID != server.SpanID {
					t.Errorf("span %s is not a child of the server span: %+v", name, s)
				}
			}
			if byName["portcullis.authorization"].Attrs["portcullis.code"] != "FORBIDDEN_FIELD" {
				t.Error("the refusing stage does not carry the code")
			}
			client := byName["POST"]
			if client.Kind != tracepb.Span_SPAN_KIND_CLIENT {
				t.Errorf("upstream span kind %v", client.Kind)
			}
			want := "00-" + callerTrace + "-" + client.SpanID + "-01"
			if upTP != want {
				t.Errorf("upstream got traceparent %q, want %q", upTP, want)
			}
			h := recv.Headers()[0]
			if got := first(h, "x-api-key"); got != "collector-key" {
				t.Errorf("export carried x-api-key %q", got)
			}
		})
	}
}

func first(h map[string][]string, k string) string {
	for name, v := range h {
		if strings.EqualFold(name, k) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// TestParentBasedSampling: at ratio 0 a new trace is not sampled, but a
// caller's sampled traceparent is honoured, and an unsampled one too.
func TestParentBasedSampling(t *testing.T) {
	recv := oteltest.NewHTTP(t)
	tr := newTracer(t, recv.Endpoint, 0, nil)
	serveOne(t, tr, "")
	serveOne(t, tr, "00-"+strings.Repeat("1", 32)+"-"+callerSpan+"-00")
	if n := len(recv.Spans()); n != 0 {
		t.Fatalf("ratio 0 exported %d spans", n)
	}
	if tp := serveOne(t, tr, "00-"+callerTrace+"-"+callerSpan+"-01"); !strings.HasPrefix(tp, "00-"+callerTrace) {
		t.Errorf("upstream traceparent %q", tp)
	}
	recv.Trace(t, callerTrace, 4)
}

// TestTracingOffAllocatesNothing: a nil Tracer is what the gateway holds
// with exporter none.
func TestTracingOffAllocatesNothing(t *testing.T) {
	var tr *telemetry.Tracer
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	h := http.Header{}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		c, span := tr.StartServer(ctx, r, "ip", "id")
		c, st := tr.Start(c, "portcullis.identity")
		telemetry.Refused(st, "X")
		st.End()
		_, cl := tr.StartClient(c, "GET", "h", 1, h)
		tr.EndClient(cl, 200, "")
		tr.EndServer(span, "GET", telemetry.Outcome{Status: 200})
	})
	if allocs != 0 {
		t.Errorf("tracing off allocates %v per request", allocs)
	}
	if len(h) != 0 {
		t.Error("tracing off injected headers")
	}
	cfg := telemetry.Config{}.WithDefaults()
	if off, err := telemetry.New(ctx, cfg, telemetry.Options{}); off != nil || err != nil {
		t.Errorf("exporter none built a tracer: %v %v", off, err)
	}
}

// TestDeadCollector: spans to a collector that is gone never hold a
// request up; each is counted as exported, dropped or failed.
func TestDeadCollector(t *testing.T) {
	recv := oteltest.NewHTTP(t)
	recv.Close()
	tr := newTracer(t, recv.Endpoint, 1, func(c *telemetry.Config) {
		c.Tracing.QueueSize, c.Tracing.BatchSize, c.Tracing.Timeout = 16, 8, 200*time.Millisecond
	})
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	const n = 2000
	for i := 0; i < n; i++ {
		_, span := tr.StartServer(context.Background(), r, "ip", "id")
		tr.EndServer(span, "GET", telemetry.Outcome{Status: 200})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = tr.Shutdown(ctx)
	st := tr.Stats()
	if st.Exported != 0 || st.Dropped+st.Failed != n || st.Dropped == 0 {
		t.Errorf("stats %+v, want all %d spans dropped or failed and counted", st, n)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := 1.5
	for _, c := range []struct {
		name string
		cfg  telemetry.Tracing
		want string
	}{
		{"exporter", telemetry.Tracing{Exporter: "jaeger"}, "tracing.exporter: must be none or otlp"},
		{"no endpoint", telemetry.Tracing{Exporter: "otlp"}, "tracing.endpoint: is required"},
		{"scheme", telemetry.Tracing{Exporter: "otlp", Endpoint: "ftp://x:1"}, "tracing.endpoint: scheme"},
		{"grpc path", telemetry.Tracing{Exporter: "otlp", Endpoint: "grpc://x:4317/v1"}, "tracing.endpoint: a gRPC endpoint has no path"},
		{"userinfo", telemetry.Tracing{Exporter: "otlp", Endpoint: "http://u:p@x:4318"}, "tracing.endpoint: must not hold credentials"},
		{"ratio", telemetry.Tracing{SampleRatio: &bad}, "tracing.sample_ratio"},
		{"queue", telemetry.Tracing{QueueSize: -1}, "tracing.queue_size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := telemetry.Config{Tracing: c.cfg}.WithDefaults().Validate()
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), c.want) {
				t.Errorf("errors %v, want %q", errs, c.want)
			}
		})
	}
	if errs := (telemetry.Config{}).WithDefaults().Validate(); len(errs) != 0 {
		t.Errorf("defaults invalid: %v", errs)
	}
}
