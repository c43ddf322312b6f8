package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/gateway"
	"github.com/portcullis-gw/portcullis/gateway/config"
	"github.com/portcullis-gw/portcullis/test/cmd/benchredis"
)

// inProcessBench is a bench whose targets are in this process: the same
// issuer, upstream, fixture config and workloads as a run, behind
// httptest servers instead of pinned children.
func inProcessBench(t testing.TB, withRedis bool) *bench {
	t.Helper()
	b := &bench{stderr: io.Discard, replies: newReplies()}
	var err error
	if b.issuer, err = newIssuer(); err != nil {
		t.Fatal(err)
	}
	iss := httptest.NewServer(b.issuer.handler())
	t.Cleanup(iss.Close)
	b.issuer.url = iss.URL
	up := httptest.NewServer(upstreamHandler(b.replies))
	t.Cleanup(up.Close)
	b.upURL = up.URL
	if b.toks.full, err = b.issuer.token("reader", "books:read", "users:email", "orders:read", "orders:write"); err != nil {
		t.Fatal(err)
	}
	if b.toks.narrow, err = b.issuer.token("guest", "books:read", "orders:read"); err != nil {
		t.Fatal(err)
	}
	b.workloads = workloads(b.toks, b.replies)
	bare, err := bareProxy(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	bs := httptest.NewServer(bare)
	t.Cleanup(bs.Close)
	b.bare = &child{name: "bare-proxy", url: bs.URL}
	b.gateway, b.cfgFile = startInProcessGateway(t, b, "portcullis", "store: memory")
	if withRedis {
		rd, err := benchredis.Open(context.Background(), redisURL())
		if err != nil {
			t.Fatalf("this test needs Redis (start redis-server on 127.0.0.1:6379, or set REDIS_URL): %v", err)
		}
		t.Cleanup(rd.Close)
		b.redis = rd
		b.redisGW, _ = startInProcessGateway(t, b, "portcullis-redis", rd.StoreYAML())
	}
	return b
}

func startInProcessGateway(t testing.TB, b *bench, name, store string) (*child, string) {
	t.Helper()
	file, err := writeGatewayConfig(t.TempDir(), map[string]string{
		"listen": "127.0.0.1:0", "admin": "127.0.0.1:0", "issuer": b.issuer.url, "upstream": b.upURL, "store": store,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("the fixture config does not load: %v", err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gw, err := gateway.New(cfg, gateway.WithLogger(quiet), gateway.WithAccessLog(io.Discard))
	if err != nil {
		t.Fatalf("the fixture config does not build a gateway: %v", err)
	}
	t.Cleanup(gw.Close)
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return &child{name: name, url: srv.URL}, file
}

// TestWorkloadsPassAndRefusalsRefuse runs the run's own check against the
// fixture config: every workload reaches the upstream through the bare
// proxy and both gateways, and every refusal (no or forged token, a missing
// scope in filter mode, a CEL policy on an argument, cost, depth, OpenAPI
// parameters, body and security) is answered by the gateway.
func TestWorkloadsPassAndRefusalsRefuse(t *testing.T) {
	b := inProcessBench(t, true)
	if err := b.check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCheckRefusesAPlainProxy: a "gateway" that checks nothing must fail
// the check, or a misconfigured run would be measured as a fast gateway.
func TestCheckRefusesAPlainProxy(t *testing.T) {
	b := inProcessBench(t, false)
	b.gateway = &child{name: "impostor", url: b.bare.url}
	if err := b.check(context.Background()); err == nil {
		t.Fatal("the check accepted the bare proxy as the gateway")
	}
	// A gateway that only limits rates: the refusals still catch it.
	b = inProcessBench(t, false)
	lenient := b.workloads[0]
	lenient.Refusals = append(lenient.Refusals, refusal{Why: "a request the gateway passes", Method: http.MethodPost,
		Path: "/graphql", Header: lenient.Header, Body: lenient.Body, Status: http.StatusForbidden})
	b.workloads = []workload{lenient}
	if err := b.check(context.Background()); err == nil || !strings.Contains(err.Error(), "a request the gateway passes") {
		t.Fatalf("check = %v, want the failed refusal", err)
	}
}

// TestAllocs: the in-process allocation figures are taken, and the gateway
// allocates more than the proxy it adds checks to (a figure of 0 would mean
// the measurement missed the request path).
func TestAllocs(t *testing.T) {
	b := inProcessBench(t, false)
	b.workloads = selectWorkloads(b.workloads, "medium query,REST GET")
	rows, err := measureAllocs(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for _, r := range rows {
		if r.bare <= 0 || r.gw <= r.bare {
			t.Errorf("%s: bare %.0f, gateway %.0f allocations per request", r.name, r.bare, r.gw)
		}
	}
	if rows[0].goal != allocGoal || rows[1].goal != 0 {
		t.Errorf("goals %v, %v: only the medium query has one", rows[0].goal, rows[1].goal)
	}
}

// TestWrkScript drives an upstream through the generated Lua script with
// the real wrk: the summary line is read, every request carries the
// workload's method, headers and body, and a varying workload's documents
// never repeat, within a run or across runs.
func TestWrkScript(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Fatal("this test needs wrk: apt-get install -y wrk")
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Fatal("this test needs taskset: apt-get install -y util-linux")
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Type") != "application/json" {
			bad = append(bad, r.Method+" "+r.Header.Get("Authorization"))
		}
		seen[string(body)]++
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	l := &loader{wrk: wrk, taskset: taskset, core: "0", connections: 4, dir: t.TempDir(), scripts: map[string]string{}}
	w := workload{Name: "vary", Method: http.MethodPost, Path: "/x", Header: jsonHeader("tok"),
		Body: []byte(`{"query":"{ a(n: \"` + varyMarker + `\") }"}`), Vary: true}
	var total int
	for range 2 {
		r, err := l.run(context.Background(), w, srv.URL, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if r.requests == 0 || r.errors != 0 || r.p99 < r.p50 || r.elapsed <= 0 {
			t.Fatalf("wrk run %+v", r)
		}
		total += r.requests
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("requests without the workload's method or headers: %q", bad[:min(3, len(bad))])
	}
	for body, n := range seen {
		if n > 1 {
			t.Fatalf("body %s sent %d times", body, n)
		}
		if strings.Contains(body, varyMarker) || !strings.HasPrefix(body, `{"query":"{ a(n: \"`) {
			t.Fatalf("body %s is not the workload's with a counter", body)
		}
	}
	// wrk counts only answers it read whole; the upstream may have seen a
	// few more before the run stopped.
	if len(seen) < total {
		t.Fatalf("the upstream saw %d distinct bodies for %d requests", len(seen), total)
	}
}

func TestParseWrk(t *testing.T) {
	out := []byte("Running 1s test @ http://x\n  1 threads and 16 connections\nCOREBENCH 1000 2000000 1 2 3 4 5 812 4096\n")
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := wrkRun{requests: 1000, elapsed: 2 * time.Second, errors: 15, p50: 812 * time.Microsecond, p99: 4096 * time.Microsecond}
	if r != want {
		t.Fatalf("parseWrk = %+v, want %+v", r, want)
	}
	if r.rps() != 500 {
		t.Fatalf("rps = %v", r.rps())
	}
	for _, bad := range []string{"", "COREBENCH 1 2 3\n", "COREBENCH a 2 3 4 5 6 7 8 9\n"} {
		if _, err := parseWrk([]byte(bad)); err == nil {
			t.Errorf("parseWrk(%q) accepted it", bad)
		}
	}
}

func TestSelectWorkloads(t *testing.T) {
	ws := workloads(tokens{full: "a.b.cdef", narrow: "a.b.cdef"}, newReplies())
	tests := []struct {
		only string
		want []string
	}{
		{"", []string{"small query", "medium query", "large query", "REST GET", "REST POST (1 KB validated body)", "medium, new document each request"}},
		{"small", []string{"small query"}},
		{"medium", []string{"medium query", "medium, new document each request"}},
		{"rest, LARGE", []string{"large query", "REST GET", "REST POST (1 KB validated body)"}},
		{"nothing", nil},
	}
	for _, tt := range tests {
		t.Run(tt.only, func(t *testing.T) {
			var got []string
			for _, w := range selectWorkloads(ws, tt.only) {
				got = append(got, w.Name)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestReport: ratios are per round, then the median (not a ratio of
// medians), goals are judged beside each figure, and an unmeasured Redis
// row says so and is not met.
func TestReport(t *testing.T) {
	run := func(rps int, p99 time.Duration) sample {
		return sample{run: wrkRun{requests: rps, elapsed: time.Second, p50: p99 / 2, p99: p99}, cpu: 1,
			cpuPerReq: time.Second / time.Duration(rps)}
	}
	b := &bench{
		o:         options{rounds: 3, duration: time.Second, connections: 16, loadCore: 1},
		workloads: []workload{{Name: "small query", Method: "POST", Path: "/graphql", Goal: 0.9}},
		bare:      &child{name: "bare-proxy"}, gateway: &child{name: "portcullis"},
		redisSkip: "no Redis",
	}
	ms := time.Millisecond
	samples := [][][]sample{{
		{run(1000, ms), run(2000, ms), run(1000, ms)},
		{run(950, ms), run(1000, 2*ms), run(900, ms)},
	}}
	rep := b.newReport(samples)
	r := rep.rows[0]
	// per round: 0.95, 0.50, 0.90 -> median 0.90; a ratio of medians would be 0.95.
	if r.ratio != 0.90 || r.rps != 950 || r.bareRPS != 1000 || r.p99Ratio != 1 || math.Abs(r.cpuRatio-0.90) > 0.001 {
		t.Fatalf("row %+v", r)
	}
	if rep.requests != 6850 || rep.failed() {
		t.Errorf("requests %d, failed %v", rep.requests, rep.failed())
	}
	rep.errors = 7
	if !rep.failed() {
		t.Error("7 failures in 6850 requests tolerated")
	}
	var out bytes.Buffer
	rep.write(&out)
	for _, want := range []string{"small query", ">=0.90 met", "<=1.5 met", "not measured: no Redis (goal NOT met)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBodyFor(t *testing.T) {
	for _, w := range workloads(tokens{full: "a.b.cdef", narrow: "a.b.cdef"}, newReplies()) {
		if w.Vary != bytes.Contains(w.Body, []byte(varyMarker)) {
			t.Errorf("%s: Vary %v but marker present %v", w.Name, w.Vary, !w.Vary)
		}
		if w.Vary && bytes.Equal(w.bodyFor(1), w.bodyFor(2)) {
			t.Errorf("%s: bodies 1 and 2 are the same", w.Name)
		}
	}
}
