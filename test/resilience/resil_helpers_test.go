package resilience

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
)

// rsvBackend is one endpoint of a pooled back end: a real HTTP server on a
// loopback port of its own that a test can kill (listener and every
// connection closed at once, as a crash looks to the gateway), bring back
// on the same port, make fail or make slow.
type rsvBackend struct {
	t    *testing.T
	addr string

	mu  sync.Mutex
	srv *http.Server

	hits      atomic.Int64 // requests of any kind
	mutations atomic.Int64 // GraphQL mutations and REST POST /items
	status    atomic.Int64 // 0: answer 200
	delay     atomic.Int64 // nanoseconds to wait before answering
}

func rsvStartBackend(t *testing.T) *rsvBackend {
	t.Helper()
	b := &rsvBackend{t: t, addr: "127.0.0.1:0"}
	b.start()
	t.Cleanup(b.kill)
	return b
}

func (b *rsvBackend) url() string { return "http://" + b.addr }

func (b *rsvBackend) start() {
	b.t.Helper()
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		b.t.Fatalf("listening on %s: %v", b.addr, err)
	}
	b.addr = ln.Addr().String()
	srv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// kill closes the listener and every connection, in flight or idle.
func (b *rsvBackend) kill() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (b *rsvBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.hits.Add(1)
	if bytes.Contains(body, []byte("mutation")) || r.Method == http.MethodPost && r.URL.Path == "/items" {
		b.mutations.Add(1)
	}
	if d := b.delay.Load(); d > 0 {
		select {
		case <-time.After(time.Duration(d)):
		case <-r.Context().Done():
			return
		}
	}
	if s := b.status.Load(); s != 0 {
		if strings.HasPrefix(r.URL.Path, "/graphql") {
			// A GraphQL server's failure is still a GraphQL response; the
			// gateway replaces anything else with a 502 of its own
			// (docs/governance.md, "Nothing leaks back").
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(int(s))
			_, _ = io.WriteString(w, `{"errors":[{"message":"unavailable"}]}`)
			return
		}
		w.WriteHeader(int(s))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if strings.HasPrefix(r.URL.Path, "/graphql") {
		_, _ = io.WriteString(w, `{"data":{"item":"x"}}`)
		return
	}
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// rsvConfig is a gateway with one GraphQL and one REST route, each in front
// of the same pool of endpoints; pool is the YAML inside each upstream block
// beside urls and timeout, identity the identity section's body (default:
// anonymous only), extra more top-level sections.
func rsvConfig(t *testing.T, bs []*rsvBackend, pool, identity, extra string) string {
	t.Helper()
	var gql, rest []string
	for _, b := range bs {
		gql = append(gql, fmt.Sprintf("%q", b.url()+"/graphql"))
		rest = append(rest, fmt.Sprintf("%q", b.url()))
	}
	if identity == "" {
		identity = "  anonymous: true\n"
	}
	if !strings.Contains(extra, "rate_limit:") {
		extra += "\nrate_limit:\n  tiers:\n    anonymous: {rate: 100000, per: 1s, burst: 100000}\n"
	}
	yaml := fmt.Sprintf(`
identity:
%sserver:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
  shutdown_grace: 5s
graphql:
  - name: shop
    path: /graphql
    upstream: {urls: [%s], timeout: 5s%s}
    schema:
      subgraphs:
        - {name: items, file: resil/schema.graphql}
rest:
  - name: items
    prefix: /api
    openapi: resil/api.yaml
    upstream: {urls: [%s], timeout: 5s%s}
    strip_prefix: true
%s`, identity, strings.Join(gql, ", "), pool, strings.Join(rest, ", "), pool, extra)
	path := gatewaytest.WriteConfig(t, yaml)
	if err := os.CopyFS(filepath.Join(filepath.Dir(path), "resil"), os.DirFS(filepath.Join("testdata", "resil"))); err != nil {
		t.Fatal(err)
	}
	return path
}

// rsvClient keeps connections to the gateway alive across requests, as a
// load balancer does.
var rsvClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

// rsvQuery sends a GraphQL query (idempotent) and returns the status; err
// is a transport failure (reset, refused), never an HTTP status.
func rsvQuery(gw *gatewaytest.Gateway) (int, error) {
	return rsvDo(gw, http.MethodPost, "/graphql", `{"query":"{ item }"}`)
}

func rsvMutation(gw *gatewaytest.Gateway) (int, error) {
	return rsvDo(gw, http.MethodPost, "/graphql", `{"query":"mutation { bump }"}`)
}

func rsvDo(gw *gatewaytest.Gateway, method, path, body string) (int, error) {
	req, err := http.NewRequest(method, gw.URL(path), strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := rsvClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// rsvReadyz is /readyz?verbose decoded.
type rsvReadyz struct {
	Status     string   `json:"status"`
	WaitingFor []string `json:"waiting_for"`
	Upstreams  []struct {
		Route     string `json:"route"`
		Breaker   string `json:"breaker"`
		Retries   int    `json:"retries"`
		Endpoints []struct {
			Address   string `json:"address"`
			State     string `json:"state"`
			LastError string `json:"last_error"`
			Ejections int    `json:"ejections"`
		} `json:"endpoints"`
	} `json:"upstreams"`
}

func rsvReady(t *testing.T, gw *gatewaytest.Gateway) (int, rsvReadyz) {
	t.Helper()
	resp, err := http.Get("http://" + gw.AdminAddr() + "/readyz?verbose")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rz rsvReadyz
	if err := json.NewDecoder(resp.Body).Decode(&rz); err != nil {
		t.Fatalf("decoding /readyz?verbose: %v", err)
	}
	return resp.StatusCode, rz
}

// rsvWait polls cond up to a generous bound; it never asserts how long
// anything took.
func rsvWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rsvLoad sends queries from workers goroutines until stop is closed and
// counts what the clients saw.
type rsvLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
	stop       chan struct{}
	once       sync.Once
	wg         sync.WaitGroup
}

func rsvStartLoad(gw *gatewaytest.Gateway, workers int, send func(*gatewaytest.Gateway) (int, error)) *rsvLoad {
	l := &rsvLoad{stop: make(chan struct{})}
	for range workers {
		l.wg.Go(func() {
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				code, err := send(gw)
				if err == nil && code == http.StatusOK {
					l.ok.Add(1)
					continue
				}
				l.failed.Add(1)
				l.mu.Lock()
				if len(l.failures) < 20 {
					l.failures = append(l.failures, fmt.Sprintf("status %d err %v", code, err))
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *rsvLoad) finish() {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
}

// finishOnce stops the load if a failed test left it running.
func (l *rsvLoad) finishOnce() { l.finish() }

// waitOK waits until n more requests have succeeded.
func (l *rsvLoad) waitOK(t *testing.T, n int64) {
	t.Helper()
	target := l.ok.Load() + n
	rsvWait(t, fmt.Sprintf("%d more successful requests", n), func() bool { return l.ok.Load() >= target })
}
