package e2e

import (
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

// TestReload: SIGHUP swaps in a changed config without dropping the
// listener; a broken config is refused and the running one keeps serving
// .
func TestReload(t *testing.T) {
	set := upstreams.StartAll(t)
	// No refill during the test, so budgets are exact.
	cfg := baseConfig(set, "") + "rate_limit:\n  tiers:\n    anonymous: {rate: 1, per: 1h, burst: 1000}\n"
	path := gatewaytest.WriteConfig(t, cfg)
	gw := gatewaytest.Start(t, path)

	remaining := func(resp *http.Response) int {
		t.Helper()
		h := resp.Header.Get("RateLimit")
		_, r, ok := strings.Cut(h, ";r=")
		if !ok {
			t.Fatalf("no RateLimit header: %q", h)
		}
		r, _, _ = strings.Cut(r, ";")
		n, err := strconv.Atoi(r)
		if err != nil {
			t.Fatalf("bad RateLimit header %q", h)
		}
		return n
	}
	resp, _ := post(t, gw.URL("/graphql"), "application/json", `{"query":"{ topProducts { upc } }"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("before reload: %d", resp.StatusCode)
	}
	r1 := remaining(resp)
	resp, _ = post(t, gw.URL("/graphql"), "application/json", `{"query":"{ topProducts { upc } }"}`)
	r2 := remaining(resp)
	cost := r1 - r2
	if cost <= 0 {
		t.Fatalf("requests cost nothing: r %d then %d", r1, r2)
	}

	// 1. A broken config is refused; the old routes keep serving.
	if err := os.WriteFile(path, []byte(cfg+"\nbogus_key: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gw.Signal(t, syscall.SIGHUP)
	gw.WaitLog(t, "reload failed; keeping the running config")
	if resp, _ := post(t, gw.URL("/graphql"), "application/json", `{"query":"{ topProducts { upc } }"}`); resp.StatusCode != 200 {
		t.Fatalf("after a bad reload: %d", resp.StatusCode)
	}

	// 2. A good config moves the GraphQL route to a new path.
	moved := strings.Replace(cfg, "path: /graphql", "path: /v2/graphql", 1)
	if err := os.WriteFile(path, []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	gw.Signal(t, syscall.SIGHUP)
	gw.WaitLog(t, "config reloaded")
	resp, _ = post(t, gw.URL("/v2/graphql"), "application/json", `{"query":"{ topProducts { upc } }"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("new path after reload: %d", resp.StatusCode)
	}
	// Both reloads kept the budget (the rate_limit section did not change):
	// two more requests were charged since r2, one between the reloads.
	if r := remaining(resp); r != r2-2*cost {
		t.Fatalf("after reload r=%d, want %d: the budget was reset", r, r2-2*cost)
	}
	if resp, _ := post(t, gw.URL("/graphql"), "application/json", `{"query":"{ topProducts { upc } }"}`); resp.StatusCode != 404 {
		t.Fatalf("old path after reload: %d, want 404", resp.StatusCode)
	}
}
