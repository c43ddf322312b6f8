package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/portcullis-gw/portcullis/gateway/audit"
	"github.com/portcullis-gw/portcullis/gateway/audit/audittest"
	"github.com/portcullis-gw/portcullis/upstream/tlstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var when = time.Date(2026, 12, 3, 9, 30, 0, 123_000_000, time.UTC)

func deniedGraphQL() audit.Event {
	return audit.Event{
		Time: when, RequestID: "req-1", Route: "shop", Protocol: "graphql", Method: "POST", Path: "/graphql",
		UserAgent: "curl/8.0", ClientIP: "203.0.113.9",
		Subject: "https://issuer.example|alice", SubjectKind: "token", Issuer: "https://issuer.example",
		Scopes: []string{"orders:read", "profile"}, Decision: audit.Denied, Code: "FORBIDDEN_FIELD",
		Reason: "unauthorized_fields", Status: 403, OperationType: "query", OperationName: "Orders", Cost: 42,
		Coordinates: []string{"Query.orders", "Order.total"}, UnauthorizedPaths: []string{"orders.total"},
	}
}

func allowedREST() audit.Event {
	return audit.Event{
		Time: when, RequestID: "req-2", Route: "orders", Protocol: "rest", Method: "DELETE", Path: "/api/orders/7",
		ClientIP: "198.51.100.4", Subject: "key:e2e", SubjectKind: "api_key", Decision: audit.Allowed, Status: 204,
		OperationID: "deleteOrder", Cost: 1,
	}
}

// at reads a dotted path ("actor.user.uid", "actor.authorizations.0.policy.name").
func at(t *testing.T, m map[string]any, path string) any {
	t.Helper()
	var cur any = m
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[p]
			if !ok {
				t.Fatalf("%s: no member %q in %v", path, p, c)
			}
			cur = v
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(c) {
				t.Fatalf("%s: bad index %q", path, p)
			}
			cur = c[i]
		default:
			t.Fatalf("%s: %q is not an object", path, p)
		}
	}
	if n, ok := cur.(json.Number); ok {
		return n.String()
	}
	return cur
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return m
}

func start(t *testing.T, cfg audit.Config, reg prometheus.Registerer) *audit.Auditor {
	t.Helper()
	cfg = cfg.WithDefaults()
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	a, err := audit.New(cfg, audit.Options{Product: audit.Product{Name: "Portcullis", Vendor: "Portcullis", Version: "1.2.3"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Close(ctx)
	})
	return a
}

func closeNow(t *testing.T, a *audit.Auditor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestOCSFFields checks each mapped field of a denial delivered to a real
// HTTP collector.
func TestOCSFFields(t *testing.T) {
	col := audittest.NewCollector(t, "ndjson")
	a := start(t, audit.Config{AggregateWindow: -1, Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL,
		Headers: map[string]string{"Authorization": "Splunk secret-token"}}}}, nil)
	a.Record(deniedGraphQL())
	closeNow(t, a)
	evs := col.Wait(t, 1)
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	ev := evs[0]
	for _, c := range []struct{ path, want string }{
		{"class_uid", "6003"}, {"category_uid", "6"}, {"activity_id", "2"}, {"activity_name", "Read"},
		{"type_uid", "600302"}, {"time", fmt.Sprint(when.UnixMilli())}, {"severity_id", "3"},
		{"action_id", "2"}, {"action", "Denied"}, {"status_id", "2"}, {"status", "Failure"},
		{"status_code", "FORBIDDEN_FIELD"}, {"status_detail", "unauthorized_fields"},
		{"metadata.version", audit.OCSFVersion}, {"metadata.product.name", "Portcullis"},
		{"metadata.product.version", "1.2.3"}, {"metadata.correlation_uid", "req-1"},
		{"actor.user.uid", "https://issuer.example|alice"}, {"actor.user.type", "token"},
		{"actor.idp.name", "https://issuer.example"},
		{"actor.authorizations.0.policy.name", "orders:read"}, {"actor.authorizations.1.policy.name", "profile"},
		{"api.operation", "Orders"}, {"api.service.name", "shop"}, {"api.request.uid", "req-1"},
		{"src_endpoint.ip", "203.0.113.9"}, {"http_request.http_method", "POST"},
		{"http_request.url.path", "/graphql"}, {"http_request.user_agent", "curl/8.0"},
		{"http_response.code", "403"}, {"unmapped.cost", "42"}, {"unmapped.coordinates.1", "Order.total"},
		{"unmapped.unauthorized_paths.0", "orders.total"}, {"unmapped.graphql_operation_type", "query"},
	} {
		t.Run(c.path, func(t *testing.T) {
			if got := fmt.Sprint(at(t, ev, c.path)); got != c.want {
				t.Errorf("%s = %q, want %q", c.path, got, c.want)
			}
		})
	}
	if _, ok := ev["count"]; ok {
		t.Error("a single event carries no count")
	}
	if r := col.Requests(); r[0].Header.Get("Authorization") != "Splunk secret-token" {
		t.Errorf("configured header not sent: %v", r[0].Header)
	}
}

func TestActivityMapping(t *testing.T) {
	for _, c := range []struct {
		proto, method, opType string
		id                    string
	}{
		{"rest", "POST", "", "1"}, {"rest", "GET", "", "2"}, {"rest", "HEAD", "", "2"}, {"rest", "PUT", "", "3"},
		{"rest", "PATCH", "", "3"}, {"rest", "DELETE", "", "4"}, {"rest", "OPTIONS", "", "99"},
		{"graphql", "POST", "query", "2"}, {"graphql", "GET", "query", "2"}, {"graphql", "POST", "mutation", "3"},
		{"graphql", "POST", "subscription", "2"}, {"graphql", "POST", "", "99"},
	} {
		t.Run(c.proto+"/"+c.method+"/"+c.opType, func(t *testing.T) {
			ev := audit.Event{Time: when, Protocol: c.proto, Method: c.method, OperationType: c.opType, Decision: audit.Allowed}
			m := decode(t, audit.AppendOCSF(nil, &ev, &audit.Product{}))
			if got := at(t, m, "activity_id"); got != c.id {
				t.Errorf("activity_id = %v, want %s", got, c.id)
			}
			var id int
			fmt.Sscan(c.id, &id)
			if got := at(t, m, "type_uid"); got != fmt.Sprint(600300+id) {
				t.Errorf("type_uid = %v for activity %s", got, c.id)
			}
		})
	}
}

// TestOCSFGolden pins the whole document; go test -update rewrites it.
func TestOCSFGolden(t *testing.T) {
	agg := deniedGraphQL()
	agg.Count, agg.StartTime, agg.EndTime = 17, when, when.Add(9*time.Second)
	failed := allowedREST()
	failed.Decision, failed.Code, failed.Status, failed.Reason = audit.Failed, "UPSTREAM_UNAVAILABLE", 503, "upstream"
	for name, ev := range map[string]audit.Event{
		"denied_graphql": deniedGraphQL(), "allowed_rest": allowedREST(), "aggregated": agg, "failed_rest": failed,
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := json.Indent(&out, audit.AppendOCSF(nil, &ev, &audit.Product{Name: "Portcullis", Vendor: "Portcullis", Version: "1.2.3"}), "", "  "); err != nil {
				t.Fatal(err)
			}
			out.WriteByte('\n')
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs from %s:\n%s", name, path, out.Bytes())
			}
		})
	}
}

func TestEnvelopes(t *testing.T) {
	for _, env := range []string{"ndjson", "splunk_hec", "elasticsearch_bulk"} {
		t.Run(env, func(t *testing.T) {
			col := audittest.NewCollector(t, env)
			a := start(t, audit.Config{IncludeAllowed: true, Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL, Envelope: env}}}, nil)
			for i := 0; i < 5; i++ {
				ev := allowedREST()
				ev.RequestID = fmt.Sprint("r", i)
				a.Record(ev)
			}
			closeNow(t, a)
			evs := col.Wait(t, 5)
			if len(evs) != 5 || at(t, evs[4], "metadata.correlation_uid") != "r4" {
				t.Fatalf("got %v", evs)
			}
		})
	}
}

func TestRetryThenDeliver(t *testing.T) {
	col := audittest.NewCollector(t, "ndjson")
	col.FailWith(func(n int) int {
		if n <= 2 {
			return 503
		}
		return 0
	})
	a := start(t, audit.Config{AggregateWindow: -1, Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL, FlushInterval: time.Millisecond}}}, nil)
	a.Record(deniedGraphQL())
	col.Wait(t, 1)
	closeNow(t, a)
	st := a.Stats()[0]
	if st.Retries != 2 || st.Delivered != 1 || st.Failed != 0 {
		t.Errorf("stats = %+v, want 2 retries and 1 delivered", st)
	}
}

func TestRefusedBatchIsNotRetried(t *testing.T) {
	col := audittest.NewCollector(t, "ndjson")
	col.FailWith(func(int) int { return 400 })
	a := start(t, audit.Config{AggregateWindow: -1, Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL}}}, nil)
	a.Record(deniedGraphQL())
	closeNow(t, a)
	if st := a.Stats()[0]; st.Retries != 0 || st.Failed != 1 {
		t.Errorf("stats = %+v, want the batch dropped without retry", st)
	}
}

// TestAggregation: a refusal flood becomes one event with OCSF's count;
// another subject keeps its own event.
func TestAggregation(t *testing.T) {
	col := audittest.NewCollector(t, "ndjson")
	a := start(t, audit.Config{AggregateWindow: time.Hour, Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL}}}, nil)
	for i := 0; i < 50; i++ {
		ev := deniedGraphQL()
		ev.RequestID = fmt.Sprint("flood-", i)
		ev.Time = when.Add(time.Duration(i) * time.Millisecond)
		a.Record(ev)
	}
	other := deniedGraphQL()
	other.Subject = "key:other"
	a.Record(other)
	closeNow(t, a)
	evs := col.Wait(t, 2)
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	counts := map[string]string{}
	for _, ev := range evs {
		c := "1"
		if _, ok := ev["count"]; ok {
			c = fmt.Sprint(at(t, ev, "count"))
			if at(t, ev, "start_time") != fmt.Sprint(when.UnixMilli()) || at(t, ev, "end_time") != fmt.Sprint(when.Add(49*time.Millisecond).UnixMilli()) {
				t.Errorf("aggregated event spans %v..%v", ev["start_time"], ev["end_time"])
			}
		}
		counts[fmt.Sprint(at(t, ev, "actor.user.uid"))] = c
	}
	if counts["https://issuer.example|alice"] != "50" || counts["key:other"] != "1" {
		t.Errorf("counts = %v", counts)
	}
}

func TestAllowedOnlyWhenIncluded(t *testing.T) {
	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprint(include), func(t *testing.T) {
			col := audittest.NewCollector(t, "ndjson")
			a := start(t, audit.Config{IncludeAllowed: include, Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL}}}, nil)
			if a.Wants(audit.Allowed) != include || !a.Wants(audit.Denied) {
				t.Fatal("Wants disagrees with include_allowed")
			}
			a.Record(allowedREST())
			closeNow(t, a)
			if n := len(col.Events()); (n == 1) != include {
				t.Errorf("include_allowed=%v delivered %d events", include, n)
			}
		})
	}
	var nilAuditor *audit.Auditor
	if nilAuditor.Wants(audit.Denied) {
		t.Error("a nil auditor wants nothing")
	}
}

func TestSyslog(t *testing.T) {
	ca := tlstest.NewCA(t)
	for _, c := range []struct{ name, network, scheme string }{
		{"tcp", "tcp", "tcp"}, {"tls", "tcp", "tls"}, {"udp", "udp", "udp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var srv *audittest.Syslog
			sc := audit.SinkConfig{Type: "syslog"}
			if c.scheme == "tls" {
				srv = audittest.NewSyslog(t, "tcp", ca.ServerConfig(t, "127.0.0.1"))
				sc.CAFile = ca.CertFile
			} else {
				srv = audittest.NewSyslog(t, c.network, nil)
			}
			sc.Address = c.scheme + "://" + srv.Addr
			a := start(t, audit.Config{IncludeAllowed: true, AggregateWindow: -1, Sinks: []audit.SinkConfig{sc}}, nil)
			a.Record(deniedGraphQL())
			a.Record(allowedREST())
			closeNow(t, a)
			ms := srv.Wait(t, 2)
			// Facility 13 (log audit): warning (4) for a denial, informational (6) otherwise.
			if ms[0].Priority != 13*8+4 || ms[1].Priority != 13*8+6 {
				t.Errorf("priorities %d, %d", ms[0].Priority, ms[1].Priority)
			}
			if ms[0].App != "portcullis" || ms[0].ID != "ocsf-6003" || ms[0].StructuredData != "-" {
				t.Errorf("header %+v", ms[0])
			}
			if at(t, ms[0].Event, "status_code") != "FORBIDDEN_FIELD" || at(t, ms[1].Event, "activity_id") != "4" {
				t.Errorf("events %v / %v", ms[0].Event, ms[1].Event)
			}
		})
	}
	t.Run("tls refuses an unknown CA", func(t *testing.T) {
		other := tlstest.NewCA(t)
		srv := audittest.NewSyslog(t, "tcp", ca.ServerConfig(t, "127.0.0.1"))
		a := start(t, audit.Config{AggregateWindow: -1, Sinks: []audit.SinkConfig{{Type: "syslog", Address: "tls://" + srv.Addr,
			CAFile: other.CertFile, MaxRetries: 1}}}, nil)
		a.Record(deniedGraphQL())
		closeNow(t, a)
		if len(srv.Messages()) != 0 || a.Stats()[0].Failed != 1 {
			t.Errorf("delivered over an unverified connection: %+v", a.Stats()[0])
		}
	})
}

// TestFileReopen: after logrotate renames the file, Reopen starts a new
// one at the configured path and nothing is lost.
func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	a := start(t, audit.Config{AggregateWindow: -1, Sinks: []audit.SinkConfig{{Type: "file", Path: path, FlushInterval: time.Millisecond}}}, nil)
	a.Record(deniedGraphQL())
	waitLines(t, path, 1)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	a.Reopen()
	waitFile(t, path)
	a.Record(allowedREST())
	second := deniedGraphQL()
	second.RequestID = "req-3"
	a.Record(second)
	closeNow(t, a)
	if old := waitLines(t, path+".1", 1); len(old) != 1 {
		t.Errorf("rotated file holds %d lines", len(old))
	}
	lines := waitLines(t, path, 1)
	if len(lines) != 1 || at(t, decode(t, []byte(lines[0])), "metadata.correlation_uid") != "req-3" {
		t.Errorf("new file holds %q", lines)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reappeared", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitLines(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(b) > 0 && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %d lines", path, b, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeadSink: a collector that is gone never holds Record up; what
// cannot be delivered is counted.
func TestDeadSink(t *testing.T) {
	col := audittest.NewCollector(t, "ndjson")
	col.Close()
	reg := prometheus.NewRegistry()
	a := start(t, audit.Config{AggregateWindow: -1, Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL, QueueSize: 10, BatchSize: 5, MaxRetries: 1}}}, reg)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				a.Record(deniedGraphQL())
			}
		}()
	}
	wg.Wait()
	closeNow(t, a)
	st := a.Stats()[0]
	if st.Delivered != 0 || st.QueueFull+st.Failed != 2000 || st.QueueFull == 0 {
		t.Errorf("stats = %+v, want all 2000 dropped and counted", st)
	}
	if got := testutil.ToFloat64(dropped(t, reg, "queue_full")); got != float64(st.QueueFull) {
		t.Errorf("portcullis_audit_dropped_total{reason=queue_full} = %v, stats say %d", got, st.QueueFull)
	}
}

func dropped(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "portcullis_audit_dropped_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
					c.Add(m.GetCounter().GetValue())
					return c
				}
			}
		}
	}
	t.Fatalf("no portcullis_audit_dropped_total{reason=%q}", reason)
	return nil
}

// TestCloseFlushes: events still queued or held for aggregation at
// shutdown are delivered by Close.
func TestCloseFlushes(t *testing.T) {
	col := audittest.NewCollector(t, "ndjson")
	a := start(t, audit.Config{IncludeAllowed: true, AggregateWindow: time.Hour,
		Sinks: []audit.SinkConfig{{Type: "http", URL: col.URL, BatchSize: 1000, FlushInterval: time.Hour}}}, nil)
	for i := 0; i < 500; i++ {
		ev := allowedREST()
		ev.RequestID = fmt.Sprint("r", i)
		a.Record(ev)
	}
	a.Record(deniedGraphQL())
	closeNow(t, a)
	if n := len(col.Events()); n != 501 {
		t.Errorf("collector holds %d events after Close, want 501", n)
	}
	a.Record(deniedGraphQL()) // after Close: dropped, never a panic
}

func TestConfigValidate(t *testing.T) {
	neg := -1
	for _, c := range []struct {
		name string
		sink audit.SinkConfig
		want string
	}{
		{"unknown type", audit.SinkConfig{Type: "kafka"}, "sinks[0].type: must be log, http, syslog or file"},
		{"http without url", audit.SinkConfig{Type: "http"}, "sinks[0].url: is required"},
		{"http relative url", audit.SinkConfig{Type: "http", URL: "/ingest"}, "sinks[0].url: must be an absolute"},
		{"bad envelope", audit.SinkConfig{Type: "http", URL: "http://x", Envelope: "xml"}, "sinks[0].envelope"},
		{"bad format", audit.SinkConfig{Type: "log", Format: "cef"}, "sinks[0].format: must be ocsf"},
		{"syslog scheme", audit.SinkConfig{Type: "syslog", Address: "http://x:1"}, "sinks[0].address: scheme"},
		{"syslog port", audit.SinkConfig{Type: "syslog", Address: "tcp://x"}, "sinks[0].address: must name a port"},
		{"ca on tcp", audit.SinkConfig{Type: "syslog", Address: "tcp://x:1", CAFile: "ca.pem"}, "sinks[0].ca_file"},
		{"facility", audit.SinkConfig{Type: "syslog", Address: "udp://x:1", Facility: &neg}, "sinks[0].facility"},
		{"file without path", audit.SinkConfig{Type: "file"}, "sinks[0].path"},
		{"queue", audit.SinkConfig{Type: "log", QueueSize: -5}, "sinks[0].queue_size"},
		{"name", audit.SinkConfig{Type: "log", Name: "a b"}, "sinks[0].name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			errs := audit.Config{Sinks: []audit.SinkConfig{c.sink}}.WithDefaults().Validate()
			if len(errs) == 0 || !strings.Contains(errs[0].Error(), c.want) {
				t.Errorf("errors %v, want %q", errs, c.want)
			}
		})
	}
	if errs := (audit.Config{}).WithDefaults().Validate(); len(errs) != 0 {
		t.Errorf("the default config is invalid: %v", errs)
	}
	d := audit.Config{Sinks: []audit.SinkConfig{{Type: "http", URL: "http://a"}, {Type: "http", URL: "http://b"}}}.WithDefaults()
	if d.Sinks[0].Name != "http-0" || d.Sinks[1].Name != "http-1" {
		t.Errorf("default names %q %q", d.Sinks[0].Name, d.Sinks[1].Name)
	}
}

func TestLogSink(t *testing.T) {
	var buf syncBuffer
	cfg := audit.Config{AggregateWindow: -1}.WithDefaults()
	a, err := audit.New(cfg, audit.Options{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	a.Record(deniedGraphQL())
	closeNow(t, a)
	m := decode(t, []byte(buf.String()))
	if m["msg"] != "denied" || m["audit"] != true || m["request_id"] != "req-1" || m["code"] != "FORBIDDEN_FIELD" {
		t.Errorf("log line %v", m)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// FuzzOCSF: whatever a client puts in the path, user agent or operation
// name, the event stays one valid JSON object holding it exactly (invalid
// UTF-8 aside).
func FuzzOCSF(f *testing.F) {
	for _, s := range []string{"/graphql", "\"}\n{\"x\":1", "\xff\xfe", "\u2028", "\x00\x1f"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, path, ua string) {
		ev := deniedGraphQL()
		ev.Path, ev.UserAgent, ev.OperationName = path, ua, ua
		b := audit.AppendOCSF(nil, &ev, &audit.Product{})
		if bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("raw line break in %q", b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("invalid JSON %v: %q", err, b)
		}
		got := m["http_request"].(map[string]any)["url"].(map[string]any)["path"]
		if string([]rune(path)) != got {
			t.Fatalf("path %q came back as %q", path, got)
		}
	})
}
