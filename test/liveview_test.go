package test

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/portcullis-gw/portcullis/gateway/liveview/browsertest"
	"github.com/portcullis-gw/portcullis/test/upstreams"
)

var screenshot = flag.Bool("screenshot", false, "write docs/images/liveview.png from the live view test")

const e2eAdminToken = "e2e-admin-token-0123456789"

// TestLiveViewInBrowser: the admin page, in a real headless Chromium,
// shows what known traffic did, behind the admin token, and never the
// credentials the traffic carried.
func TestLiveViewInBrowser(t *testing.T) {
	set := upstreams.StartAll(t)
	cfgPath := writeConfig(t, e2eConfig(set, "live_view: {refresh: 200ms}\n"))
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	withToken := strings.Replace(string(data), "  shutdown_grace: 20s", "  shutdown_grace: 20s\n  admin_token: "+e2eAdminToken, 1)
	if err := os.WriteFile(cfgPath, []byte(withToken), 0o600); err != nil {
		t.Fatal(err)
	}
	gw := startFresh(t, set, cfgPath)
	admin := "http://" + gw.adminAddr

	for _, c := range []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", 200}, {"/readyz", "", 200}, {"/metrics", "", 401}, {"/", "", 401},
		{"/live/snapshot.json", "Bearer wrong-token-0123456789", 401}, {"/metrics", "Bearer " + e2eAdminToken, 200},
	} {
		h := http.Header{}
		if c.auth != "" {
			h.Set("Authorization", c.auth)
		}
		if resp, _ := do(t, http.MethodGet, admin+c.path, h, ""); resp.StatusCode != c.want {
			t.Errorf("admin %s with %q: %d, want %d", c.path, c.auth, resp.StatusCode, c.want)
		}
	}

	gql := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i < 3; i++ {
		if resp, body := do(t, http.MethodPost, gw.url("/graphql"), gql, `{"query":"{ topProducts(first: 1) { upc } }"}`); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	for i := 0; i < 2; i++ {
		if resp, _ := do(t, http.MethodGet, gw.url("/api/v1/orders"), nil, ""); resp.StatusCode != 401 {
			t.Fatalf("orders without a key: %d", resp.StatusCode)
		}
	}
	if resp, _ := get(t, gw.url("/api/v1/orders")); resp.StatusCode != 200 {
		t.Fatalf("orders with the key: %d", resp.StatusCode)
	}
	// A failed reload shows on the page.
	if err := os.WriteFile(cfgPath, []byte("server: {listen: nope}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = gw.cmd.Process.Signal(syscall.SIGHUP)
	gw.waitLog(t, "reload failed")

	ctx := browsertest.New(t)
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Authorization": "Bearer " + e2eAdminToken}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(admin+"/"), chromedp.WaitVisible(chromedp.CSS(`body[data-polls]`))); err != nil {
		t.Fatal(err)
	}
	sels := []string{
		`#routes tr[data-route="shop"] td.req`, `#routes tr[data-route="orders"] td.req`, `#routes tr[data-route="orders"] td.deny`,
		`#codes tr[data-code="UNAUTHENTICATED"] td.total`, `#subjects tbody`, `#recent tbody`, `#health tbody`, `#reload`, `#queues tbody`,
	}
	js, _ := json.Marshal(sels)
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](`(() => { const o = {}; for (const s of `+string(js)+
		`) { const n = document.querySelector(s); o[s] = n ? n.textContent : "(missing)"; } return o; })()`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ sel, want string }{
		{sels[0], "3"}, {sels[1], "3"}, {sels[2], "2"}, {sels[3], "2"},
		{sels[4], "apikey:e2e"},
		{sels[5], "rest_refused"}, {sels[5], "GET /api/v1/orders"}, {sels[5], "POST /graphql"},
		{sels[6], "rate limit store (memory)"}, {sels[6], "upstream 127.0.0.1"},
		{sels[7], "FAILED"}, {sels[8], "audit log"},
	} {
		if got := shown[c.sel]; !strings.Contains(got, c.want) {
			t.Errorf("%s shows %q, want it to contain %q", c.sel, got, c.want)
		}
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{e2eAdminToken, ordersKey} {
		if strings.Contains(html, secret) {
			t.Errorf("the page shows a credential %q", secret)
		}
	}
	if *screenshot {
		time.Sleep(500 * time.Millisecond) // one more poll, for a settled picture
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "images", "liveview.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
