package telemetry

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/credentials"
)

// Options are what the gateway supplies beside the config.
type Options struct {
	// Version is the resource's service.version.
	Version    string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Tracer starts the gateway's spans. A nil *Tracer is tracing off: every
// method returns at once, allocating nothing.
type Tracer struct {
	tp   *sdktrace.TracerProvider
	tr   trace.Tracer
	proc *queueProcessor
	prop propagation.TraceContext
}

var noopSpan trace.Span = noop.Span{}

// New builds the tracer of a defaulted, validated config; nil (and no
// error) when tracing is off.
func New(ctx context.Context, cfg Config, opts Options) (*Tracer, error) {
	t := cfg.Tracing
	if t.Exporter != "otlp" {
		return nil, nil
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	exp, err := newExporter(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("telemetry.tracing.endpoint: %w", err)
	}
	res := resource.NewWithAttributes("",
		attribute.String("service.name", cfg.ServiceName),
		attribute.String("service.version", opts.Version),
	)
	proc := newQueueProcessor(exp, t, opts.Logger)
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*t.SampleRatio))),
		sdktrace.WithSpanProcessor(proc),
	)
	tr := &Tracer{tp: tp, tr: tp.Tracer("github.com/portcullis-gw/portcullis/gateway", trace.WithInstrumentationVersion(opts.Version)), proc: proc}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(collector{proc}); err != nil {
			_ = tp.Shutdown(ctx)
			return nil, fmt.Errorf("registering tracing metrics: %w", err)
		}
	}
	return tr, nil
}

func newExporter(ctx context.Context, t Tracing) (sdktrace.SpanExporter, error) {
	scheme, u, err := parseEndpoint(t.Endpoint)
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "grpc", "grpcs":
		opts := []otlptracegrpc.Option{
			otlptracegrpc.WithEndpoint(u.Host), otlptracegrpc.WithHeaders(t.Headers),
			otlptracegrpc.WithTimeout(t.Timeout),
			// The queue is the retry buffer; a batch gets one try.
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}),
		}
		if scheme == "grpc" {
			opts = append(opts, otlptracegrpc.WithInsecure())
		} else {
			opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})))
		}
		return otlptracegrpc.New(ctx, opts...)
	}
	path := u.Path
	if path == "" || path == "/" {
		path = "/v1/traces"
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(path),
		otlptracehttp.WithHeaders(t.Headers), otlptracehttp.WithTimeout(t.Timeout),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	}
	if scheme == "http" {
		opts = append(opts, otlptracehttp.WithInsecure())
	}
	return otlptracehttp.New(ctx, opts...)
}

// Shutdown exports what is queued until ctx ends.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.Shutdown(ctx)
}

// ForceFlush exports everything queued now (tests, shutdown).
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.tp.ForceFlush(ctx)
}

// Attribute keys from the OpenTelemetry semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/http/http-spans/ and
// .../graphql/graphql-spans/) and the gateway's own.
var (
	keyMethod     = attribute.Key("http.request.method")
	keyRoute      = attribute.Key("http.route")
	keyPath       = attribute.Key("url.path")
	keyScheme     = attribute.Key("url.scheme")
	keyStatus     = attribute.Key("http.response.status_code")
	keyClient     = attribute.Key("client.address")
	keyUserAgent  = attribute.Key("user_agent.original")
	keyServerAddr = attribute.Key("server.address")
	keyServerPort = attribute.Key("server.port")
	keyGQLType    = attribute.Key("graphql.operation.type")
	keyGQLName    = attribute.Key("graphql.operation.name")
	keyDecision   = attribute.Key("portcullis.decision")
	keyCode       = attribute.Key("portcullis.code")
	keyRouteName  = attribute.Key("portcullis.route")
	keyRequestID  = attribute.Key("portcullis.request_id")
)

// StartServer starts the request's server span, the child of the caller's
// span when a W3C traceparent came in (https://www.w3.org/TR/trace-context/).
// ctx is the request's context; the returned one carries the span.
func (t *Tracer) StartServer(ctx context.Context, r *http.Request, clientIP, requestID string) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noopSpan
	}
	ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	ctx, span := t.tr.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		keyMethod.String(r.Method), keyPath.String(r.URL.Path), keyScheme.String(scheme),
		keyClient.String(clientIP), keyUserAgent.String(r.UserAgent()), keyRequestID.String(requestID),
	))
	return ctx, span
}

// Outcome is what the server span learns at the end.
type Outcome struct {
	Route, RouteTemplate string
	Status               int
	Decision, Code       string
	OperationType        string
	OperationName        string
}

// EndServer names the span after the matched route, records the decision
// and ends it. A 5xx marks the span an error (semantic conventions: a 4xx
// is the client's error, not the server span's).
func (t *Tracer) EndServer(span trace.Span, method string, o Outcome) {
	if t == nil {
		return
	}
	if o.RouteTemplate != "" {
		span.SetName(method + " " + o.RouteTemplate)
	}
	attrs := make([]attribute.KeyValue, 0, 8)
	attrs = append(attrs, keyStatus.Int(o.Status), keyDecision.String(o.Decision))
	if o.RouteTemplate != "" {
		attrs = append(attrs, keyRoute.String(o.RouteTemplate))
	}
	if o.Route != "" {
		attrs = append(attrs, keyRouteName.String(o.Route))
	}
	if o.Code != "" {
		attrs = append(attrs, keyCode.String(o.Code))
	}
	if o.OperationType != "" {
		attrs = append(attrs, keyGQLType.String(o.OperationType))
	}
	if o.OperationName != "" {
		attrs = append(attrs, keyGQLName.String(o.OperationName))
	}
	span.SetAttributes(attrs...)
	if o.Status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(o.Status))
	}
	span.End()
}

// Start starts an internal child span (a stage of the request: identity,
// analysis, authorization, rate limiting).
func (t *Tracer) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noopSpan
	}
	return t.tr.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
}

// Refused marks a stage span as the one that refused the request.
func Refused(span trace.Span, code string) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(keyDecision.String("deny"), keyCode.String(code))
}

// StartClient starts the client span of an upstream call and writes its
// traceparent (and tracestate) into h, so the upstream continues the trace.
func (t *Tracer) StartClient(ctx context.Context, method, host string, port int, h http.Header) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noopSpan
	}
	ctx, span := t.tr.Start(ctx, method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		keyMethod.String(method), keyServerAddr.String(host), keyServerPort.Int(port),
	))
	t.prop.Inject(ctx, propagation.HeaderCarrier(h))
	return ctx, span
}

// EndClient records the upstream's status (0: no response) and ends the span.
func (t *Tracer) EndClient(span trace.Span, status int, errCode string) {
	if t == nil {
		return
	}
	if status > 0 {
		span.SetAttributes(keyStatus.Int(status))
	}
	if errCode != "" {
		span.SetAttributes(attribute.String("error.type", errCode))
		span.SetStatus(codes.Error, errCode)
	} else if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// Stats are the exporter's counters.
type Stats struct {
	Exported, Dropped, Failed int64
	Depth, Capacity           int
}

// Stats reports the span queue's counters.
func (t *Tracer) Stats() Stats {
	if t == nil {
		return Stats{}
	}
	p := t.proc
	return Stats{Exported: p.exported.Load(), Dropped: p.dropped.Load(), Failed: p.failed.Load(), Depth: len(p.q), Capacity: cap(p.q)}
}

var (
	descExported = prometheus.NewDesc("portcullis_tracing_spans_exported_total", "Spans exported over OTLP.", nil, nil)
	descDropped  = prometheus.NewDesc("portcullis_tracing_spans_dropped_total",
		"Spans dropped, by reason: queue_full (the collector is slower than the traffic) or export_failed.", []string{"reason"}, nil)
	descDepth    = prometheus.NewDesc("portcullis_tracing_queue_depth", "Spans waiting for export.", nil, nil)
	descCapacity = prometheus.NewDesc("portcullis_tracing_queue_capacity", "Size of the span queue (tracing.queue_size).", nil, nil)
)

type collector struct{ p *queueProcessor }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descExported
	ch <- descDropped
	ch <- descDepth
	ch <- descCapacity
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descExported, prometheus.CounterValue, float64(c.p.exported.Load()))
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(c.p.dropped.Load()), "queue_full")
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(c.p.failed.Load()), "export_failed")
	ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(len(c.p.q)))
	ch <- prometheus.MustNewConstMetric(descCapacity, prometheus.GaugeValue, float64(cap(c.p.q)))
}
