// Package browsertest starts a real headless Chromium for tests, driven
// over the DevTools protocol by chromedp.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds the browser: $PORTCULLIS_CHROMIUM, then chromium,
// chromium-browser, google-chrome on PATH.
func Path() (string, bool) {
	if p := os.Getenv("PORTCULLIS_CHROMIUM"); p != "" {
		return p, true
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, true
		}
	}
	return "", false
}

// New starts a headless browser for t and returns its tab's context,
// bounded to two minutes. Without a browser the test fails naming what to
// install: CI installs it in .ci/run.
func New(t testing.TB) context.Context {
	t.Helper()
	path, ok := Path()
	if !ok {
		t.Fatal("no Chromium found: install it (apt-get install -y chromium; .ci/run does) or set PORTCULLIS_CHROMIUM")
	}
	// On a closed network Chromium hangs at start without these: no
	// background fetches, no QUIC, no sandbox (root in a container).
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}
