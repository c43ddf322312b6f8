package resilience

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/internal/testkit/redistest"
	"github.com/portcullis-gw/portcullis/policy/authn/oidctest"
)

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(gatewaytest.Binary(), append([]string{"check"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// checkOnlineConfig names a Redis, an identity provider, a GraphQL upstream,
// a REST pool (one endpoint alive, one not) and, when subgraphURL is set, a
// second route whose subgraph is fetched over HTTP.
func checkOnlineConfig(t *testing.T, redisAddr, issuer, gqlUpstream, restAlive, restDead, subgraphURL string, collectors ...string) string {
	t.Helper()
	collectors = append(collectors, "")
	second := ""
	if subgraphURL != "" {
		second = fmt.Sprintf(`
  - name: remote
    path: /remote
    upstream: {url: %q, timeout: 5s}
    schema:
      subgraphs:
        - {name: items, url: %q}
`, gqlUpstream, subgraphURL)
	}
	yaml := fmt.Sprintf(`
server:
  listen: 127.0.0.1:0
  admin_listen: 127.0.0.1:0
identity:
  anonymous: true
  oidc:
    - {issuer: %q, audiences: [shop-api]}
rate_limit:
  store: redis
  redis: {address: %q, password: secret-for-check, db: 3}
graphql:
  - name: shop
    path: /graphql
    upstream: {url: %q, timeout: 5s}
    schema:
      subgraphs:
        - {name: items, file: resil/schema.graphql}
%s
rest:
  - name: items
    prefix: /api
    openapi: resil/api.yaml
    upstream: {urls: [%q, %q], timeout: 5s}
%s`, issuer, redisAddr, gqlUpstream, second, restAlive, restDead, collectors[0])
	path := gatewaytest.WriteConfig(t, yaml)
	if err := os.CopyFS(filepath.Join(filepath.Dir(path), "resil"), os.DirFS(filepath.Join("testdata", "resil"))); err != nil {
		t.Fatal(err)
	}
	return path
}

// check --online names every unreachable dependency by its key path and
// exits 1; plain check stays offline and passes the same config.
func TestCheckOnline(t *testing.T) {
	alive := rsvStartBackend(t)
	dead := "http://" + deadAddr(t)
	collectors := fmt.Sprintf(`audit:
  sinks:
    - {type: http, url: %q}
telemetry:
  tracing: {exporter: otlp, endpoint: %q}
`, dead+"/audit", dead)
	cfg := checkOnlineConfig(t, deadAddr(t), "http://"+deadAddr(t), dead+"/graphql", alive.url(), dead, dead+"/graphql", collectors)

	code, out := runCheck(t, "-c", checkOnlineConfig(t, deadAddr(t), "http://"+deadAddr(t), dead+"/graphql", alive.url(), dead, ""))
	if code != 0 || !strings.Contains(out, ": ok") {
		t.Fatalf("plain check must not connect to anything: exit %d\n%s", code, out)
	}

	code, out = runCheck(t, "-c", cfg, "--online")
	if code != 1 {
		t.Fatalf("check --online with dead dependencies: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"rate_limit.redis: pinging Redis",
		"identity.oidc[0]: ",
		"graphql[0].upstream: pinging upstream " + strings.TrimPrefix(dead, "http://"),
		"graphql[1].schema: ",
		"rest[0].upstream: pinging upstream " + strings.TrimPrefix(dead, "http://"),
		"audit.sinks[0]: connecting to " + strings.TrimPrefix(dead, "http://"),
		"telemetry.tracing.endpoint: connecting to ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check --online output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, alive.addr) {
		t.Errorf("the reachable REST endpoint was reported:\n%s", out)
	}
	if strings.Contains(out, "secret-for-check") {
		t.Errorf("the Redis password leaked into the report:\n%s", out)
	}
}

func TestCheckOnlineAllReachable(t *testing.T) {
	rc := redistest.StartChild(t)
	idp := oidctest.NewIssuer(t)
	up := rsvStartBackend(t)
	other := rsvStartBackend(t)
	cfg := checkOnlineConfig(t, rc.Addr(), idp.URL(), up.url()+"/graphql", up.url(), other.url(), "")
	if code, out := runCheck(t, "-c", cfg, "--online"); code != 0 || !strings.Contains(out, ": ok") {
		t.Fatalf("everything reachable: exit %d\n%s", code, out)
	}
}
