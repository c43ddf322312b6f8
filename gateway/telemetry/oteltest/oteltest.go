// Package oteltest runs a real OTLP trace receiver for tests: OTLP/HTTP
// (protobuf ExportTraceServiceRequest on /v1/traces) and OTLP/gRPC
// (opentelemetry.proto.collector.trace.v1.TraceService).
package oteltest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened for assertions.
type Span struct {
	TraceID, SpanID, ParentID string
	Name                      string
	Kind                      tracepb.Span_SpanKind
	Attrs                     map[string]any
	StatusCode                tracepb.Status_StatusCode
	Service                   string
}

// Receiver collects spans from either transport.
type Receiver struct {
	// Endpoint is what telemetry.tracing.endpoint should be.
	Endpoint string

	mu      sync.Mutex
	spans   []Span
	headers []map[string][]string
	srv     *httptest.Server
	grpc    *grpc.Server
	ln      net.Listener
}

// NewHTTP starts an OTLP/HTTP receiver.
func NewHTTP(t testing.TB) *Receiver {
	r := &Receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serveHTTP(t)))
	r.Endpoint = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

func (r *Receiver) serveHTTP(t testing.TB) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP/HTTP receiver: unexpected %s %s (%s)", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
			http.Error(w, "unexpected", http.StatusBadRequest)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var msg collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &msg); err != nil {
			t.Errorf("OTLP/HTTP receiver: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(&msg, req.Header)
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}
}

// NewGRPC starts an OTLP/gRPC receiver (plaintext).
func NewGRPC(t testing.TB) *Receiver {
	r := &Receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.ln = ln
	r.grpc = grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(r.grpc, traceService{r: r})
	go func() { _ = r.grpc.Serve(ln) }()
	r.Endpoint = "grpc://" + ln.Addr().String()
	t.Cleanup(r.grpc.Stop)
	return r
}

type traceService struct {
	collectortrace.UnimplementedTraceServiceServer
	r *Receiver
}

func (s traceService) Export(ctx context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	s.r.add(req, md)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

// Close stops the receiver: a dead collector from now on.
func (r *Receiver) Close() {
	if r.srv != nil {
		r.srv.Close()
	}
	if r.grpc != nil {
		r.grpc.Stop()
	}
}

func (r *Receiver) add(msg *collectortrace.ExportTraceServiceRequest, headers map[string][]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.headers = append(r.headers, headers)
	for _, rs := range msg.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				r.spans = append(r.spans, Span{
					TraceID: hex.EncodeToString(sp.GetTraceId()), SpanID: hex.EncodeToString(sp.GetSpanId()),
					ParentID: hexOrEmpty(sp.GetParentSpanId()), Name: sp.GetName(), Kind: sp.GetKind(),
					Attrs: attrs(sp.GetAttributes()), StatusCode: sp.GetStatus().GetCode(), Service: service,
				})
			}
		}
	}
}

func hexOrEmpty(b []byte) string {
	if len(b) == 0 || bytes.Equal(b, make([]byte, len(b))) {
		return ""
	}
	return hex.EncodeToString(b)
}

func attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		v := kv.GetValue()
		switch v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.GetKey()] = v.GetStringValue()
		case *commonpb.AnyValue_IntValue:
			m[kv.GetKey()] = v.GetIntValue()
		case *commonpb.AnyValue_BoolValue:
			m[kv.GetKey()] = v.GetBoolValue()
		case *commonpb.AnyValue_DoubleValue:
			m[kv.GetKey()] = v.GetDoubleValue()
		default:
			m[kv.GetKey()] = v.String()
		}
	}
	return m
}

// Spans returns what was received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Headers returns the headers (HTTP) or metadata (gRPC) of each export.
func (r *Receiver) Headers() []map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string][]string(nil), r.headers...)
}

// Trace waits up to 20s until the trace holds a span named rootName of
// kind server whose children include every name in want, and returns the
// trace's spans.
func (r *Receiver) Trace(t testing.TB, traceID string, n int) []Span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out []Span
		for _, s := range r.Spans() {
			if s.TraceID == traceID {
				out = append(out, s)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s holds %d spans, want %d: %+v", traceID, len(out), n, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// WaitSpans waits up to 20s for at least n spans.
func (r *Receiver) WaitSpans(t testing.TB, n int) []Span {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := r.Spans()
		if len(s) >= n {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver holds %d spans, want %d", len(s), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
