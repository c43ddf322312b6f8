package liveview_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-gw/portcullis/gateway/liveview"
	"github.com/portcullis-gw/portcullis/gateway/liveview/browsertest"
)

var screenshot = flag.Bool("screenshot", false, "write docs/images/liveview.png")

const adminToken = "admin-token-never-shown"

type fakeGateway struct {
	mu     sync.Mutex
	status liveview.Status
}

func (f *fakeGateway) Status() liveview.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func TestPageInBrowser(t *testing.T) {
	stats := liveview.NewStats(50)
	now := time.Now()
	rec := func(route, method, path, decision, code, reason, subject string, status int, cost int64) {
		stats.Record(&liveview.Decision{Time: now, RequestID: fmt.Sprint("req-", route, status, subject), Route: route,
			Method: method, Path: path, Status: status, Decision: decision, Code: code, Reason: reason, Subject: subject, Cost: cost})
	}
	for i := 0; i < 3; i++ {
		rec("shop", "POST", "/graphql", "allow", "", "", "token:alice", 200, 12)
	}
	rec("shop", "POST", "/graphql", "deny", "RATE_LIMITED", "rate_limited", "token:bob", 429, 0)
	rec("shop", "POST", "/graphql", "deny", "RATE_LIMITED", "rate_limited", "token:bob", 429, 0)
	// A client chooses its path: it must show as text and run nothing.
	rec("orders", "GET", `/api/<img src=x onerror="window.__xss=1">`, "deny", "NOT_FOUND", "no_operation", "key:e2e", 404, 0)
	rec("orders", "GET", "/api/orders/7", "allow", "", "", "key:e2e", 200, 3)

	gw := &fakeGateway{status: liveview.Status{
		Version: "1.2.3", ConfigVersion: "cfg-5e1f2a", LastReload: now, LastReloadOK: false,
		LastReloadError: "graphql[0].path: is required", Reloads: 2, ReloadFailures: 1,
		RateLimit: liveview.Health{Name: "rate limit store (redis 127.0.0.1:6379)", OK: true},
		Upstreams: []liveview.Health{{Name: "upstream 127.0.0.1:9001", OK: true}, {Name: "upstream 127.0.0.1:9002", OK: false, Detail: "not answering"}},
		Routes:    []liveview.RouteInfo{{Name: "shop", Protocol: "graphql", Path: "/graphql"}, {Name: "orders", Protocol: "rest", Path: "/api"}, {Name: "idle", Protocol: "rest", Path: "/idle"}},
		Queues:    []liveview.QueueHealth{{Name: "audit http", Depth: 0, Capacity: 10000, Delivered: 6}},
	}}
	cfg := liveview.Config{Refresh: 200 * time.Millisecond}.WithDefaults()
	h := liveview.RequireToken(adminToken, []string{"/healthz"}, liveview.NewHandler(cfg, stats, gw.Status))
	srv := httptest.NewServer(h)
	defer srv.Close()

	// Server-rendered: the routes are named before any script runs.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	n, _ := resp.Body.Read(buf)
	resp.Body.Close()
	html := string(buf[:n])
	for _, want := range []string{`data-route="shop"`, `data-route="orders"`, `data-route="idle"`, "cfg-5e1f2a"} {
		if !strings.Contains(html, want) {
			t.Errorf("server-rendered page lacks %s", want)
		}
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}
	if r, err := http.Get(srv.URL + "/"); err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("page without the admin token: %v %v", r.StatusCode, err)
	}

	ctx := browsertest.New(t)
	dialogs := make(chan string, 4)
	go func() {
		for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			dialogs <- ev.Message
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + adminToken}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-polls]`)),
	); err != nil {
		t.Fatal(err)
	}
	// The page redraws its tables on every poll: read what is shown in
	// one script run, so every value comes from the same drawing.
	texts := func(sels []string) map[string]string {
		t.Helper()
		js, _ := json.Marshal(sels)
		out, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`(() => { const o = {}; for (const s of `+string(js)+
			`) { const n = document.querySelector(s); o[s] = n ? n.textContent.trim() : "(missing)"; } return o; })()`))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	text := func(sel string) string { t.Helper(); return texts([]string{sel})[sel] }
	checks := []struct{ sel, want string }{
		{`#routes tr[data-route="shop"] td.req`, "5"},
		{`#routes tr[data-route="shop"] td.deny`, "2"},
		{`#routes tr[data-route="orders"] td.req`, "2"},
		{`#routes tr[data-route="idle"] td.req`, "0"},
		{`#codes tr[data-code="RATE_LIMITED"] td.total`, "2"},
		{`#codes tr[data-code="NOT_FOUND"] td.total`, "1"},
		{`#subjects tbody tr:first-child td:first-child`, "token:alice"},
		{`#subjects tbody tr:first-child td:nth-child(2)`, "36"},
		{`#health tbody tr:nth-child(3) td:nth-child(1)`, "upstream 127.0.0.1:9002"},
		{`#health tbody tr:nth-child(3) td:nth-child(2)`, "DOWN"},
		{`#reload`, "FAILED at"},
		{`#config-version`, "cfg-5e1f2a"},
		{`#version`, "1.2.3"},
	}
	var sels []string
	for _, c := range checks {
		sels = append(sels, c.sel)
	}
	shown := texts(sels)
	for _, c := range checks {
		t.Run(c.sel, func(t *testing.T) {
			if got := shown[c.sel]; !strings.Contains(got, c.want) {
				t.Errorf("%s shows %q, want %q", c.sel, got, c.want)
			}
		})
	}
	recent := text(`#recent tbody`)
	xss, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__xss !== undefined || document.querySelector("#recent img") !== null`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(recent, `<img src=x onerror="window.__xss=1">`) || xss {
		t.Errorf("hostile path not shown as text (xss=%v): %q", xss, recent)
	}
	if !strings.Contains(recent, "rate_limited") || !strings.Contains(recent, "no_operation") {
		t.Errorf("recent decisions lack their reasons: %q", recent)
	}

	// New traffic shows on the next poll, without a reload of the page.
	rec("shop", "POST", "/graphql", "deny", "UNAUTHENTICATED", "invalid_token", "", 401, 0)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector('#routes tr[data-route="shop"] td.deny').textContent === "3"`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the page never showed the new refusal: %v", err)
	}
	whole, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(whole, adminToken) {
		t.Error("the page shows the admin token")
	}
	select {
	case m := <-dialogs:
		t.Errorf("the page opened a dialog: %q", m)
	default:
	}
	if *screenshot {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join("..", "..", "docs", "images", "liveview.png")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
