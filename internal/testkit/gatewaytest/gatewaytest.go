// Package gatewaytest runs the portcullis binary as a user does, for the
// end-to-end suites: Main builds it once per test binary, WriteConfig puts
// a config beside copies of the bundled schemas and specs, Start runs
// `portcullis serve` until the test ends, and Send, Do and Raw make
// requests and read the answer whole into a Reply.
package gatewaytest

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/portcullis-gw/portcullis/internal/testkit/syncbuf"
)

// The module's command; built by import path, so Main works from any
// package folder.
const command = "github.com/portcullis-gw/portcullis/cmd/portcullis"

// guard bounds every wait on the gateway process: a hang guard for a
// loaded machine, never a timing assertion.
const guard = 30 * time.Second

var binPath string

// Main is a TestMain body: it builds the gateway into a temporary folder,
// runs the tests and removes the folder. Use it as
// `func TestMain(m *testing.M) { os.Exit(gatewaytest.Main(m)) }`.
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "portcullis-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "portcullis")
	build := exec.Command("go", "build", "-o", binPath, command)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building portcullis:", err)
		return 1
	}
	return m.Run()
}

// Binary is the gateway Main built.
func Binary() string { return binPath }

// Root is the module's root folder (where go.mod is), found from the
// working directory, which `go test` sets to the package's folder.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// WriteConfig writes yaml as portcullis.yaml into a temporary folder beside
// copies of configs/schemas and configs/specs, so relative paths resolve as
// in configs/, and returns the file's path.
func WriteConfig(t testing.TB, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	root := Root(t)
	for _, sub := range []string{"schemas", "specs"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(root, "configs", sub))); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "portcullis.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// KeyHash is how a config names an API key: its SHA-256, hex-encoded.
func KeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Gateway is a running `portcullis serve`.
type Gateway struct {
	cmd       *exec.Cmd
	addr      string
	adminAddr string

	mu     sync.Mutex     // guards addr and adminAddr
	stderr syncbuf.Buffer // the JSON log
	stdout syncbuf.Buffer // the access log

	exited  chan struct{}
	exitErr error
}

// Start runs the gateway on cfgPath and returns once it listens and its
// readiness check passes (so its start-up work, loading schemas and
// identity providers' keys, is over before a test starts counting); it is
// stopped with SIGTERM when the test ends.
func Start(t testing.TB, cfgPath string) *Gateway {
	t.Helper()
	g := StartListening(t, cfgPath)
	g.waitReady(t)
	return g
}

// StartListening is Start without waiting for readiness: it returns once
// the gateway listens, for tests of what it answers before it is ready.
func StartListening(t testing.TB, cfgPath string) *Gateway {
	t.Helper()
	if binPath == "" {
		t.Fatal("gatewaytest.Start without gatewaytest.Main: add func TestMain(m *testing.M) { os.Exit(gatewaytest.Main(m)) }")
	}
	g := &Gateway{exited: make(chan struct{})}
	g.cmd = exec.Command(binPath, "serve", "-c", cfgPath)
	g.cmd.Stdout = &g.stdout
	pr, pw := io.Pipe()
	g.cmd.Stderr = pw
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go g.readLog(pr, ready)
	go func() { g.exitErr = g.cmd.Wait(); pw.Close(); close(g.exited) }()
	select {
	case <-ready:
	case <-g.exited:
		t.Fatalf("gateway exited before listening: %v\n%s", g.exitErr, g.Logs())
	case <-time.After(guard):
		_ = g.cmd.Process.Kill()
		t.Fatalf("gateway did not start listening\n%s", g.Logs())
	}
	t.Cleanup(func() {
		_ = g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.exited:
		case <-time.After(guard):
			_ = g.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("gateway log:\n%s", g.Logs())
		}
	})
	return g
}

// readLog keeps the JSON log and closes ready at the "listening" line,
// which carries the addresses the OS chose.
func (g *Gateway) readLog(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		_, _ = g.stderr.Write([]byte(line + "\n"))
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "listening" {
			g.mu.Lock()
			g.addr, _ = m["addr"].(string)
			g.adminAddr, _ = m["admin_addr"].(string)
			g.mu.Unlock()
			close(ready)
		}
	}
}

func (g *Gateway) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for {
		resp, err := http.Get(g.AdminURL("/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			_ = g.cmd.Process.Kill()
			t.Fatalf("gateway never became ready\n%s", g.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Addr is the front door's host:port.
func (g *Gateway) Addr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.addr
}

// AdminAddr is the admin listener's host:port.
func (g *Gateway) AdminAddr() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.adminAddr
}

// URL is path on the front door.
func (g *Gateway) URL(path string) string { return "http://" + g.Addr() + path }

// AdminURL is path on the admin listener.
func (g *Gateway) AdminURL(path string) string { return "http://" + g.AdminAddr() + path }

// Logs is the JSON log so far.
func (g *Gateway) Logs() string { return g.stderr.String() }

// AccessLog is the access log (stdout) so far.
func (g *Gateway) AccessLog() string { return g.stdout.String() }

// WaitLog waits for the JSON log, which is read asynchronously, to contain substr.
func (g *Gateway) WaitLog(t testing.TB, substr string) {
	t.Helper()
	deadline := time.Now().Add(guard)
	for !strings.Contains(g.Logs(), substr) {
		if time.Now().After(deadline) {
			t.Fatalf("gateway never logged %s:\n%s", substr, g.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Signal sends sig to the gateway (SIGHUP reloads, SIGTERM drains and stops).
func (g *Gateway) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling the gateway: %v", err)
	}
}

// Wait waits for the gateway to exit and returns how it exited.
func (g *Gateway) Wait(t testing.TB) error {
	t.Helper()
	select {
	case <-g.exited:
		return g.exitErr
	case <-time.After(guard):
		t.Fatalf("gateway did not exit\n%s", g.Logs())
		return nil
	}
}

// GenerousTier is a rate-limit tier (YAML flow map) that keeps budgets out
// of the way of tests that send many requests, or many refused ones, from
// one client.
const GenerousTier = "{rate: 100000, per: 1s, burst: 100000}"

// StartFresh is Start followed by reset (an upstream set's ResetAll): the
// gateway's start-up probes reach the upstreams too, and a test counts only
// what its own requests caused.
func StartFresh(t testing.TB, cfgPath string, reset func()) *Gateway {
	t.Helper()
	g := Start(t, cfgPath)
	reset()
	return g
}

// ShopSchema is the schema key of a GraphQL route over the three demo
// subgraphs (configs/schemas, copied by WriteConfig), as one YAML line.
const ShopSchema = "schema: {subgraphs: [{name: accounts, file: schemas/accounts.graphql}, " +
	"{name: products, file: schemas/products.graphql}, {name: reviews, file: schemas/reviews.graphql}]}"

// Server is a config's server section on OS-chosen ports, with more keys
// (YAML lines such as "shutdown_grace: 5s").
func Server(more ...string) string {
	s := "server:\n  listen: 127.0.0.1:0\n  admin_listen: 127.0.0.1:0\n"
	for _, l := range more {
		s += "  " + l + "\n"
	}
	return s
}

// ShopRoute is a graphql list item: the route shop at /graphql in front of
// upstream (a YAML scalar, or a format verb such as %q for the caller's
// Sprintf) over ShopSchema, with more keys.
func ShopRoute(upstream string, more ...string) string {
	s := "  - name: shop\n    path: /graphql\n    upstream: {url: " + upstream + ", timeout: 5s}\n    " + ShopSchema + "\n"
	for _, l := range more {
		s += "    " + l + "\n"
	}
	return s
}
