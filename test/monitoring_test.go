package test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/portcullis-gw/portcullis/gateway/audit/audittest"
	"github.com/portcullis-gw/portcullis/gateway/telemetry/oteltest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// stop sends SIGTERM and waits for the gateway to exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup's wait
		if err != nil {
			t.Fatalf("gateway exited with %v\n%s", err, p.logs())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("gateway did not stop on SIGTERM\n%s", p.logs())
	}
}

func do(t *testing.T, method, url string, header http.Header, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const (
	callerTrace = "0af7651916cd43dd8448eb211c80319c"
	callerSpan  = "b7ad6b7169203331"
)

// TestTracingThroughTheBinary: a real OTLP/HTTP receiver decodes the
// ExportTraceServiceRequest; the span tree, its attributes and the trace
// id continue from the caller into the upstream's traceparent.
func TestTracingThroughTheBinary(t *testing.T) {
	for _, c := range []struct {
		name string
		recv func(testing.TB) *oteltest.Receiver
	}{{"otlp-http", oteltest.NewHTTP}, {"otlp-grpc", oteltest.NewGRPC}} {
		t.Run(c.name, func(t *testing.T) {
			recv := c.recv(t)
			set := upstreams.StartAll(t)
			gw := startFresh(t, set, writeConfig(t, e2eConfig(set, fmt.Sprintf(`
telemetry:
  service_name: e2e-gateway
  tracing: {exporter: otlp, endpoint: %q, sample_ratio: 1.0, flush_interval: 100ms}
`, recv.Endpoint))))
			h := http.Header{"Content-Type": {"application/json"}, "Traceparent": {"00-" + callerTrace + "-" + callerSpan + "-01"}}
			resp, body := do(t, http.MethodPost, gw.url("/graphql"), h, `{"query":"query Top { topProducts(first: 1) { upc } }"}`)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			spans := recv.Trace(t, callerTrace, 6)
			byName := map[string]oteltest.Span{}
			for _, s := range spans {
				byName[s.Name] = s
			}
			server := byName["POST /graphql"]
			if server.Kind != tracepb.Span_SPAN_KIND_SERVER || server.ParentID != callerSpan || server.Service != "e2e-gateway" {
				t.Fatalf("server span %+v (all: %+v)", server, spans)
			}
			for k, want := range map[string]any{
				"http.request.method": "POST", "http.route": "/graphql", "url.path": "/graphql",
				"http.response.status_code": int64(200), "client.address": "127.0.0.1",
				"graphql.operation.type": "query", "graphql.operation.name": "Top",
				"portcullis.decision": "allow", "portcullis.route": "shop",
				"portcullis.request_id": resp.Header.Get("X-Request-Id"),
			} {
				if got := server.Attrs[k]; got != want {
					t.Errorf("server span %s = %v, want %v", k, got, want)
				}
			}
			for _, stage := range []string{"portcullis.identity", "portcullis.analysis", "portcullis.authorization", "portcullis.rate_limit"} {
				if s, ok := byName[stage]; !ok || s.ParentID != server.SpanID {
					t.Errorf("stage span %s missing or not under the server span: %+v", stage, s)
				}
			}
			client, ok := byName["POST"]
			if !ok || client.Kind != tracepb.Span_SPAN_KIND_CLIENT || client.ParentID != server.SpanID || client.Attrs["http.response.status_code"] != int64(200) {
				t.Fatalf("upstream client span %+v", client)
			}
			reqs := set.Products.Recorder.Requests()
			if len(reqs) != 1 {
				t.Fatalf("products got %d requests", len(reqs))
			}
			if got, want := reqs[0].Header.Get("Traceparent"), "00-"+callerTrace+"-"+client.SpanID+"-01"; got != want {
				t.Errorf("upstream traceparent %q, want %q (the caller's trace, the client span)", got, want)
			}

			// A refusal is on its span: decision, code, and the stage that refused.
			resp, _ = do(t, http.MethodGet, gw.url("/api/v1/orders"), http.Header{"Traceparent": {"00-" + strings.Repeat("2", 32) + "-" + callerSpan + "-01"}}, "")
			if resp.StatusCode != 401 {
				t.Fatalf("orders without a key: %d", resp.StatusCode)
			}
			refused := recv.Trace(t, strings.Repeat("2", 32), 2)
			var sawServer, sawStage bool
			for _, s := range refused {
				switch s.Name {
				case "GET /api/orders":
					sawServer = s.Attrs["portcullis.decision"] == "deny" && s.Attrs["portcullis.code"] == "UNAUTHENTICATED" &&
						s.Attrs["http.response.status_code"] == int64(401) && s.StatusCode != tracepb.Status_STATUS_CODE_ERROR
				case "portcullis.authorization":
					sawStage = s.Attrs["portcullis.code"] == "UNAUTHENTICATED"
				}
			}
			if !sawServer || !sawStage {
				t.Errorf("refusal not visible on the spans: %+v", refused)
			}
		})
	}
}

// auditConfig sends every event to an HTTP collector and a TCP syslog
// listener; batches only flush on shutdown, so what arrives after SIGTERM
// proves the queues are flushed.
func auditConfig(col *audittest.Collector, syslog *audittest.Syslog) string {
	return fmt.Sprintf(`
audit:
  include_allowed: true
  aggregate_window: 1h
  sinks:
    - {type: log}
    - {type: http, url: %q, headers: {Authorization: "Splunk e2e-hec-token"}, batch_size: 1000, flush_interval: 1h}
    - {type: syslog, address: "tcp://%s", batch_size: 1000, flush_interval: 1h}
`, col.URL+"/services/collector/raw", syslog.Addr)
}

// TestAuditThroughTheBinary: a real HTTP collector and a real TCP syslog
// listener receive OCSF events field by field; a refusal flood is one
// event with its count; nothing queued is lost on SIGTERM.
func TestAuditThroughTheBinary(t *testing.T) {
	col := audittest.NewCollector(t, "ndjson")
	syslog := audittest.NewSyslog(t, "tcp", nil)
	set := upstreams.StartAll(t)
	gw := startFresh(t, set, writeConfig(t, e2eConfig(set, auditConfig(col, syslog))))

	const flood, allowed = 40, 25
	for i := 0; i < flood; i++ {
		if resp, _ := do(t, http.MethodGet, gw.url("/api/v1/orders"), http.Header{"User-Agent": {"e2e-flood"}}, ""); resp.StatusCode != 401 {
			t.Fatalf("no key: %d", resp.StatusCode)
		}
	}
	var lastAllowedID string
	for i := 0; i < allowed; i++ {
		resp, _ := do(t, http.MethodGet, gw.url("/api/v1/orders"), http.Header{"X-Api-Key": {ordersKey}}, "")
		if resp.StatusCode != 200 {
			t.Fatalf("with the key: %d", resp.StatusCode)
		}
		lastAllowedID = resp.Header.Get("X-Request-Id")
	}
	gw.stop(t)

	evs := col.Events()
	if len(evs) != allowed+1 {
		t.Fatalf("collector holds %d events after SIGTERM, want %d allowed and 1 aggregated denial", len(evs), allowed)
	}
	if auth := col.Requests()[0].Header.Get("Authorization"); auth != "Splunk e2e-hec-token" {
		t.Errorf("collector got Authorization %q", auth)
	}
	var denial, lastAllowed map[string]any
	for _, ev := range evs {
		if ev["action"] == "Denied" {
			denial = ev
		}
		if field(ev, "metadata.correlation_uid") == lastAllowedID {
			lastAllowed = ev
		}
	}
	if denial == nil || lastAllowed == nil {
		t.Fatalf("no denial or no event for %s in %v", lastAllowedID, evs)
	}
	for _, c := range []struct{ path, want string }{
		{"class_uid", "6003"}, {"category_uid", "6"}, {"activity_id", "2"}, {"type_uid", "600302"},
		{"action_id", "2"}, {"status_id", "2"}, {"status_code", "UNAUTHENTICATED"},
		{"status_detail", "rest_refused"}, {"severity_id", "3"}, {"count", strconv.Itoa(flood)},
		{"metadata.product.name", "Portcullis"}, {"metadata.version", "1.5.0"},
		{"actor.user.uid", "anonymous"}, {"api.service.name", "orders"}, {"src_endpoint.ip", "127.0.0.1"},
		{"http_request.http_method", "GET"}, {"http_request.url.path", "/api/v1/orders"},
		{"http_request.user_agent", "e2e-flood"}, {"http_response.code", "401"}, {"unmapped.protocol", "rest"},
	} {
		if got := field(denial, c.path); got != c.want {
			t.Errorf("denial %s = %q, want %q", c.path, got, c.want)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"action", "Allowed"}, {"status_id", "1"}, {"activity_id", "2"}, {"severity_id", "1"},
		{"actor.user.uid", "apikey:e2e"}, {"actor.user.type", "api_key"}, {"actor.authorizations.0.policy.name", "orders:read"},
		{"api.operation", "listOrders"}, {"unmapped.operation_id", "listOrders"}, {"http_response.code", "200"},
		{"unmapped.cost", "5"}, // listOrders' x-portcullis-cost
	} {
		if got := field(lastAllowed, c.path); got != c.want {
			t.Errorf("allowed event %s = %q, want %q", c.path, got, c.want)
		}
	}

	msgs := syslog.Wait(t, allowed+1)
	if len(msgs) != allowed+1 {
		t.Fatalf("syslog got %d messages", len(msgs))
	}
	var sawDenial bool
	for _, m := range msgs {
		if m.Event["action"] == "Denied" {
			sawDenial = m.Priority == 13*8+4 && field(m.Event, "count") == strconv.Itoa(flood)
		}
	}
	if !sawDenial {
		t.Errorf("syslog lacks the aggregated denial (warning, count %d)", flood)
	}
	if n := strings.Count(gw.logs(), `"msg":"denied"`); n != 1 {
		t.Errorf("the log sink wrote %d denied lines for the flood, want 1", n)
	}
}

// field reads a dotted path of a decoded event as a string.
func field(m map[string]any, path string) string {
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(c) {
				return ""
			}
			cur = c[i]
		default:
			return ""
		}
	}
	if cur == nil {
		return ""
	}
	return fmt.Sprint(cur)
}

var metricLine = regexp.MustCompile(`(?m)^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$`)

// metric sums the samples of name whose labels contain every want label.
func metric(t *testing.T, adminURL, name string, want ...string) float64 {
	t.Helper()
	resp, body := get(t, adminURL+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics %d", resp.StatusCode)
	}
	sum := 0.0
	for _, m := range metricLine.FindAllSubmatch(body, -1) {
		if string(m[1]) != name {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && bytes.Contains(m[2], []byte(w))
		}
		if ok {
			v, _ := strconv.ParseFloat(string(m[3]), 64)
			sum += v
		}
	}
	return sum
}

// TestDeadSinksUnderLoad: an audit collector and an OTLP collector that
// are gone cost dropped events and spans, counted, never a refused or slow
// request.
func TestDeadSinksUnderLoad(t *testing.T) {
	dead := audittest.NewCollector(t, "ndjson")
	dead.Close()
	recv := oteltest.NewHTTP(t)
	recv.Close()
	set := upstreams.StartAll(t)
	gw := startFresh(t, set, writeConfig(t, e2eConfig(set, fmt.Sprintf(`
telemetry:
  tracing: {exporter: otlp, endpoint: %q, queue_size: 8, batch_size: 4, timeout: 200ms}
audit:
  include_allowed: true
  sinks:
    - {type: http, url: %q, queue_size: 8, batch_size: 4, max_retries: 1, timeout: 200ms}
`, recv.Endpoint, dead.URL))))
	const workers, each = 8, 40
	var wg sync.WaitGroup
	var failed sync.Map
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				req, _ := http.NewRequest(http.MethodGet, gw.url("/api/v1/orders"), nil)
				req.Header.Set("X-Api-Key", ordersKey)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					failed.Store(err.Error(), true)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Store(resp.Status, true)
				}
			}
		}()
	}
	wg.Wait()
	failed.Range(func(k, _ any) bool { t.Errorf("request failed: %v", k); return true })
	admin := "http://" + gw.adminAddr
	deadline := time.Now().Add(20 * time.Second)
	for {
		spans := metric(t, admin, "portcullis_tracing_spans_dropped_total")
		events := metric(t, admin, "portcullis_audit_dropped_total")
		if spans > 0 && events > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drops not counted: spans %v, audit events %v", spans, events)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := metric(t, admin, "portcullis_requests_total", `status="200"`); n != workers*each {
		t.Errorf("%v requests served, want %d", n, workers*each)
	}
}

// TestReloadMetrics: a failed and a good reload are counted; refusals are
// counted by route and code.
func TestReloadMetrics(t *testing.T) {
	set := upstreams.StartAll(t)
	cfgPath := writeConfig(t, e2eConfig(set, ""))
	gw := startFresh(t, set, cfgPath)
	admin := "http://" + gw.adminAddr
	good, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	do(t, http.MethodGet, gw.url("/api/v1/orders"), nil, "")
	if n := metric(t, admin, "portcullis_refusals_total", `route="orders"`, `code="UNAUTHENTICATED"`); n != 1 {
		t.Errorf("refusals_total = %v", n)
	}
	if err := os.WriteFile(cfgPath, []byte("server: {listen: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = gw.cmd.Process.Signal(syscall.SIGHUP)
	gw.waitLog(t, "reload failed")
	if err := os.WriteFile(filepath.Clean(cfgPath), good, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = gw.cmd.Process.Signal(syscall.SIGHUP)
	gw.waitLog(t, "config reloaded")
	if f, s := metric(t, admin, "portcullis_config_reloads_total", `result="failure"`), metric(t, admin, "portcullis_config_reloads_total", `result="success"`); f != 1 || s != 1 {
		t.Errorf("reloads: %v failed, %v succeeded; want 1 and 1", f, s)
	}
	if ts := metric(t, admin, "portcullis_config_last_reload_success_timestamp_seconds"); ts < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last good reload at %v", ts)
	}
}
