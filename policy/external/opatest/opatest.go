// Package opatest runs a real Open Policy Agent server for tests: the opa
// binary built from its Go module (github.com/open-policy-agent/opa), serving
// the given Rego files over its REST API on a free loopback port.
package opatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the OPA release the tests run.
const Version = "v1.22.4"

var build struct {
	once sync.Once
	path string
	err  error
}

// Binary finds the opa binary: $PORTCULLIS_OPA, else the build cache
// folder beside Go's ($(go env GOCACHE)/../portcullis-opa/opa), which it
// builds there with `go install` when missing (minutes, the first time
// only; .ci/run does it before the tests).
func Binary() (string, error) {
	build.once.Do(func() {
		if p := os.Getenv("PORTCULLIS_OPA"); p != "" {
			build.path = p
			return
		}
		out, err := exec.Command("go", "env", "GOCACHE").Output()
		if err != nil {
			build.err = fmt.Errorf("finding the Go build cache: %w", err)
			return
		}
		dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "portcullis-opa")
		build.path = filepath.Join(dir, "opa")
		if _, err := os.Stat(build.path); err == nil {
			return
		}
		cmd := exec.Command("go", "install", "github.com/open-policy-agent/opa@"+Version)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod")
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("building opa %s (go install github.com/open-policy-agent/opa@%s with GOBIN=%s): %v\n%s", Version, Version, dir, err, out)
		}
	})
	return build.path, build.err
}

// Server is one running OPA.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	cmd *exec.Cmd
}

// DataURL is the REST data API URL of a rule path such as
// "portcullis/authz/decision".
func (s *Server) DataURL(rule string) string { return s.URL + "/v1/data/" + rule }

// Start runs OPA serving the Rego files until the test ends. It fails the
// test, naming what to do, when OPA cannot be built or started.
func Start(t testing.TB, files ...string) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("OPA is needed for this test and could not be built: %v", err)
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "--server", "--addr", addr, "--log-level", "error", "--skip-version-check"}, files...)
	cmd := exec.Command(bin, args...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("opa output:\n%s", logs.String())
		}
	})
	if err := s.waitHealthy(exited); err != nil {
		t.Fatalf("OPA at %s: %v", s.URL, err)
	}
	return s
}

// Stop kills the server (to test a decision point that is down).
func (s *Server) Stop() { _ = s.cmd.Process.Kill() }

func (s *Server) waitHealthy(exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health?bundles", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("opa exited before serving: %v", err)
		case <-ctx.Done():
			return errors.New("not healthy after 60s")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}
