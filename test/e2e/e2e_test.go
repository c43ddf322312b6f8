package e2e

import (
	"bytes"
	"errors"

	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/upstreamtest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

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

func baseConfig(set *upstreams.Set, extra string) string {
	return fmt.Sprintf(`
identity:
  anonymous: true
  api_keys:
    # the orders document requires a bearer token or an API key
    - {name: e2e, sha256: 3b1f563a950ee31fc9352103710f37389fbdf24ad4eaf5c362c91e6f3288bc4e, scopes: [orders:read]}
`+gatewaytest.Server("max_body_bytes: 65536", "shutdown_grace: 20s")+`graphql:
`+gatewaytest.ShopRoute("%q")+`rest:
  - name: orders
    prefix: /api
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 5s}
    strip_prefix: true
%s`, set.Products.Endpoint, set.Orders.URL, extra)
}

func TestEndToEnd(t *testing.T) {
	set := upstreams.StartAll(t)
	gw := gatewaytest.Start(t, gatewaytest.WriteConfig(t, baseConfig(set, "")))

	t.Run("graphql query returns the subgraph's data", func(t *testing.T) {
		resp, body := post(t, gw.URL("/graphql"), "application/json", `{"query":"{ topProducts(first: 2) { upc name } }"}`)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"topProducts"`) || strings.Contains(string(body), `"errors"`) {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if set.Products.Recorder.Count() == 0 {
			t.Fatal("products subgraph recorded nothing")
		}
	})
	t.Run("rest call returns the service's data", func(t *testing.T) {
		resp, body := get(t, gw.URL("/api/v1/orders"))
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
		resp, body := get(t, gw.URL("/admin/secrets"))
		if resp.StatusCode != 404 || gatewaytest.FirstCode(t, body) != "NOT_FOUND" {
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
		resp, body := post(t, gw.URL("/graphql"), "application/json", big)
		if resp.StatusCode != 413 || gatewaytest.FirstCode(t, body) != "REQUEST_TOO_LARGE" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if set.Products.Recorder.Count() != 0 {
			t.Fatal("oversized body reached the upstream")
		}
	})
	t.Run("admin endpoints", func(t *testing.T) {
		resp, _ := get(t, "http://"+gw.AdminAddr()+"/healthz")
		if resp.StatusCode != 200 {
			t.Fatalf("healthz %d", resp.StatusCode)
		}
		// startGateway waited for readiness: it must hold.
		if resp, body := get(t, "http://"+gw.AdminAddr()+"/readyz"); resp.StatusCode != 200 {
			t.Fatalf("readyz %d: %s", resp.StatusCode, body)
		}
		_, metrics := get(t, "http://"+gw.AdminAddr()+"/metrics")
		if !bytes.Contains(metrics, []byte(`portcullis_requests_total{decision="allow",route="shop",status="200"}`)) {
			t.Fatalf("metrics lack the GraphQL request:\n%s", metrics)
		}
	})
	t.Run("access log is JSON with the request's facts", func(t *testing.T) {
		out := gw.AccessLog()
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
		resp, body := post(t, gw.URL("/graphql"), "application/json", `{"query":"{ topProducts { upc } }"}`)
		code := gatewaytest.FirstCode(t, body)
		if !(resp.StatusCode == 503 && code == "UPSTREAM_UNAVAILABLE" || resp.StatusCode == 502 && code == "UPSTREAM_ERROR") {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if strings.Contains(string(body), "127.0.0.1") {
			t.Fatalf("upstream address leaked: %s", body)
		}
		resp, _ = get(t, gw.URL("/api/v1/orders"))
		if resp.StatusCode != 200 {
			t.Fatalf("REST after upstream death: %d", resp.StatusCode)
		}
	})
}

// TestGracefulShutdown: a request in flight when SIGTERM arrives completes
// with 200, new connections are refused, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	set := upstreams.StartAll(t)
	slow := upstreamtest.StartHeld(t, `{"slow":true}`)
	cfg := baseConfig(set, fmt.Sprintf(`  - name: slow
    prefix: /slow
    openapi: specs/orders.yaml
    upstream: {url: %q, timeout: 30s}
`, slow.URL))
	gw := gatewaytest.Start(t, gatewaytest.WriteConfig(t, cfg))

	type result struct {
		status int
		body   string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, gw.URL("/slow/v1/orders"), nil)
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
	case <-slow.Arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("request never reached the slow upstream")
	}
	gw.Signal(t, syscall.SIGTERM)
	// Wait until the gateway has stopped accepting before releasing the
	// in-flight request, so the test proves the drain, not a race.
	gw.WaitLog(t, "shutting down")
	slow.Release()
	r := <-res
	if r.err != nil || r.status != 200 || r.body != `{"slow":true}` {
		t.Fatalf("in-flight request: %+v", r)
	}
	if err := gw.Wait(t); err != nil {
		t.Fatalf("exit: %v\n%s", err, gw.Logs())
	}
}

func TestCheckCommand(t *testing.T) {
	configs, _ := filepath.Glob(filepath.Join(gatewaytest.Root(t), "configs", "*.yaml"))
	if len(configs) == 0 {
		t.Fatal("no configs/*.yaml")
	}
	for _, c := range configs {
		t.Run(filepath.Base(c), func(t *testing.T) {
			out, err := exec.Command(gatewaytest.Binary(), "check", "-c", c).CombinedOutput()
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
			cmd := exec.Command(gatewaytest.Binary(), "check", "-c", filepath.Join("..", "testdata", b.file))
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("check exit %v, want 1:\n%s", err, out)
			}
			for _, k := range b.keys {
				if !strings.Contains(string(out), k+":") {
					t.Errorf("output does not name %s:\n%s", k, out)
				}
			}
		})
	}
	if out, err := exec.Command(gatewaytest.Binary(), "check", "--help").CombinedOutput(); err != nil || !strings.Contains(string(out), "-c") {
		t.Errorf("check --help: %v %s", err, out)
	}
}
