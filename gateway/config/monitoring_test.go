package config

import (
	"strings"
	"testing"
)

// TestMonitoringProblems: bad telemetry, audit, live view and admin token
// settings are reported with their key path and line.
func TestMonitoringProblems(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"exporter", "telemetry: {tracing: {exporter: zipkin}}\n", "telemetry.tracing.exporter: must be none or otlp"},
		{"endpoint", "telemetry: {tracing: {exporter: otlp, endpoint: 'localhost:4317'}}\n", "telemetry.tracing.endpoint: "},
		{"ratio", "telemetry: {tracing: {sample_ratio: 2}}\n", "telemetry.tracing.sample_ratio: must be between 0 and 1"},
		{"ratio type", "telemetry: {tracing: {sample_ratio: often}}\n", "telemetry.tracing.sample_ratio: expected a number"},
		{"sink type", "audit: {sinks: [{type: kafka}]}\n", "audit.sinks[0].type: must be log, http, syslog or file"},
		{"sink url", "audit: {sinks: [{type: http}]}\n", "audit.sinks[0].url: is required for an http sink"},
		{"syslog address", "audit: {sinks: [{type: syslog, address: 'udp://h'}]}\n", "audit.sinks[0].address: must name a port"},
		{"file folder", "audit: {sinks: [{type: file, path: /no/such/folder/a.jsonl}]}\n", `audit.sinks[0].path: the folder of "/no/such/folder/a.jsonl" does not exist`},
		{"ca file", "audit: {sinks: [{type: syslog, address: 'tls://h:1', ca_file: nope.pem}]}\n", `audit.sinks[0].ca_file: no such file "nope.pem"`},
		{"unknown sink key", "audit: {sinks: [{type: log, colour: red}]}\n", "audit.sinks[0].colour: unknown key"},
		{"live view", "live_view: {recent: 100000}\n", "live_view.recent: must be 1-500"},
		{"admin token", "server: {admin_token: short}\n", "server.admin_token: must be at least 16 characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(problemsOf(t, route(c.yaml)), "\n")
			if !strings.Contains(got, c.want) || !strings.Contains(got, "(line ") {
				t.Errorf("problems\n%s\nwant %q with its line", got, c.want)
			}
		})
	}
}
