package resilience

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis-gw/portcullis/internal/testkit/gatewaytest"
)

// Under continuous load over keep-alive connections, ten SIGHUP reloads
// that change the config and the schema, then a SIGTERM, lose no request:
// every request sent is answered 200 (the query is valid under every
// version), none is reset. The load stands in for a load balancer: it polls
// /readyz and stops sending to the replica once it answers 503, which the
// gateway does for server.drain_delay before it stops accepting.
func TestNoLossOnReloadAndShutdown(t *testing.T) {
	bs := rsvBackends(t, 2)
	path := rsvConfig(t, bs, "", "", "")
	dir := filepath.Dir(path)
	base := readFile(t, path)
	schemaFile := filepath.Join(dir, "resil", "schema.graphql")
	schema := readFile(t, schemaFile)
	gw := gatewaytest.Start(t, path)

	var refused, lost, ok int64
	var failures []string
	stop := make(chan struct{})
	deregistered := make(chan struct{})
	go func() {
		for {
			resp, err := http.Get("http://" + gw.AdminAddr() + "/readyz")
			if err == nil {
				resp.Body.Close()
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				close(deregistered)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	done := make(chan struct{}, 4)
	type result struct {
		code int
		err  error
	}
	results := make(chan result, 1024)
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				case <-deregistered:
					return
				default:
				}
				code, err := rsvQuery(gw)
				results <- result{code, err}
			}
		}()
	}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for r := range results {
			switch {
			case r.err == nil && r.code == http.StatusOK:
				ok++
			case r.err != nil && isRefused(r.err):
				refused++
			default:
				lost++
				if len(failures) < 10 {
					failures = append(failures, errString(r.code, r.err))
				}
			}
		}
	}()

	for i := range 10 {
		// A changed schema (one more field) and a changed config (limits).
		extra := "\n  more" + string(rune('a'+i)) + ": String\n}\n"
		if err := os.WriteFile(schemaFile, []byte(strings.Replace(schema, "\n}\n", extra, 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := strings.Replace(base, "    path: /graphql\n", "    path: /graphql\n    limits: {max_depth: "+string(rune('5'+i%4))+"}\n", 1)
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		gw.Signal(t, syscall.SIGHUP)
		want := i + 1
		rsvWait(t, "the reload logged", func() bool { return strings.Count(gw.Logs(), `"config reloaded"`) >= want })
		time.Sleep(50 * time.Millisecond) // let traffic run on the new table
	}
	if strings.Contains(gw.Logs(), "reload failed") {
		t.Fatalf("a reload failed:\n%s", gw.Logs())
	}
	gw.Signal(t, syscall.SIGTERM)
	if err := gw.Wait(t); err != nil {
		t.Fatalf("gateway exit after SIGTERM: %v\n%s", err, gw.Logs())
	}
	close(stop)
	for range 4 {
		<-done
	}
	close(results)
	<-collected
	t.Logf("%d answered, %d refused after the listener closed, %d lost", ok, refused, lost)
	if lost != 0 {
		var bad []string
		for _, line := range strings.Split(gw.AccessLog(), "\n") {
			if !strings.Contains(line, `"status":200`) && line != "" && len(bad) < 5 {
				bad = append(bad, line)
			}
		}
		t.Fatalf("%d requests lost (reset or failed), e.g. %v\naccess log: %v", lost, failures, bad)
	}
	if ok < 100 {
		t.Fatalf("only %d requests answered: the load did not run", ok)
	}
	if !strings.Contains(gw.Logs(), `"gateway stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", gw.Logs())
	}
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

func errString(code int, err error) string {
	if err != nil {
		return err.Error()
	}
	return http.StatusText(code)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
