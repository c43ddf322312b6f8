// Package telemetry traces requests with OpenTelemetry and exports the
// spans over OTLP (HTTP/protobuf or gRPC) through a bounded queue, so a slow
// or dead collector costs dropped spans, never a slower request
// (docs/monitoring.md).
package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/portcullis-gw/portcullis/keypath"
)

// Defaults for what the config leaves out.
const (
	DefaultServiceName   = "portcullis"
	DefaultQueueSize     = 4096
	DefaultBatchSize     = 512
	DefaultFlushInterval = time.Second
	DefaultTimeout       = 5 * time.Second
)

// Config is the telemetry section.
type Config struct {
	// ServiceName is the resource's service.name.
	ServiceName string  `yaml:"service_name"`
	Tracing     Tracing `yaml:"tracing"`
}

// Tracing configures spans and their exporter.
type Tracing struct {
	// Exporter is none (default: no spans, nothing allocated) or otlp.
	Exporter string `yaml:"exporter"`
	// Endpoint is http(s)://host:port[/path] for OTLP/HTTP (path default
	// /v1/traces) or grpc://host:port (plaintext) or grpcs://host:port for
	// OTLP/gRPC.
	Endpoint string `yaml:"endpoint"`
	// SampleRatio is the share of new traces sampled; an incoming
	// traceparent's sampled flag is honoured whatever the ratio.
	SampleRatio *float64 `yaml:"sample_ratio"`
	// Headers go with every export (e.g. a hosted backend's API key).
	Headers       map[string]string `yaml:"headers"`
	QueueSize     int               `yaml:"queue_size"`
	BatchSize     int               `yaml:"batch_size"`
	FlushInterval time.Duration     `yaml:"flush_interval"`
	Timeout       time.Duration     `yaml:"timeout"`
}

// WithDefaults fills every zero value with its default.
func (c Config) WithDefaults() Config {
	if c.ServiceName == "" {
		c.ServiceName = DefaultServiceName
	}
	t := &c.Tracing
	if t.Exporter == "" {
		t.Exporter = "none"
	}
	if t.SampleRatio == nil {
		r := 1.0
		t.SampleRatio = &r
	}
	if t.QueueSize == 0 {
		t.QueueSize = DefaultQueueSize
	}
	if t.BatchSize == 0 {
		t.BatchSize = DefaultBatchSize
	}
	if t.FlushInterval == 0 {
		t.FlushInterval = DefaultFlushInterval
	}
	if t.Timeout == 0 {
		t.Timeout = DefaultTimeout
	}
	return c
}

// Validate reports every problem in a defaulted c; each message starts
// with the key path relative to the telemetry section.
func (c Config) Validate() keypath.Problems {
	var ps keypath.Problems
	t := c.Tracing
	tr := keypath.Key("tracing")
	switch t.Exporter {
	case "none":
	case "otlp":
		if _, _, err := parseEndpoint(t.Endpoint); err != nil {
			ps.Addf(tr.Key("endpoint"), "%v", err)
		}
	default:
		ps.Addf(tr.Key("exporter"), "must be none or otlp, got %q", t.Exporter)
	}
	if r := *t.SampleRatio; !(r >= 0 && r <= 1) {
		ps.Addf(tr.Key("sample_ratio"), "must be between 0 and 1, got %v", r)
	}
	if t.QueueSize < 1 || t.QueueSize > 1_000_000 {
		ps.Addf(tr.Key("queue_size"), "must be 1-1000000")
	}
	if t.BatchSize < 1 || t.BatchSize > t.QueueSize {
		ps.Addf(tr.Key("batch_size"), "must be 1-queue_size")
	}
	if t.FlushInterval <= 0 {
		ps.Addf(tr.Key("flush_interval"), "must be > 0")
	}
	if t.Timeout <= 0 {
		ps.Addf(tr.Key("timeout"), "must be > 0")
	}
	return ps
}

// parseEndpoint returns the protocol (http, https, grpc, grpcs) and URL.
func parseEndpoint(raw string) (string, *url.URL, error) {
	if raw == "" {
		return "", nil, errors.New("is required with exporter otlp")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", nil, fmt.Errorf("must be an absolute URL such as http://127.0.0.1:4318 or grpc://127.0.0.1:4317, got %q", raw)
	}
	switch u.Scheme {
	case "http", "https":
	case "grpc", "grpcs":
		if u.Path != "" && u.Path != "/" {
			return "", nil, fmt.Errorf("a gRPC endpoint has no path, got %q", raw)
		}
	default:
		return "", nil, fmt.Errorf("scheme must be http, https, grpc or grpcs, got %q", raw)
	}
	if u.User != nil {
		return "", nil, errors.New("must not hold credentials; use tracing.headers")
	}
	return u.Scheme, u, nil
}
