package test

import (
	"bufio"
	"bytes"

	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// binPath is the portcullis binary built once for the end-to-end tests, so
// they start the gateway exactly as a user does.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "portcullis-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "portcullis")
	build := exec.Command("go", "build", "-o", binPath, "../cmd/portcullis")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building portcullis:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `portcullis serve`.
type proc struct {
	cmd       *exec.Cmd
	addr      string
	adminAddr string
	mu        sync.Mutex
	stderr    bytes.Buffer
	stdout    bytes.Buffer
	done      chan error
}

func (p *proc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

// writeConfig writes a config file into a temp dir beside copies of the
// bundled schemas and specs, so relative paths resolve as in configs/.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"schemas", "specs"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join("..", "configs", sub))); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startGateway runs the binary and waits for its "listening" log line and
// for readiness.
func startGateway(t *testing.T, cfgPath string) *proc {
	t.Helper()
	p := startListening(t, cfgPath)
	// Wait for readiness, so the start-up work (schemas, identity
	// providers) is over before a test starts counting.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + p.adminAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			p.cmd.Process.Kill()
			t.Fatalf("gateway never became ready\n%s", p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// startListening runs the binary and waits for its "listening" log line
// only; the gateway may not be ready yet.
func startListening(t *testing.T, cfgPath string) *proc {
	t.Helper()
	p := &proc{done: make(chan error, 1)}
	p.cmd = exec.Command(binPath, "serve", "-c", cfgPath)
	p.cmd.Stdout = lockedWriter{&p.mu, &p.stdout}
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			var ev struct{ Msg, Addr, AdminAddr string }
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "listening" {
				ev.Addr, _ = m["addr"].(string)
				ev.AdminAddr, _ = m["admin_addr"].(string)
				p.mu.Lock()
				p.addr, p.adminAddr = ev.Addr, ev.AdminAddr
				p.mu.Unlock()
				close(ready)
			}
		}
	}()
	go func() { err := p.cmd.Wait(); pw.Close(); p.done <- err }()
	select {
	case <-ready:
	case err := <-p.done:
		t.Fatalf("gateway exited before listening: %v\n%s", err, p.logs())
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("gateway did not start listening\n%s", p.logs())
	}
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", p.logs())
		}
	})
	return p
}

// startFresh is startGateway followed by forgetting what the upstreams
// received so far: the gateway's start-up probes reach them too.
func startFresh(t *testing.T, set *upstreams.Set, cfgPath string) *proc {
	t.Helper()
	gw := startGateway(t, cfgPath)
	set.ResetAll()
	return gw
}

// waitLog waits up to 20s for the gateway's stderr, which is read
// asynchronously, to contain substr.
func (p *proc) waitLog(t *testing.T, substr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.logs(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("gateway never logged %s:\n%s", substr, p.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) url(path string) string { return "http://" + p.addr + path }

func post(t *testing.T, url, ct, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, ct, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// ordersKey is the e2e config's API key, which the orders document accepts.
const ordersKey = "e2e-orders-key"

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(url, "/api/") || strings.Contains(url, "/slow/") {
		req.Header.Set("X-API-Key", ordersKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func firstCode(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		Errors []struct{ Extensions map[string]any }
		Code   string
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("not JSON: %s", body)
	}
	if r.Code != "" {
		return r.Code
	}
	if len(r.Errors) == 0 {
		t.Fatalf("no errors in %s", body)
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func e2eConfig(set *upstreams.Set, extra string) string {
	return fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    # the orders document requires a bearer token or an API key
    - {name: e2e, sha256: 3b1f563a950ee31fc9352103710f37389fbdf24ad4eaf5c362c91e6f3288bc4e, scopes: [orders:read]}
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  max_body_bytes: 65536
  shutdown_grace: 20s
graphql:
  - name: shop
    path: /graphql
    upstream: {url: %q, timeout: 5s}
    schema:
      subgraphs:
        - {name: accounts, file: schemas/accounts.graphql}
        - {name: products, file: schemas/products.graphql}
        - {name: reviews, file: schemas/reviews.graphql}
rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
%s`, set.Products.Endpoint, set.Orders.URL, extra)
}

func TestEndToEnd(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := startGateway(t, writeConfig(t, e2eConfig(set, "")))

	t.Run("graphql query returns the subgraph's data", func(t *testing.T) {
		resp, body := post(t, gw.url("/graphql"), "application/json", `{"query":"{ topProducts(first: 2) { upc name } }"}`)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"topProducts"`) || strings.Contains(string(body), `"errors"`) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if set.Products.Recorder.Count() == 0 {
			t.Fatal("products subgraph recorded nothing")
		}
	})
	t.Run("rest call returns the service's data", func(t *testing.T) {
		resp, body := get(t, gw.url("/api/v1/orders"))
		if resp.StatusCode != 200 || !strings.HasPrefix(strings.TrimSpace(string(body)), "{") && !strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		reqs := set.Orders.Recorder.Requests()
		if len(reqs) == 0 || reqs[len(reqs)-1].Path != "/v1/orders" {
			t.Fatalf("orders service got %+v", reqs)
		}
	})
	t.Run("unknown path is 404 and reaches no upstream", func(t *testing.T) {
		set.ResetAll()
		resp, body := get(t, gw.url("/admin/secrets"))
		if resp.StatusCode != 404 || firstCode(t, body) != "NOT_FOUND" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		for _, s := range set.All() {
			if n := s.Recorder.Count(); n != 0 {
				t.Fatalf("%s recorded %d requests", s.Name, n)
			}
		}
	})
	t.Run("oversized body is 413", func(t *testing.T) {
		set.ResetAll()
		big := `{"query":"{ topProducts { upc } }","variables":{"x":"` + strings.Repeat("a", 70000) + `"}}`
		resp, body := post(t, gw.url("/graphql"), "application/json", big)
		if resp.StatusCode != 413 || firstCode(t, body) != "REQUEST_TOO_LARGE" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if set.Products.Recorder.Count() != 0 {
			t.Fatal("oversized body reached the upstream")
		}
	})
	t.Run("admin endpoints", func(t *testing.T) {
		resp, _ := get(t, "http://"+gw.adminAddr+"/healthz")
		if resp.StatusCode != 200 {
			t.Fatalf("healthz %d", resp.StatusCode)
		}
		// startGateway waited for readiness: it must hold.
		if resp, body := get(t, "http://"+gw.adminAddr+"/readyz"); resp.StatusCode != 200 {
			t.Fatalf("readyz %d: %s", resp.StatusCode, body)
		}
		_, metrics := get(t, "http://"+gw.adminAddr+"/metrics")
		if !bytes.Contains(metrics, []byte(`portcullis_requests_total{decision="allow",route="shop",status="200"}`)) {
			t.Fatalf("metrics lack the GraphQL request:\n%s", metrics)
		}
	})
	t.Run("access log is JSON with the request's facts", func(t *testing.T) {
		gw.mu.Lock()
		out := gw.stdout.String()
		gw.mu.Unlock()
		first, _, _ := strings.Cut(out, "\n")
		var line map[string]any
		if err := json.Unmarshal([]byte(first), &line); err != nil {
			t.Fatalf("access log line is not JSON: %q", first)
		}
		for _, k := range []string{"request_id", "method", "route", "status", "duration_ms", "decision"} {
			if _, ok := line[k]; !ok {
				t.Errorf("access log lacks %q: %s", k, first)
			}
		}
	})
	// Last: it takes the products subgraph down for good.
	t.Run("killed upstream gives 502/503 and the gateway keeps serving", func(t *testing.T) {
		set.Products.Server.Close()
		resp, body := post(t, gw.url("/graphql"), "application/json", `{"query":"{ topProducts { upc } }"}`)
		code := firstCode(t, body)
		if !(resp.StatusCode == 503 && code == "UPSTREAM_UNAVAILABLE" || resp.StatusCode == 502 && code == "UPSTREAM_ERROR") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if strings.Contains(string(body), "127.0.0.1") {
			t.Fatalf("upstream address leaked: %s", body)
		}
		resp, _ = get(t, gw.url("/api/v1/orders"))
		if resp.StatusCode != 200 {
			t.Fatalf("REST after upstream death: %d", resp.StatusCode)
		}
	})
}

// TestGracefulShutdown: a request in flight when SIGTERM arrives completes
// with 200, new connections are refused, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	set := upstreams.StartAll(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			// The gateway's readiness probe, not the request under test.
			return
		}
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"slow":true}`)
	})}
	ln := listen(t)
	go slow.Serve(ln)
	t.Cleanup(func() { slow.Close() })

	cfg := e2eConfig(set, fmt.Sprintf(`  - name: slow
    prefix: /slow
    openapi: specs/orders.yaml
    upstream: {url: "http://%s", timeout: 30s}
`, ln.Addr()))
	gw := startGateway(t, writeConfig(t, cfg))

	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, gw.url("/slow/v1/orders"), nil)
		req.Header.Set("X-API-Key", ordersKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		res <- result{status: resp.StatusCode, body: string(b)}
	}()
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("request never reached the slow upstream")
	}
	if err := gw.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Wait until the gateway has stopped accepting before releasing the
	// in-flight request, so the test proves the drain, not a race.
	gw.waitLog(t, "shutting down")
	close(release)
	r := <-res
	if r.err != nil || r.status != 200 || r.body != `{"slow":true}` {
		t.Fatalf("in-flight request: %+v", r)
	}
	select {
	case err := <-gw.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, gw.logs())
		}
		gw.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not exit after draining")
	}
}

func TestCheckCommand(t *testing.T) {
	configs, _ := filepath.Glob("../configs/*.yaml")
	if len(configs) == 0 {
		t.Fatal("no configs/*.yaml")
	}
	for _, c := range configs {
		t.Run(filepath.Base(c), func(t *testing.T) {
			out, err := exec.Command(binPath, "check", "-c", c).CombinedOutput()
			if err != nil {
				t.Fatalf("check %s: %v\n%s", c, err, out)
			}
		})
	}
	broken := []struct {
		file string
		keys []string
	}{
		{"broken-unknown-key.yaml", []string{"server.listn", "graphql[0].limtis"}},
		{"broken-duration.yaml", []string{"server.read_header_timeout", "graphql[0].upstream.timeout"}},
		{"broken-missing-file.yaml", []string{"graphql[0].schema.subgraphs[1].file", "rest[0].openapi"}},
		{"broken-negative-limit.yaml", []string{"graphql[0].limits.max_depth", "graphql[0].limits.max_cost"}},
		{"broken-everything.yaml", []string{"server.listn", "server.shutdown_grace", "graphql[0].limits.max_aliases", "graphql[0].schema.supergraph", "rest[0].prefix", "rate_limit.store"}},
	}
	for _, b := range broken {
		t.Run(b.file, func(t *testing.T) {
			cmd := exec.Command(binPath, "check", "-c", filepath.Join("testdata", b.file))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if err == nil || !errorsAs(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("check exit %v, want 1:\n%s", err, out)
			}
			for _, k := range b.keys {
				if !strings.Contains(string(out), k+":") {
					t.Errorf("output does not name %s:\n%s", k, out)
				}
			}
		})
	}
	if out, err := exec.Command(binPath, "check", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "-c") {
		t.Errorf("check --help: %v %s", err, out)
	}
}
